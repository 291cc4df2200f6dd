"""web/js/protocol/handshake.js against docs/protocol-vectors.json ``handshake``, in
Chromium (the runner is tests/web/harness/handshake.js), and what the vectors cannot
show: calls made without waiting, misuse, and what the machine logs."""

from __future__ import annotations

import copy
from typing import Any

from helpers.browser import run_harness
from helpers.vectors import VECTORS

CODE = "4821-river-fox-lunar"


async def test_js_handshake_matches_vectors(page: Any) -> None:
    assert await run_harness(page, "handshake.js", "runHandshakes", VECTORS["handshake"]) == []


async def test_js_handshake_runner_can_fail(page: Any) -> None:
    cases = {case["name"]: case for case in copy.deepcopy(VECTORS["handshake"]["cases"])}
    good, wrong = cases["sender: a good exchange"], cases["sender: the receiver has other words"]
    good["ivs"][0] = "00" * 12  # its sealed offer now differs
    wrong["steps"][-1].pop("error_id")  # the wrong-code step now must pass
    wrong["steps"][-1].update(send=[], open=None)
    wrong["outcome"] = "trusted"
    failures = await run_harness(page, "handshake.js", "runHandshakes", {"cases": [good, wrong]})
    assert [failure.split(": step")[0] for failure in failures[:2]] == [good["name"], wrong["name"]], failures
    assert len(failures) == 3 and "ended wrong-code" in failures[2], failures


async def test_signals_handed_over_without_waiting_are_taken_in_order(page: Any) -> None:
    result = await run_harness(page, "handshake.js", "unwaitedPair", {"code": CODE})
    assert result["receiverOpened"] == [None, None, "offer", "c0", "c1", "c2"]
    assert result["senderOpened"] == [None, "answer"]
    assert result["states"] == ["trusted", "trusted"] and result["trusted"] == [True, True]


async def test_each_transition_is_logged_and_no_word_of_the_code(page: Any) -> None:
    lines = (await run_harness(page, "handshake.js", "unwaitedPair", {"code": CODE}))["lines"]
    assert lines == [
        "handshake sender: waiting-for-pake → waiting-for-confirm ",
        "handshake receiver: waiting-for-pake → waiting-for-confirm ",
        "handshake receiver: waiting-for-confirm → trusted ",
        "handshake sender: waiting-for-confirm → trusted ",
    ]
    assert not any(word in line for line in lines for word in CODE.split("-"))


async def test_misuse_is_refused_without_ending_the_handshake_and_a_failure_is_final(page: Any) -> None:
    result = await run_harness(page, "handshake.js", "misuse", {"code": CODE})
    assert result == {
        "createBadRole": "TypeError: a role is sender or receiver, not peer",
        "createTypedCode": "TypeError: not a code in canonical form",
        "receiverSealsBeforeTrust": "TypeError: a receiver seals nothing before the handshake reaches trusted",
        "senderSealsBeforePeer": "TypeError: a sender seals nothing before the handshake reaches waiting-for-confirm",
        "candidateBeforeOffer": "TypeError: a sender seals its offer once, first, then candidates",
        "answerFromSender": "TypeError: a sender seals its offer once, first, then candidates",
        "offerWithExtraField": "TypeError: an offer holds exactly its sdp",
        "emptySdp": "TypeError: an sdp is a string of 1 to 65536 characters",
        "offer": "offer",
        "wrong": "tampered",
        "afterFailure": "tampered",
        "state": "failed",
    }
