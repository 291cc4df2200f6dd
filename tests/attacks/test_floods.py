"""One test per attack of issue 13, each against a server in its own process (so its RSS
is its own), by an attacker process from another loopback address, with legit pairings
one after another all the while. Each asserts the attack's bound: the server's RSS
growth, the legit pairing's latency, and what the attack gets the server to do."""

from __future__ import annotations

import pytest

from helpers.attacks import ATTACKER_ADDRESS, WRONG_CODE
from helpers.measure import MiB, Siege, besiege
from helpers.raw import RawSocket
from helpers.server import server_process

pytestmark = pytest.mark.process

#: What one attack may grow the server by, at the loads below (a bare server is ~40 MiB).
RSS_CEILING = 50 * MiB
#: A legit pairing (connect, create, join, one signal) while an attack runs; it takes
#: 10-40 ms on an idle 2-core machine, so this is generous for cores shared with the
#: attacker.
LATENCY_CEILING = 1.0


def assert_bounded(siege: Siege) -> None:
    assert siege.rss_growth < RSS_CEILING, f"the server grew by {siege.rss_growth / MiB:.0f} MiB"
    assert len(siege.latencies) >= 3
    assert max(siege.latencies) < LATENCY_CEILING, f"a legit pairing took {max(siege.latencies):.2f} s"
    assert not [line for line in siege.log if "Traceback" in line], "".join(siege.log)[-3000:]


def attackers_lines(siege: Siege) -> list[str]:
    """The log lines the attacker caused: its refusals, and its requests' access lines."""
    return [line for line in siege.log if "signalling.transport" in line or ATTACKER_ADDRESS in line]


async def test_a_flood_of_binary_attachments_is_refused_before_it_is_buffered() -> None:
    async with server_process() as server:
        siege = await besiege(server, "attachments", seconds=8, bytes=200 * MiB)
    assert siege.tally["bytes_sent"] >= 200 * MiB
    # Each connection is refused but the last, which may end with the budget.
    assert siege.tally["refused"] >= siege.tally["connections"] - 1 > 1, siege.tally
    assert_bounded(siege)


async def test_a_receiver_that_never_reads_is_dropped_while_its_peer_floods_it() -> None:
    async with server_process() as server:
        siege = await besiege(server, "stalled", seconds=10, bytes=100 * MiB)
    assert siege.tally["bytes_sent"] >= 100 * MiB
    # The server owes one client 4 MiB at most, the kernel buffers some more: a pair is
    # dropped every ~10 MB relayed.
    assert siege.tally["dropped"] >= 5, siege.tally
    assert_bounded(siege)


async def test_a_reserved_connect_cannot_choose_the_address_the_join_limit_counts() -> None:
    async with server_process("--max-failed-joins", "3") as server:
        siege = await besiege(server, "reserved", seconds=8, bytes=50 * MiB)
        assert siege.tally["bytes_sent"] >= 50 * MiB
        assert siege.tally["refused"] == siege.tally["connections"], siege.tally
        assert siege.tally["guesses_answered"] == 0, siege.tally
        assert_bounded(siege)
        # Every guess the attacker's sockets sent after their fake address counted for
        # nothing; the attacker's own address still has its three, and then no more.
        guesser = await RawSocket.open(server.url, source=ATTACKER_ADDRESS)
        try:
            answers = [(await guesser.call("join", WRONG_CODE))["error"] for _ in range(4)]
        finally:
            await guesser.close()
        assert answers == ["code not found or expired"] * 3 + ["too many attempts"]


async def test_ten_megabytes_of_malformed_frames_cost_the_log_a_few_lines() -> None:
    async with server_process() as server:
        siege = await besiege(server, "malformed", seconds=8, bytes=10 * 1000 * 1000)
    assert siege.tally["bytes_sent"] >= 10 * 1000 * 1000
    logged = sum(len(line) for line in attackers_lines(siege))
    # Before issue 13: 3 KB of traceback per 10-byte frame.
    assert logged < 16 * 1024, f"{logged} bytes of log for 10 MB of malformed frames"
    assert_bounded(siege)


async def test_pages_of_other_sites_cannot_open_a_socket() -> None:
    async with server_process() as server:
        siege = await besiege(server, "origins", seconds=3)
    assert siege.tally["accepted"] == 0, siege.tally
    assert siege.tally["refused"] == siege.tally["connections"] > 100, siege.tally
    assert_bounded(siege)
