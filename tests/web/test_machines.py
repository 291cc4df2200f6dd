"""web/js/transfer/machines.js on its own: Sender and Receiver over a real data channel.

Both peers live in one page: two RTCPeerConnections (no ICE servers, loopback only)
are connected directly, without the signalling server, and the real classes run on
each end of a real data channel, for what an in-memory channel cannot show:
backpressure, closing, the channel's own properties. Every exchange of messages, good
or hostile, is a shared transcript instead (tests/web/test_transcripts.py). The
scenarios are tests/web/harness/machines.js; here are their arguments and the verdicts.
"""

from __future__ import annotations

from typing import Any

import pytest

from helpers.browser import run_harness

MiB = 1024 * 1024
CHUNK_SIZE = 65536  # machines.js CHUNK_SIZE
HIGH_WATER = 4 * MiB  # machines.js HIGH_WATER


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


# --- what only a real channel shows -------------------------------------------------


async def test_many_files_pipelined_and_a_manifest_of_several_messages(page: Any) -> None:
    """The offer of the conformance finding: a list too long for one message, files sent
    without waiting for each file-ok, and a receiver that lets all its file-oks out."""
    count = 4000
    r = await run_harness(page, "machines.js", "manyFiles", {"count": count})
    assert r["senderResult"] == {"ok": True, "value": None}, r
    assert r["receiverResult"] == {"ok": True, "count": count}
    assert r["delivered"] == count and r["inOrder"]
    assert r["manifestParts"] >= 2
    assert r["states"] == ["delivered", "received"]
    assert r["receiverTexts"] == 1 + count + 1  # accept, every file-ok, done


@pytest.mark.parametrize(
    ("label", "options"),
    [
        ("other", {"ordered": True}),
        ("sendit", {"ordered": False}),
        ("sendit", {"ordered": True, "maxRetransmits": 0}),
        ("sendit", {"ordered": True, "maxPacketLifeTime": 1000}),
    ],
    ids=["another label", "unordered", "maxRetransmits", "maxPacketLifeTime"],
)
async def test_receiver_refuses_any_channel_but_the_ordered_reliable_sendit_one(
    page: Any, label: str, options: dict[str, Any]
) -> None:
    r = await run_harness(page, "machines.js", "strangeChannel", {"label": label, "options": options})
    assert r["result"]["ok"] is False and "the data channel must be" in r["result"]["message"], r
    assert r["told"]["error_id"] == "protocol-error"
    assert (r["state"], r["errorId"]) == ("failed", "protocol-error")
    assert r["calls"] == []
    assert r["closed"] in ("closing", "closed")


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

    A gate holds the Receiver at a hashing ``stage`` until the whole file and its
    file-end have reached it; only then is it aborted and the gate opened. Chromium's
    digest happens to finish within the same turn, so the page's digest is wrapped to
    wait for the gate, as a slower (or other) browser's might. At ``deciding`` it is
    aborted while its person decides, who then accepts.
    """
    r = await run_harness(page, "machines.js", "abortWhileBusy", {"stage": stage})
    assert r["result"] == {"ok": False, "transferError": True, "message": "the sender vanished"}, r
    assert r["calls"] == ["held", "abort"]
    # Aborted while its person decided, it does not even accept when they do.
    never = {"accept", "file-ok", "done"} if stage == "deciding" else {"file-ok", "done"}
    assert not never & set(r["seen"])


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
