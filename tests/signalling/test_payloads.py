"""signal_server.signalling.payloads: the event schemas of PROTOCOL.md 2.1 and 2.3."""

from __future__ import annotations

from typing import Any

import pytest

from signal_server.signalling import payloads
from signal_server.signalling.payloads import InvalidPayload

GOOD_CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def candidate(**fields: Any) -> dict[str, Any]:
    return {"type": "candidate", "candidate": {**GOOD_CANDIDATE, **fields}}


def refused(call: Any, payload: Any) -> str:
    with pytest.raises(InvalidPayload) as error:
        call(payload)
    message = str(error.value)
    assert message.startswith("invalid payload: ")
    return message


# --- offer / answer -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["offer", "answer"])
def test_payloads_description_sdp_bounds(kind: str) -> None:
    assert payloads.signal({"type": kind, "sdp": "v"}) == {"type": kind, "sdp": "v"}
    at_bound = "v" * 65_536
    assert payloads.signal({"type": kind, "sdp": at_bound})["sdp"] == at_bound
    assert "sdp" in refused(payloads.signal, {"type": kind, "sdp": "v" * 65_537})
    assert "sdp" in refused(payloads.signal, {"type": kind, "sdp": ""})


@pytest.mark.parametrize("sdp", [None, 1, 1.5, True, ["v=0"], {"sdp": "v=0"}])
@pytest.mark.parametrize("kind", ["offer", "answer"])
def test_payloads_description_sdp_must_be_string(kind: str, sdp: Any) -> None:
    assert "sdp" in refused(payloads.signal, {"type": kind, "sdp": sdp})


def test_payloads_description_sdp_missing() -> None:
    refused(payloads.signal, {"type": "offer"})


def test_payloads_description_extra_fields_dropped() -> None:
    relayed = payloads.signal({"type": "answer", "sdp": "v=0", "from": "admin", "x": [1]})
    assert relayed == {"type": "answer", "sdp": "v=0"}


# --- type -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"type": "Offer", "sdp": "v=0"},
        {"type": "pranswer", "sdp": "v=0"},
        {"type": "rollback"},
        {"type": None},
        {"type": 1},
        {"type": ["offer"], "sdp": "v=0"},
        {"sdp": "v=0"},
    ],
)
def test_payloads_signal_unknown_type(payload: dict[str, Any]) -> None:
    assert "type" in refused(payloads.signal, payload)


@pytest.mark.parametrize("payload", ["offer", 1, True, ["offer"], [{"type": "offer", "sdp": "v"}]])
def test_payloads_signal_must_be_object(payload: Any) -> None:
    assert "object" in refused(payloads.signal, payload)


def test_payloads_signal_absent_counts_as_empty_object() -> None:
    assert "type" in refused(payloads.signal, None)


# --- candidate --------------------------------------------------------------------------


def test_payloads_candidate_complete() -> None:
    assert payloads.signal(candidate()) == {"type": "candidate", "candidate": GOOD_CANDIDATE}


def test_payloads_candidate_null_is_end_of_candidates() -> None:
    assert payloads.signal({"type": "candidate", "candidate": None}) == {"type": "candidate", "candidate": None}
    # An absent candidate is the same as null.
    assert payloads.signal({"type": "candidate"}) == {"type": "candidate", "candidate": None}


@pytest.mark.parametrize("value", ["candidate:1", 0, True, ["candidate:1"]])
def test_payloads_candidate_must_be_object_or_null(value: Any) -> None:
    assert "candidate" in refused(payloads.signal, {"type": "candidate", "candidate": value})


def test_payloads_candidate_string_bounds() -> None:
    at_bound = "c" * 1_024
    assert payloads.signal(candidate(candidate=at_bound))["candidate"]["candidate"] == at_bound
    # Browsers signal end-of-candidates for a generation with an empty string.
    assert payloads.signal(candidate(candidate=""))["candidate"]["candidate"] == ""
    assert "candidate" in refused(payloads.signal, candidate(candidate="c" * 1_025))


@pytest.mark.parametrize("value", [None, 1, ["c"], {"c": 1}])
def test_payloads_candidate_string_type(value: Any) -> None:
    refused(payloads.signal, candidate(candidate=value))


def test_payloads_candidate_sdp_mid() -> None:
    assert payloads.signal(candidate(sdpMid="m" * 64))["candidate"]["sdpMid"] == "m" * 64
    assert payloads.signal(candidate(sdpMid=None))["candidate"]["sdpMid"] is None
    assert payloads.signal(candidate(sdpMid=""))["candidate"]["sdpMid"] == ""
    assert "sdpMid" in refused(payloads.signal, candidate(sdpMid="m" * 65))
    assert "sdpMid" in refused(payloads.signal, candidate(sdpMid=0))


@pytest.mark.parametrize("index", [0, 1, 254, 255, None])
def test_payloads_candidate_sdp_mline_index_accepted(index: Any) -> None:
    assert payloads.signal(candidate(sdpMLineIndex=index))["candidate"]["sdpMLineIndex"] == index


@pytest.mark.parametrize("index", [-1, 256, 10**20, True, False, 0.0, 1.0, "0", [0]])
def test_payloads_candidate_sdp_mline_index_refused(index: Any) -> None:
    assert "sdpMLineIndex" in refused(payloads.signal, candidate(sdpMLineIndex=index))


def test_payloads_candidate_sdp_mline_index_bool_is_not_int() -> None:
    relayed = payloads.signal(candidate(sdpMLineIndex=1))
    assert type(relayed["candidate"]["sdpMLineIndex"]) is int
    refused(payloads.signal, candidate(sdpMLineIndex=True))


def test_payloads_candidate_username_fragment() -> None:
    at_bound = "u" * 256
    assert payloads.signal(candidate(usernameFragment=at_bound))["candidate"]["usernameFragment"] == at_bound
    assert payloads.signal(candidate(usernameFragment=None))["candidate"]["usernameFragment"] is None
    assert "usernameFragment" in refused(payloads.signal, candidate(usernameFragment="u" * 257))
    assert "usernameFragment" in refused(payloads.signal, candidate(usernameFragment=7))


def test_payloads_candidate_optional_fields_default_to_null() -> None:
    relayed = payloads.signal({"type": "candidate", "candidate": {"candidate": "c"}})
    assert relayed == {
        "type": "candidate",
        "candidate": {"candidate": "c", "sdpMid": None, "sdpMLineIndex": None, "usernameFragment": None},
    }


def test_payloads_candidate_extra_fields_dropped() -> None:
    relayed = payloads.signal(
        {
            "type": "candidate",
            "candidate": {**GOOD_CANDIDATE, "relayProtocol": "udp", "secret": "x"},
            "to": "someone-else",
        }
    )
    assert relayed == {"type": "candidate", "candidate": GOOD_CANDIDATE}


def test_payloads_signal_result_is_a_fresh_object() -> None:
    sent = candidate()
    relayed = payloads.signal(sent)
    assert relayed is not sent and relayed["candidate"] is not sent["candidate"]


# --- join / cancel / events without fields --------------------------------------------


def test_payloads_join_code() -> None:
    assert payloads.join_code({"code": "k7qm4-xtb9r"}) == "k7qm4-xtb9r"
    assert payloads.join_code({"code": "x" * 40}) == "x" * 40
    assert "code" in refused(payloads.join_code, {"code": "x" * 41})
    assert "code" in refused(payloads.join_code, {"code": ""})
    assert "code" in refused(payloads.join_code, {})
    assert "code" in refused(payloads.join_code, None)
    for value in (None, 1234567890, ["K7QM4XTB9R"], {"code": "K7QM4XTB9R"}, True):
        assert "code" in refused(payloads.join_code, {"code": value})
    assert "object" in refused(payloads.join_code, "K7QM4-XTB9R")


def test_payloads_cancel_reason() -> None:
    assert payloads.cancel_reason({"reason": "changed my mind"}) == "changed my mind"
    assert payloads.cancel_reason({}) == ""
    assert payloads.cancel_reason(None) == ""
    assert payloads.cancel_reason({"reason": ""}) == ""
    assert payloads.cancel_reason({"reason": "r" * 200}) == "r" * 200
    assert "reason" in refused(payloads.cancel_reason, {"reason": "r" * 201})
    for value in (1, ["r"], {"r": 1}, False):
        assert "reason" in refused(payloads.cancel_reason, {"reason": value})
    assert "object" in refused(payloads.cancel_reason, "bored")


def test_payloads_empty() -> None:
    assert payloads.empty(None) is None
    assert payloads.empty({}) is None
    assert payloads.empty({"ignored": True}) is None
    for value in ("", "x", 0, 1, True, [], [{}]):
        assert "object" in refused(payloads.empty, value)


def test_payloads_error_message_format() -> None:
    assert str(InvalidPayload("sdp is empty")) == "invalid payload: sdp is empty"
