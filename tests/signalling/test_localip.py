"""peer/signalling/localip.py: which local addresses an aiortc peer offers as host candidates."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from peer.errors import UsageError
from peer.signalling.localip import check_local_ip, offering


async def offered_hosts(addresses: list[str] | None) -> set[str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.createDataChannel("probe")
    try:
        with offering(addresses):
            await pc.setLocalDescription(await pc.createOffer())
        return set(re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ host", pc.localDescription.sdp))
    finally:
        await pc.close()


async def test_chosen_addresses_are_the_only_ones_offered() -> None:
    assert await offered_hosts(["127.0.0.1"]) == {"127.0.0.1"}


async def test_aioice_alone_offers_no_loopback() -> None:
    # The test namespace holds only lo, so without a choice nothing is offered at all.
    assert await offered_hosts(None) == set()


async def test_two_connections_choose_independently() -> None:
    loopback, ipv6 = await asyncio.gather(offered_hosts(["127.0.0.1"]), offered_hosts(["::1"]))
    assert (loopback, ipv6) == ({"127.0.0.1"}, {"::1"})


def test_addresses_are_checked_and_made_canonical() -> None:
    assert check_local_ip("127.0.0.1") == "127.0.0.1"
    assert check_local_ip("0:0:0:0:0:0:0:1") == "::1"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("example.org", "not an IP address"),
        ("127.0.0.256", "not an IP address"),
        ("192.0.2.1", "not an address of this machine"),
    ],
)
def test_bad_addresses_are_refused(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=f"--local-ip {re.escape(text)}: {problem}"):
        check_local_ip(text)
