"""Changes to the test's own private network namespace (the one ``make test`` makes,
holding only ``lo``) for the length of one test: an address beside 127.0.0.1, and
nftables rules. Each is undone when its block ends, and refused outside such a
namespace, where it would change the machine's own network."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from typing import Iterator

import pytest

#: The table every rule of a test goes in, deleted whole afterwards.
TABLE = "sendit_test"
COMMAND_TIMEOUT = 10.0


def _run(*argv: str, stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")


def _in_private_namespace() -> None:
    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        pytest.fail("this test changes its network namespace: run it inside a private one (`make test`)")


@contextlib.contextmanager
def address_on_lo(address: str) -> Iterator[str]:
    """``address`` (a /32 of a documentation range) on ``lo``, so a server can be reached
    at an address that is not loopback, which browsers do not count as secure."""
    _in_private_namespace()
    _run("ip", "addr", "add", f"{address}/32", "dev", "lo")
    try:
        yield address
    finally:
        _run("ip", "addr", "del", f"{address}/32", "dev", "lo")


@contextlib.contextmanager
def nft_rules(chains: str) -> Iterator[None]:
    """``chains`` (nft chain definitions) in a table of the test's own."""
    _in_private_namespace()
    _run("nft", "-f", "-", stdin=f"table inet {TABLE} {{\n{chains}\n}}\n")
    try:
        yield
    finally:
        _run("nft", "delete", "table", "inet", TABLE)


def forward_to_loopback(address: str, port: int) -> str:
    """Chains that hand TCP to ``address``:``port`` to 127.0.0.1:``port``: a server on
    loopback answers there too, exactly as it would if it listened on it."""
    return (
        "chain forward_out {\n type nat hook output priority -100;\n"
        f" ip daddr {address} tcp dport {port} dnat ip to 127.0.0.1:{port}\n}}"
    )


#: Chains that drop every UDP packet: WebRTC's candidates on loopback then reach nothing
#: (Chromium's TCP candidates there are active only, and two of those never meet),
#: while socket.io, over TCP, still goes through.
NO_UDP = "chain drop_udp {\n type filter hook output priority 0;\n meta l4proto udp drop\n}"
