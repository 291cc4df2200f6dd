"""sendit_protocol against the v2 sections of docs/protocol-vectors.json, and the file
against its generator (tests/helpers/make_vectors.py)."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import pytest

from helpers import make_vectors
from helpers.vectors import VECTORS
from sendit_protocol.codes import InvalidCode, complete, parse_code, parse_slot
from sendit_protocol.errors import BadHandshake, ProtocolError, Tampered
from sendit_protocol.handshake import Handshake
from sendit_protocol.pake import ID_RECEIVER, ID_SENDER, Pake
from sendit_protocol.seal import open_sealed, seal
from sendit_protocol.words import WORDS

#: How each check of hostile_points words its refusal.
REFUSALS = {
    "length": "is 33 bytes",
    "side": "not from the other side",
    "canonical": "not canonically encoded",
    "on-curve": "not on the curve",
    "identity": "is the identity",
    "subgroup": "not in the prime-order subgroup",
    "reflection": "our own, reflected",
}


def _name(case: dict[str, Any]) -> str:
    return case.get("name") or case.get("why") or repr(case.get("input"))


def _fixed(*chunks: bytes) -> Callable[[int], bytes]:
    """A randomness source handing out exactly these chunks, each asked for by its size."""
    pending = list(chunks)

    def source(size: int) -> bytes:
        assert pending, "asked for more randomness than the vector holds"
        assert size == len(pending[0]), f"asked for {size} bytes, the vector holds {len(pending[0])}"
        return pending.pop(0)

    return source


def test_the_file_is_what_the_generator_writes() -> None:
    text = make_vectors.PATH.read_text("utf-8")
    assert make_vectors.render(make_vectors.updated(VECTORS)) == text, (
        "run: PYTHONPATH=.:tests python -m helpers.make_vectors"
    )


@pytest.mark.parametrize("case", VECTORS["codes"]["accepted"], ids=_name)
def test_codes_accepted(case: dict[str, Any]) -> None:
    code = parse_code(case["input"])
    assert code.canonical == case["canonical"]
    assert code.password == case["canonical"].encode("utf-8")


@pytest.mark.parametrize("case", VECTORS["codes"]["refused"], ids=_name)
def test_codes_refused(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidCode) as refused:
        parse_code(case["input"])
    if case["bad_part"] is not None:
        assert str(refused.value).startswith(f'"{case["bad_part"]}" is not')


@pytest.mark.parametrize("case", VECTORS["codes"]["slots"]["accepted"], ids=_name)
def test_slots_accepted(case: dict[str, Any]) -> None:
    assert parse_slot(case["input"]) == case["slot"]


@pytest.mark.parametrize("case", VECTORS["codes"]["slots"]["refused"], ids=_name)
def test_slots_refused(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidCode):
        parse_slot(case["input"])


@pytest.mark.parametrize("case", VECTORS["codes"]["complete"], ids=lambda c: repr(c["prefix"]))
def test_completion(case: dict[str, Any]) -> None:
    assert complete(case["prefix"]) == case["words"]


def test_the_word_list() -> None:
    about = VECTORS["codes"]["words"]
    assert (len(WORDS), WORDS[0], WORDS[-1]) == (about["count"], about["first"], about["last"])
    assert hashlib.sha256("\n".join(WORDS).encode("ascii")).hexdigest() == about["sha256"]


def test_pake_identities() -> None:
    assert (ID_SENDER, ID_RECEIVER) == (VECTORS["pake"]["idA"].encode(), VECTORS["pake"]["idB"].encode())


@pytest.mark.parametrize("case", VECTORS["pake"]["cases"], ids=lambda c: c["code"])
def test_pake(case: dict[str, Any]) -> None:
    password = case["code"].encode("utf-8")
    sender = Pake("sender", password, entropy=_fixed(bytes.fromhex(case["entropy_A"])))
    receiver = Pake("receiver", password, entropy=_fixed(bytes.fromhex(case["entropy_B"])))
    assert (sender.message.hex(), receiver.message.hex()) == (case["msg_A"], case["msg_B"])
    keys = sender.finish(receiver.message)
    assert keys == receiver.finish(sender.message)
    assert [keys.key.hex(), keys.confirm_a.hex(), keys.confirm_b.hex(), keys.seal_a.hex(), keys.seal_b.hex()] == [
        case["key"],
        case["confirm_A"],
        case["confirm_B"],
        case["seal_A"],
        case["seal_B"],
    ]


@pytest.mark.parametrize("case", VECTORS["hostile_points"]["cases"], ids=_name)
def test_hostile_points(case: dict[str, Any]) -> None:
    side = Pake(case["role"], case["code"].encode("utf-8"), entropy=_fixed(bytes.fromhex(case["entropy"])))
    with pytest.raises(BadHandshake, match=REFUSALS[case["refused_by"]]):
        side.finish(bytes.fromhex(case["message"]))


def test_every_check_has_hostile_points() -> None:
    assert {case["refused_by"] for case in VECTORS["hostile_points"]["cases"]} == set(REFUSALS)


@pytest.mark.parametrize("case", VECTORS["seal"]["accepted"], ids=lambda c: c["type"])
def test_seal(case: dict[str, Any]) -> None:
    key, text = bytes.fromhex(case["key"]), case["plaintext"].encode("utf-8")
    assert seal(key, case["type"], text, random=_fixed(bytes.fromhex(case["iv"]))) == case["data"]
    assert open_sealed(key, case["type"], case["data"]) == text


@pytest.mark.parametrize("case", VECTORS["seal"]["tampered"], ids=_name)
def test_seal_tampered(case: dict[str, Any]) -> None:
    with pytest.raises(Tampered):
        open_sealed(bytes.fromhex(case["key"]), case["type"], case["data"])


def _run_step(handshake: Handshake, step: dict[str, Any]) -> None:
    if "peer_joined" in step:
        assert handshake.peer_joined(step["peer_joined"]) == step["send"]
    elif "in" in step:
        assert handshake.receive(step["in"]) == (step["send"], step["open"])
    else:
        assert [handshake.seal(step["seal"]["type"], step["seal"]["fields"])] == step["send"]


@pytest.mark.parametrize("case", VECTORS["handshake"]["cases"], ids=_name)
def test_handshake(case: dict[str, Any]) -> None:
    handshake = Handshake(
        case["role"],
        case["code"],
        entropy=_fixed(bytes.fromhex(case["entropy"])),
        random=_fixed(*(bytes.fromhex(iv) for iv in case["ivs"])),
    )
    assert handshake.pake == case["pake"]
    for step in case["steps"]:
        if "error_id" in step:
            with pytest.raises(ProtocolError) as refused:
                _run_step(handshake, {**step, "send": None, "open": None})
            assert refused.value.error_id == step["error_id"] == case["outcome"]
            assert not handshake.trusted
            return
        _run_step(handshake, step)
    assert case["outcome"] == "trusted" and handshake.trusted


def test_handshake_vectors_cover_every_outcome() -> None:
    outcomes = {case["outcome"] for case in VECTORS["handshake"]["cases"]}
    assert outcomes == {"trusted", "wrong-code", "tampered", "bad-handshake"}
    roles = {(case["role"], case["outcome"]) for case in VECTORS["handshake"]["cases"]}
    assert len(roles) == 8
