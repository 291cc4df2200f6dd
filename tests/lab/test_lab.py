"""The lab itself, checked before any case trusts it: each NAT kind maps and filters as
its name says, seen by a UDP echo on two internet addresses (tests/helpers/nat_probe.py)."""

from __future__ import annotations

import pytest

from helpers.lab import Lab, NatKind, probe_nat

#: Fresh ports for the echo, so no case meets another's conntrack entries.
PROBE_PORTS = iter(range(40_000, 41_000, 2))


@pytest.mark.parametrize("home", [0, 1])
def test_a_port_keeping_nat_maps_one_socket_to_one_address_and_port(port_keeping: Lab, home: int) -> None:
    router = port_keeping.homes[home]
    mapping = probe_nat(port_keeping, router.hosts[0], next(PROBE_PORTS))
    # Both servers saw the router's address and the host's own port: what STUN learns
    # from one server holds for the peer too.
    assert mapping.seen == ((router.wan_address, mapping.local_port),) * 2
    assert not mapping.stranger_got_in, "an unsolicited datagram crossed the NAT"


@pytest.mark.parametrize("home", [0, 1])
def test_a_symmetric_nat_maps_each_destination_to_another_port(symmetric: Lab, home: int) -> None:
    router = symmetric.homes[home]
    mapping = probe_nat(symmetric, router.hosts[0], next(PROBE_PORTS))
    [(first_address, first_port), (second_address, second_port)] = mapping.seen
    assert first_address == second_address == router.wan_address
    assert first_port != second_port, f"{NatKind.SYMMETRIC} NAT kept one port for two destinations"
    assert not mapping.stranger_got_in, "an unsolicited datagram crossed the NAT"
