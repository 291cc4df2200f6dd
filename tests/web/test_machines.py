"""web/js/transfer/machines.js on its own: Sender and Receiver over a real data channel.

Both peers live in one page: two RTCPeerConnections (no ICE servers, loopback only)
are connected directly, without the signalling server, and the real classes run on
each end of a channel labelled "sendit" -- or a hand-written hostile peer sends
crafted messages to the real class on the other end (PROTOCOL.md section 3). The
scenarios are tests/web/harness/machines.js; here are their arguments and the verdicts.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest

from helpers.browser import run_harness
from helpers.server import RunningServer

MiB = 1024 * 1024
CHUNK_SIZE = 65536  # machines.js CHUNK_SIZE
HIGH_WATER = 4 * MiB  # machines.js HIGH_WATER


@pytest.fixture
async def page(server: RunningServer, new_person: Callable[[], Awaitable[Any]]) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    return page


def check_progress(events: list[dict[str, int]], sizes: list[int], total_key: str) -> None:
    """Per file, progress never goes back and ends at the file's size; totals add up."""
    last_total = 0
    for event in events:
        assert event[total_key] >= last_total
        last_total = event[total_key]
    for index, size in enumerate(sizes):
        mine = [e["fileBytes"] for e in events if e["index"] == index]
        assert mine == sorted(mine), f"file {index} progress went back: {mine}"
        if size:
            assert mine and mine[-1] == size, f"file {index}: progress {mine[-3:]} never reached {size}"
        else:
            assert all(b == 0 for b in mine)
    assert last_total == sum(sizes)


# --- the real Sender and the real Receiver ------------------------------------------


async def test_files_arrive_intact_in_order_and_delivery_waits_for_done(page: Any) -> None:
    files = [
        {"name": "empty.bin", "size": 0, "type": ""},
        {"name": "one.txt", "size": 1, "type": "text/plain"},
        {"name": "exactly-1MiB.bin", "size": MiB, "type": "application/x-test"},
        {"name": "folder/1MiB-plus-1.bin", "size": MiB + 1, "type": ""},
        {"name": "random.bin", "size": 5 * MiB + 12345, "type": "image/png"},
    ]
    r = await run_harness(page, "machines.js", "happyPath", {"files": files})
    sizes = [f["size"] for f in files]
    names = [f["name"] for f in files]
    assert r["receiverResult"] == {"ok": True, "value": names}
    assert r["senderResult"] == {"ok": True, "value": None}
    assert [g["index"] for g in r["gotFiles"]] == list(range(len(files)))
    assert [g["sha"] for g in r["gotFiles"]] == r["sentHashes"]
    assert [g["size"] for g in r["gotFiles"]] == sizes
    assert [g["type"] for g in r["gotFiles"]] == [f["type"] or "application/octet-stream" for f in files]
    log = r["log"]
    assert log[:2] == [f"manifest {len(files)}", "accepted"]
    assert [e for e in log if e.startswith("delivered")] == [f"delivered {i}" for i in range(len(files))]
    assert [e for e in log if e.startswith("onFile")] == [f"onFile {i}" for i in range(len(files))]
    # Every file is verified on the receiver before the sender hears it was delivered.
    for i in range(len(files)):
        assert log.index(f"onFile {i}") < log.index(f"delivered {i}")
    assert log[-3:] == [f"delivered {len(files) - 1}", "done released", "sender resolved"], log
    assert log.index("receiver sent done") < log.index("done released") < log.index("sender resolved")
    check_progress(r["senderProgress"], sizes, "sentBytes")
    check_progress(r["receiverProgress"], sizes, "receivedBytes")


async def test_declined_files_end_both_sides(page: Any) -> None:
    r = await run_harness(page, "machines.js", "decline")
    assert r["receiverResult"] == {"ok": True, "value": False}
    assert r["senderResult"]["ok"] is False and r["senderResult"]["transferError"]
    assert "declined" in r["senderResult"]["message"]
    assert r["calls"] == ["manifest a.bin"]
    assert r["sentBytes"] == 0


# --- hostile senders against the real Receiver --------------------------------------


BROKEN_SENDERS = [  # case, the reason given, whether the manifest is accepted, files verified
    ("hash mismatch", "hash mismatch: b.bin", True, [0]),
    ("more bytes than announced", "a.bin: more bytes than announced", True, []),
    ("fewer bytes, then file-end", "a.bin: 999 of 1000 bytes arrived", True, []),
    ("file-end with the wrong index", "expected file-end 0", True, []),
    ("name ../x", "file name must be a relative path", False, []),
    ("name /etc/x", "file name must be a relative path", False, []),
    ("name with a right-to-left override", "bidirectional formatting character", False, []),
    ("name with a C1 control", "control character", False, []),
    ("version 2", "unsupported protocol version 2", False, []),
    ("not JSON", "not a JSON message", False, []),
    ("binary before the manifest", "unexpected binary message", False, []),
]


@pytest.mark.parametrize(("case", "reason", "accepts", "verified"), BROKEN_SENDERS, ids=[c[0] for c in BROKEN_SENDERS])
async def test_receiver_refuses_a_broken_sender(
    page: Any, case: str, reason: str, accepts: bool, verified: list[int]
) -> None:
    r = await run_harness(page, "machines.js", "hostileSender", {"case": case})
    result = r["result"]
    assert result["ok"] is False and result["transferError"], result
    assert reason in result["message"]
    assert result["message"].startswith("protocol error: ")
    # The receiver tells the sender why, and never hands over an unverified file.
    assert r["error"]["type"] == "error" and reason in r["error"]["message"]
    assert r["calls"] == (["manifest"] if accepts else []) + [f"onFile {i}" for i in verified]
    types = [m.get("type", "binary") for m in r["seen"]]
    assert types == (["accept"] if accepts else []) + ["file-ok" for _ in verified] + ["error"]


# --- hostile receivers against the real Sender --------------------------------------


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"type": "file-ok", "index": 1}, "expected file-ok 0, got file-ok"),
        ({"type": "thanks"}, 'unknown message type "thanks"'),
    ],
    ids=["file-ok with the wrong index", "unknown message type"],
)
async def test_sender_refuses_a_broken_receiver(page: Any, reply: dict[str, Any], reason: str) -> None:
    r = await run_harness(page, "machines.js", "hostileReceiver", {"reply": reply})
    assert r["result"]["ok"] is False and r["result"]["transferError"]
    assert reason in r["result"]["message"]
    assert r["error"]["type"] == "error" and reason in r["error"]["message"]
    assert r["delivered"] == []


# --- peers that stay silent before the transfer ---------------------------------------


SILENT_PEERS = [  # scenario, how the real side's run() ends, what it tells the peer, all the peer saw
    (
        "silentSender",
        "the sender sent no list of files within 0.3 s",
        {"type": "error", "message": "no manifest within 0.3 s of the channel opening"},
        ["error"],
    ),
    (
        "silentReceiver",
        "the receiver did not answer the offer within 0.3 s",
        {"type": "cancel", "reason": "the offer was not answered within 0.3 s"},
        ["manifest", "cancel"],
    ),
]


@pytest.mark.parametrize(("scenario", "ending", "told", "seen"), SILENT_PEERS, ids=["no manifest", "no answer"])
async def test_a_silent_peer_is_given_up_on_and_told(
    page: Any, scenario: str, ending: str, told: dict[str, str], seen: list[str]
) -> None:
    r = await run_harness(page, "machines.js", scenario, {"ms": 300})
    assert r["result"] == {"ok": False, "transferError": True, "message": ending}
    assert r["told"] == told
    assert r["calls"] == []
    assert r["seen"] == seen


# --- cancel, abort, closed channel --------------------------------------------------


async def test_sender_cancels_mid_transfer(page: Any) -> None:
    r = await run_harness(page, "machines.js", "senderCancels")
    rr = r["receiverResult"]
    assert rr["ok"] is False and rr["transferError"]
    assert "cancelled" in rr["message"] and "changed my mind" in rr["message"]
    assert r["senderResult"]["ok"] is False and r["senderResult"]["transferError"]
    # The first file, finished before the cancel on the ordered channel, was handed
    # over; the unfinished one never is.
    assert sorted(r["calls"]) == ["cancel", "onFile 0"]


async def test_receiver_cancels_mid_transfer_and_the_sender_stops_sending(page: Any) -> None:
    size = 32 * MiB
    r = await run_harness(page, "machines.js", "receiverCancels", {"size": size})
    sr = r["senderResult"]
    assert sr["ok"] is False and sr["transferError"]
    assert "cancelled" in sr["message"] and "no space left" in sr["message"]
    assert r["sentAtEnd"] - r["sentAtStop"] <= CHUNK_SIZE
    assert r["sentAtEnd"] < size // 2
    assert r["receiverResult"]["ok"] is False and r["receiverResult"]["transferError"]
    assert r["calls"] == ["cancel"]


async def test_sender_leaving_mid_transfer_fails_the_receiver(page: Any) -> None:
    r = await run_harness(page, "machines.js", "senderLeaves")
    assert r["receiverResult"] == {
        "ok": False,
        "transferError": True,
        "message": "the sender left before the transfer finished",
    }
    assert r["calls"] == ["close"]


@pytest.mark.parametrize("side", ["Sender", "Receiver"])
async def test_abort_ends_run_with_the_message(page: Any, side: str) -> None:
    r = await run_harness(page, "machines.js", "abortRun", {"side": side})
    assert r["result"] == {"ok": False, "transferError": True, "message": "the other side vanished"}
    assert r["calls"] == ["abort"]


@pytest.mark.parametrize("stage", ["deciding", "hashing a block", "checking the digest"])
async def test_abort_wins_over_messages_already_taken_in(page: Any, stage: str) -> None:
    """abort() stops the Receiver at once, whatever it was busy with and had queued.

    A gate holds the Receiver at ``stage`` until the whole file and its file-end have
    reached it; only then is it aborted and the gate opened. Chromium's digest happens
    to finish within the same turn, so for the two hashing stages the page's digest is
    wrapped to wait for the gate, as a slower (or other) browser's might.
    """
    r = await run_harness(page, "machines.js", "abortWhileBusy", {"stage": stage})
    assert r["result"] == {"ok": False, "transferError": True, "message": "the sender vanished"}, r
    assert r["calls"] == ["held", "abort"]
    assert "file-ok" not in r["seen"] and "done" not in r["seen"]


async def test_receiver_cancel_stops_the_receiver_too(page: Any) -> None:
    """After its own cancel the Receiver verifies nothing more and its run() ends."""
    r = await run_harness(page, "machines.js", "receiverCancelStopsItself")
    assert r["result"]["ok"] is False and r["result"]["transferError"], r
    assert "cancel" in r["result"]["message"]
    assert r["calls"] == ["cancel"]
    assert [m["type"] for m in r["seen"]] == ["accept", "cancel"]


# --- backpressure -------------------------------------------------------------------


async def test_sender_keeps_the_channel_buffer_bounded(page: Any) -> None:
    size = 64 * MiB
    r = await run_harness(page, "machines.js", "bufferBounded", {"size": size})
    assert r["receiverResult"]["ok"] and r["senderResult"]["ok"], r
    assert r["same"]
    assert len(r["atProgress"]) == size // MiB
    limit = HIGH_WATER + CHUNK_SIZE
    assert max(r["atProgress"]) <= limit
    assert r["afterSend"] <= limit
    # The sampling saw the buffer at work (the receiver cannot keep up with memory).
    assert r["afterSend"] > MiB, r["afterSend"]
