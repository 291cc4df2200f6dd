"""sendit_protocol.handshake beyond the shared vectors: its own API rules, limits too
big for the vectors file, and what it logs."""

from __future__ import annotations

import json
import logging

import pytest

from sendit_protocol import b64
from sendit_protocol.codes import InvalidCode
from sendit_protocol.errors import ErrorId, Tampered, WrongCode
from sendit_protocol.handshake import MAX_SDP, Handshake, State
from sendit_protocol.pake import Keys, Pake
from sendit_protocol.seal import seal

CODE = "4821-river-fox-lunar"


def _paired(code_b: str = CODE) -> tuple[Handshake, Handshake, list[dict]]:
    sender, receiver = Handshake("sender", CODE), Handshake("receiver", code_b)
    return sender, receiver, sender.peer_joined(receiver.pake)


def _trusted() -> tuple[Handshake, Handshake]:
    sender, receiver, (pake, confirm) = _paired()
    [reply], _ = receiver.receive(pake)
    receiver.receive(confirm)
    sender.receive(reply)
    assert sender.trusted and receiver.trusted
    return sender, receiver


def test_a_whole_exchange_in_both_directions() -> None:
    sender, receiver, (pake, confirm) = _paired("4821 RIVE fox luna")  # the receiver typed it loosely
    offer = sender.seal("offer", {"sdp": "o"})
    [confirm_b], opened = receiver.receive(pake)
    assert opened is None and not receiver.trusted
    receiver.receive(confirm)
    assert receiver.receive(offer) == ([], {"type": "offer", "sdp": "o"})
    answer = receiver.seal("answer", {"sdp": "a"})
    assert not sender.trusted
    sender.receive(confirm_b)
    assert sender.receive(answer) == ([], {"type": "answer", "sdp": "a"})
    assert sender.state is receiver.state is State.TRUSTED


def test_wrong_words_each_way() -> None:
    sender, receiver, (pake, confirm) = _paired("4821-river-fox-lunch")
    [reply], _ = receiver.receive(pake)
    with pytest.raises(WrongCode) as on_receiver:
        receiver.receive(confirm)
    with pytest.raises(WrongCode) as on_sender:
        sender.receive(reply)
    assert on_receiver.value.error_id == on_sender.value.error_id == ErrorId.WRONG_CODE
    assert receiver.state is sender.state is State.FAILED


def test_nothing_after_a_failure() -> None:
    sender, receiver, (pake, confirm) = _paired("4821-river-fox-lunch")
    receiver.receive(pake)
    with pytest.raises(WrongCode):
        receiver.receive(confirm)
    with pytest.raises(Tampered, match="already failed"):
        receiver.receive(confirm)
    with pytest.raises(ValueError):
        receiver.seal("answer", {"sdp": "a"})


def test_peer_joined_only_once_and_only_for_a_sender() -> None:
    sender, receiver, _ = _paired()
    with pytest.raises(Tampered):
        sender.peer_joined(receiver.pake)
    with pytest.raises(Tampered):
        Handshake("receiver", CODE).peer_joined(sender.pake)


@pytest.mark.parametrize("signal", [None, [], "pake", {"type": ["pake"], "data": "x"}, {}])
def test_a_signal_that_is_no_signal_is_tampering(signal: object) -> None:
    with pytest.raises(Tampered):
        Handshake("receiver", CODE).receive(signal)  # type: ignore[arg-type]


def test_what_each_role_may_seal_and_when() -> None:
    sender = Handshake("sender", CODE)
    with pytest.raises(ValueError, match="before the handshake reaches"):
        sender.seal("offer", {"sdp": "o"})  # no keys yet
    sender, receiver, (pake, confirm) = _paired()
    with pytest.raises(ValueError, match="offer first"):
        sender.seal("candidate", {"candidate": None})  # before its offer
    with pytest.raises(ValueError, match="only offers and candidates"):
        sender.seal("answer", {"sdp": "a"})
    with pytest.raises(ValueError, match="of attempt 0"):
        sender.seal("offer", {"sdp": "o", "attempt": 1})
    sender.seal("offer", {"sdp": "o"})
    with pytest.raises(ValueError, match="next attempt"):
        sender.seal("offer", {"sdp": "o"})
    sender.seal("candidate", {"candidate": None})
    with pytest.raises(ValueError, match="current attempt, 0"):
        sender.seal("candidate", {"candidate": None, "attempt": 1})
    sender.seal("offer", {"sdp": "o", "attempt": 2})
    with pytest.raises(ValueError, match="next attempt"):
        sender.seal("offer", {"sdp": "o", "attempt": 1})
    sender.seal("candidate", {"candidate": None, "attempt": 2})
    receiver.receive(pake)
    with pytest.raises(ValueError, match="before the handshake reaches trusted"):
        receiver.seal("answer", {"sdp": "a"})  # answering an offer it cannot have opened


@pytest.mark.parametrize(
    "kind, fields",
    [
        ("offer", {"sdp": ""}),
        ("offer", {"sdp": "x" * (MAX_SDP + 1)}),
        ("offer", {"sdp": "\U0001f600" * (MAX_SDP // 2) + "x"}),  # 65,537 UTF-16 units
        ("offer", {"sdp": "o", "n": 3}),
        ("offer", {}),
    ],
)
def test_our_own_fields_are_checked_too(kind: str, fields: dict) -> None:
    sender, _, _ = _paired()
    with pytest.raises(ValueError):
        sender.seal(kind, fields)
    assert sender.seal("offer", {"sdp": "o"})["type"] == "offer"  # a refused seal numbers nothing


def _sender_trusting_a_raw_receiver() -> tuple[Handshake, Keys]:
    """A sender that trusts a receiver built from the bare parts, which can seal anything."""
    sender, raw = Handshake("sender", CODE), Pake("receiver", CODE.encode())
    [pake, _] = sender.peer_joined(b64.encode(raw.message))
    keys = raw.finish(b64.decode(pake["data"]))
    sender.receive({"type": "confirm", "data": b64.encode(keys.confirm_b)})
    return sender, keys


def test_the_largest_sdp_passes_and_one_unit_more_is_tampering() -> None:
    largest = "\U0001f600" * (MAX_SDP // 2)
    sender, receiver = _trusted()
    assert sender.receive(receiver.seal("answer", {"sdp": largest}))[1] == {"type": "answer", "sdp": largest}

    sender, keys = _sender_trusting_a_raw_receiver()
    plaintext = json.dumps({"n": 0, "sdp": largest + "x"}).encode()
    with pytest.raises(Tampered, match="schema"):
        sender.receive({"type": "answer", "data": seal(keys.seal_b, "answer", plaintext)})


def test_a_code_is_parsed_and_a_role_checked() -> None:
    with pytest.raises(InvalidCode):
        Handshake("sender", "4821-river-fpx-lunar")
    with pytest.raises(ValueError):
        Handshake("both", CODE)  # type: ignore[arg-type]


def test_logs_hold_transitions_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="sendit_protocol")
    sender, receiver = _trusted()
    sender.receive(receiver.seal("answer", {"sdp": "secret-sdp"}))
    logged = caplog.text
    assert "waiting-for-pake -> waiting-for-confirm" in logged and "waiting-for-confirm -> trusted" in logged
    for secret in ("river", "lunar", "secret-sdp", sender.pake, receiver.pake):
        assert secret not in logged
