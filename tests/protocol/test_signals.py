"""sendit_protocol.signals: the schemas of the events a client sends the server
(docs/PROTOCOL.md 2), each refusal with its error id."""

from __future__ import annotations

import base64
from typing import Any, Callable

import pytest

from sendit_protocol import b64, signals
from sendit_protocol.errors import ERROR_ID, ErrorId, ProtocolError
from sendit_protocol.ice import Route
from sendit_protocol.signals import Cancel, InvalidPayload, Join, NewProtocol, OldProtocol

PAKE = base64.b64encode(b"B" + bytes(range(32))).decode()
#: A 101-emoji reason: 101 code points, 202 UTF-16 units (issue 12's conformance finding).
EMOJI_REASON = "\U0001f600" * 101


def refused(call: Callable[[Any], Any], payload: Any, error_id: ErrorId = ErrorId.INVALID_PAYLOAD) -> str:
    with pytest.raises(ProtocolError) as error:
        call(payload)
    assert error.value.error_id == error_id, error.value
    return str(error.value)


def test_refusals_carry_their_ids_and_words() -> None:
    assert str(InvalidPayload("data is empty")) == "invalid payload: data is empty"
    assert InvalidPayload("x").error_id == ErrorId.INVALID_PAYLOAD
    assert str(OldProtocol()) == "this peer speaks an older SendIt protocol; update it"
    assert OldProtocol().error_id == ErrorId.OLD_PROTOCOL
    assert str(NewProtocol()) == "this server speaks an older SendIt protocol than this peer"
    assert NewProtocol().error_id == ErrorId.NEW_PROTOCOL


# --- the version, in create and join ---------------------------------------------------------


def join_of(**fields: Any) -> dict[str, Any]:
    return {"version": 2, "slot": "4821", "pake": PAKE, **fields}


@pytest.mark.parametrize("version", [2, 2.0])
def test_create_of_version_2(version: Any) -> None:
    assert signals.create({"version": version}) is None


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"version": None}, {"version": 1}, {"version": 0}, {"version": -7}, {"version": 1.5}],
    ids=repr,
)
def test_create_of_an_older_protocol(payload: Any) -> None:
    assert "older" in refused(signals.create, payload, ErrorId.OLD_PROTOCOL)


@pytest.mark.parametrize("version", [3, 2.5, 10**30, float("inf")])
def test_create_of_a_newer_protocol(version: Any) -> None:
    refused(signals.create, {"version": version}, ErrorId.NEW_PROTOCOL)


@pytest.mark.parametrize("version", ["2", True, False, [2], {"v": 2}, float("nan")], ids=repr)
def test_a_version_that_is_no_number(version: Any) -> None:
    assert "version" in refused(signals.create, {"version": version})
    assert "version" in refused(signals.join, join_of(version=version))


def test_a_v1_join_by_code_is_told_it_speaks_an_older_protocol() -> None:
    refused(signals.join, {"code": "K7QM4-XTB9R"}, ErrorId.OLD_PROTOCOL)
    refused(signals.join, join_of(version=1), ErrorId.OLD_PROTOCOL)
    refused(signals.join, join_of(version=3), ErrorId.NEW_PROTOCOL)


@pytest.mark.parametrize("payload", ["x", 7, [1, 2], True], ids=repr)
def test_create_and_join_take_an_object(payload: Any) -> None:
    assert "object" in refused(signals.create, payload)
    assert "object" in refused(signals.join, payload)


def test_create_refuses_any_other_field() -> None:
    assert "'ttl'" in refused(signals.create, {"version": 2, "ttl": 9999})


# --- join -----------------------------------------------------------------------------------


@pytest.mark.parametrize("slot", ["1", "9", "10", "482", "4821", "9999"])
def test_join_takes_a_slot_as_the_wire_spells_it(slot: str) -> None:
    assert signals.join(join_of(slot=slot)) == Join(slot=int(slot), pake=PAKE)


@pytest.mark.parametrize(
    "slot",
    [
        "0",
        "0000",
        "0482",
        "10000",
        "-1",
        "+12",
        " 12",
        "12\n",
        "1.5",
        "",
        "١٢",  # Arabic-Indic digits: digits to str.isdigit, not to the protocol
        "4821-river-fox-lunar",
        4821,
        None,
        ["4821"],
    ],
    ids=repr,
)
def test_join_refuses_anything_but_a_slot(slot: Any) -> None:
    assert "slot" in refused(signals.join, join_of(slot=slot))


@pytest.mark.parametrize("field", ["version", "slot", "pake"])
def test_join_needs_every_field(field: str) -> None:
    payload = join_of()
    del payload[field]
    refused(signals.join, payload, ErrorId.OLD_PROTOCOL if field == "version" else ErrorId.INVALID_PAYLOAD)


@pytest.mark.parametrize("extra", ["code", "words", "password", "Slot"])
def test_join_refuses_any_other_field(extra: str) -> None:
    """A client that sends its whole code beside the slot is refused, not half-served."""
    assert repr(extra) in refused(signals.join, join_of(**{extra: "river-fox-lunar"}))


@pytest.mark.parametrize(
    "pake",
    [
        base64.b64encode(bytes(32)).decode(),  # 32 bytes: 44 characters, but padded
        base64.b64encode(bytes(34)).decode(),
        PAKE[:-4],
        PAKE + "AAAA",
        PAKE[:-1] + "-",  # base64url's alphabet
        PAKE[:-1] + "_",
        PAKE[:20] + " " + PAKE[21:],
        "",
        33,
        None,
        list(PAKE),
    ],
    ids=repr,
)
def test_join_refuses_a_pake_that_is_not_33_bytes_of_base64(pake: Any) -> None:
    assert "pake" in refused(signals.join, join_of(pake=pake))


# --- signal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", signals.SIGNAL_TYPES)
def test_signal_of_each_type_is_relayed_as_sent(kind: str) -> None:
    sent = {"type": kind, "data": "QUJD"}
    relayed = signals.signal(sent)
    assert relayed == sent and relayed is not sent


@pytest.mark.parametrize("kind", ["bye", "Offer", "", None, 1, ["offer"]], ids=repr)
def test_signal_of_another_type(kind: Any) -> None:
    assert "type" in refused(signals.signal, {"type": kind, "data": "QUJD"})


def test_signal_data_bounds() -> None:
    for data in ("QQ==", "QUI=", "QUJD"):
        assert signals.signal({"type": "offer", "data": data})["data"] == data
    for data in ("", "QQ", "QQ="):
        assert "data" in refused(signals.signal, {"type": "offer", "data": data})


@pytest.mark.parametrize("end", ["QR==", "QUJ=", "QQ==", "QUI=", "QUJD", "////", "+/8="])
def test_signal_data_is_what_b64_decode_takes(end: str) -> None:
    """The server checks only the last quantum's spelling (no other can be wrong), and
    so takes exactly what the peers' decoder does."""
    data = "A" * 99_996 + end
    try:
        b64.decode(data)
    except b64.InvalidBase64:
        assert "canonical" in refused(signals.signal, {"type": "answer", "data": data})
    else:
        assert signals.signal({"type": "answer", "data": data})["data"] == data


def test_an_sdp_sized_data_over_the_limit_is_refused() -> None:
    """Issue 12's conformance finding: an SDP over its limit was relayed. The server sees
    no SDP now, only the sealed blob, whose bound is the next base64 length past 200,000."""
    assert signals.signal({"type": "offer", "data": "A" * 200_000})["data"] == "A" * 200_000
    assert "data" in refused(signals.signal, {"type": "offer", "data": "A" * 200_004})


@pytest.mark.parametrize(
    "data",
    ["QUJD\n", "QU JD", "QU=J", "Q===", "====", "QQ=A", "QUJD=", "-_-_", "QUJ\u00e9", 1234, None, {"sdp": "v=0"}],
    ids=repr,
)
def test_signal_data_must_be_padded_base64(data: Any) -> None:
    assert "data" in refused(signals.signal, {"type": "pake", "data": data})


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "offer", "data": "QUJD", "sdp": "v=0"},
        {"type": "candidate", "data": "QUJD", "candidate": None},
        {"type": "offer", "data": "QUJD", "from": "admin"},
    ],
    ids=repr,
)
def test_signal_refuses_unknown_fields_instead_of_dropping_them(payload: dict[str, Any]) -> None:
    assert "unknown field" in refused(signals.signal, payload)


@pytest.mark.parametrize(
    "payload", [None, {}, {"type": "offer"}, {"data": "QUJD"}, {"type": "offer", "sdp": "v=0"}], ids=repr
)
def test_signal_needs_its_two_fields(payload: Any) -> None:
    refused(signals.signal, payload)


@pytest.mark.parametrize("payload", ["offer", 7, [{"type": "offer", "data": "QUJD"}]], ids=repr)
def test_signal_takes_an_object(payload: Any) -> None:
    assert "object" in refused(signals.signal, payload)


# --- cancel, done, leave --------------------------------------------------------------------


def test_cancel_defaults() -> None:
    assert signals.cancel(None) == Cancel(reason="", error_id="cancelled")
    assert signals.cancel({}) == Cancel(reason="", error_id="cancelled")
    assert signals.cancel({"reason": "changed my mind"}) == Cancel(reason="changed my mind", error_id="cancelled")
    told = signals.cancel({"reason": "wrong words", "error_id": "wrong-code"})
    assert told == Cancel(reason="wrong words", error_id="wrong-code")


def test_cancel_reason_is_counted_in_utf16_units() -> None:
    assert signals.cancel({"reason": "r" * 200}).reason == "r" * 200
    assert signals.cancel({"reason": "\U0001f600" * 100}).reason == "\U0001f600" * 100
    assert "reason" in refused(signals.cancel, {"reason": EMOJI_REASON})
    assert "reason" in refused(signals.cancel, {"reason": "r" * 201})


@pytest.mark.parametrize("reason", [5, None, ["r"], {"r": 1}, True], ids=repr)
def test_cancel_reason_is_a_string(reason: Any) -> None:
    assert "reason" in refused(signals.cancel, {"reason": reason})


@pytest.mark.parametrize("error_id", ["a", "tampered", "a" + "-" * 39, "x9-"])
def test_cancel_takes_any_well_formed_id(error_id: str) -> None:
    """Ids a server does not know are still relayed: a newer peer may send one."""
    assert signals.cancel({"error_id": error_id}).error_id == error_id


@pytest.mark.parametrize(
    "error_id", ["", "Wrong-code", "9lives", "-x", "a" * 41, "wrong code", "wrong_code", "é", 7, None], ids=repr
)
def test_cancel_refuses_an_ill_formed_id(error_id: Any) -> None:
    assert not (isinstance(error_id, str) and ERROR_ID.fullmatch(error_id))
    assert "error_id" in refused(signals.cancel, {"error_id": error_id})


def test_cancel_refuses_other_fields_and_other_payloads() -> None:
    assert "'by'" in refused(signals.cancel, {"reason": "x", "by": "sender"})
    assert "object" in refused(signals.cancel, "bored")


def test_done_may_say_the_route_and_nothing_else() -> None:
    assert signals.done(None) is None
    assert signals.done({}) is None
    assert [signals.done({"route": route}) for route in ("lan", "nat", "relay")] == [Route.LAN, Route.NAT, Route.RELAY]
    for route in ("", "LAN", "direct", "relayed via TURN", "198.51.100.7", None, 1, True, ["lan"], {"kind": "lan"}):
        assert "route must be one of lan, nat, relay" in refused(signals.done, {"route": route}), route
    assert "'address'" in refused(signals.done, {"route": "nat", "address": "198.51.100.7"})
    for value in ("", "lan", 0, [], [{}]):
        assert "object" in refused(signals.done, value)


def test_leave_takes_nothing() -> None:
    assert signals.empty(None) is None
    assert signals.empty({}) is None
    assert "'ignored'" in refused(signals.empty, {"ignored": True})
    for value in ("", "x", 0, 1, True, [], [{}]):
        assert "object" in refused(signals.empty, value)
