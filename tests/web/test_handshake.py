"""web/js/protocol/handshake.js against docs/protocol-vectors.json ``handshake``, in
Chromium (the runner is tests/web/harness/handshake.js), and what the vectors cannot
show: calls made without waiting, misuse, and what the machine logs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from helpers.browser import run_harness
from helpers.vectors import VECTORS
from sendit_protocol.errors import WrongCode
from sendit_protocol.handshake import Handshake

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
        "candidateBeforeOffer": "TypeError: a sender seals its offer first, of attempt 0",
        "answerFromSender": "TypeError: a sender seals only offers and candidates",
        "offerWithExtraField": "TypeError: a sealed offer holds exactly its sdp (and maybe an attempt)",
        "emptySdp": "TypeError: an sdp is a string of 1 to 65536 characters",
        "offer": "offer",
        "wrong": "tampered",
        "afterFailure": "tampered",
        "state": "failed",
    }


class Page:
    """The page's Handshake, driven from here through the harness."""

    def __init__(self, page: Any) -> None:
        self.page = page

    async def begin(self, role: str, code: str) -> str:
        pake: str = await run_harness(self.page, "handshake.js", "begin", {"role": role, "code": code})
        return pake

    async def act(self, call: str, *args: Any) -> Any:
        outcome = await run_harness(self.page, "handshake.js", "act", {"call": call, "args": list(args)})
        assert "errorId" not in outcome, outcome
        return outcome["result"]

    async def refuses(self, call: str, *args: Any) -> str:
        outcome = await run_harness(self.page, "handshake.js", "act", {"call": call, "args": list(args)})
        assert outcome["state"] == "failed", outcome
        error_id: str = outcome["errorId"]
        return error_id


OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=caf\u00e9 \U0001f600\r\na=fingerprint:sha-256 AB:CD\r\n"
ANSWER = "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\na=fingerprint:sha-256 12:34\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 1 127.0.0.1 5 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "u",
}


async def test_a_python_sender_and_a_page_receiver_agree(page: Any) -> None:
    """Random entropy and IVs, against sendit_protocol.handshake: what the vectors fix, varied."""
    js = Page(page)
    for _ in range(3):
        sender = Handshake("sender", CODE)
        signals = sender.peer_joined(await js.begin("receiver", CODE))
        signals += [sender.seal("offer", {"sdp": OFFER}), sender.seal("candidate", {"candidate": CANDIDATE})]
        replies, opened = [], []
        for signal in signals:
            step = await js.act("receive", signal)
            replies += step["send"]
            opened.append(step["open"])
        assert opened == [None, None, {"type": "offer", "sdp": OFFER}, {"type": "candidate", "candidate": CANDIDATE}]
        replies += [
            await js.act("seal", "answer", {"sdp": ANSWER}),
            await js.act("seal", "candidate", {"candidate": None}),
        ]
        assert [sender.receive(reply)[1] for reply in replies] == [
            None,
            {"type": "answer", "sdp": ANSWER},
            {"type": "candidate", "candidate": None},
        ]
        assert sender.trusted


async def test_a_page_sender_and_a_python_receiver_agree(page: Any) -> None:
    js = Page(page)
    for _ in range(3):
        await js.begin("sender", CODE)
        receiver = Handshake("receiver", CODE)
        signals = await js.act("peerJoined", receiver.pake)
        signals += [await js.act("seal", "offer", {"sdp": OFFER})]
        replies, opened = [], []
        for signal in signals:
            send, inner = receiver.receive(signal)
            replies += send
            opened.append(inner)
        assert opened == [None, None, {"type": "offer", "sdp": OFFER}] and receiver.trusted
        replies += [receiver.seal("answer", {"sdp": ANSWER}), receiver.seal("candidate", {"candidate": CANDIDATE})]
        steps = [await js.act("receive", reply) for reply in replies]
        assert steps == [
            {"send": [], "open": None},
            {"send": [], "open": {"type": "answer", "sdp": ANSWER}},
            {"send": [], "open": {"type": "candidate", "candidate": CANDIDATE}},
        ]


async def test_other_words_are_a_wrong_code_on_either_side(page: Any) -> None:
    js = Page(page)
    # The page receives with other words: it learns of it from the sender's confirmation.
    sender = Handshake("sender", CODE)
    pake, confirm = sender.peer_joined(await js.begin("receiver", "4821-river-fox-lunch"))
    reply = (await js.act("receive", pake))["send"]
    assert await js.refuses("receive", confirm) == "wrong-code"
    with pytest.raises(WrongCode):
        sender.receive(reply[0])
    # The page sends to a receiver with another slot: the page learns of it the same way.
    await js.begin("sender", CODE)
    receiver = Handshake("receiver", "4822-river-fox-lunar")
    pake, confirm = await js.act("peerJoined", receiver.pake)
    reply, _ = receiver.receive(pake)
    with pytest.raises(WrongCode):
        receiver.receive(confirm)
    assert await js.refuses("receive", reply[0]) == "wrong-code"
