"""The transfer transcripts (docs/protocol-vectors.json ``transcripts``) are well formed.

No machine runs here: each case is checked against the format of the section's
``_about``, so that a runner (Python's, the page's, a stranger's) can trust every case to
have one right answer, and a mistake in a case shows here rather than as a runner's
mysterious failure.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from helpers.transcripts import CASES, STEP_KINDS, bytes_of, content, holdings, kind, matches, offered, text_of
from helpers.vectors import VECTORS
from sendit_protocol.digest import BLOCK_SIZE, digest_bytes
from sendit_protocol.errors import ERROR_ID, ErrorId
from sendit_protocol.messages import (
    FileEntry,
    InvalidMessage,
    check_binary,
    check_name,
    check_offer,
    parse_message,
    split_manifest,
)

STATES = {
    "sender": {"delivered", "declined", "cancelled", "failed"},
    "receiver": {"received", "declined", "cancelled", "failed"},
}
ENDED_WELL = {"delivered", "received", "declined"}
# Beside the step's kind, what else a step may say.
EXTRAS = {"in": {"size", "invalid"}, "in_text": {"invalid"}, "in_binary": {"invalid"}, "out": {"skip", "absent"}}
ONLY = {"decide": "receiver", "out_bytes": "sender", "out_manifest": "sender"}
CLOSES = {"in_close", "out_close"}
MESSAGE_TYPES = {"manifest", "manifest-more", "accept", "accept-more", "decline", "file-from", "continue"}
MESSAGE_TYPES |= {"file-end", "file-ok", "done", "cancel", "error"}


def named(cases: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("case", cases, ids=[c["name"] for c in cases])


def test_the_section_says_what_it_is() -> None:
    about = VECTORS["transcripts"]["_about"]
    assert about and all(isinstance(line, str) for line in about)
    assert len(CASES) >= 100


def test_names_are_unique_and_say_the_role() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert case["name"].startswith(case["role"] + ": ")


@named(CASES)
def test_a_case_has_the_fields_of_its_role(case: dict[str, Any]) -> None:
    role = case["role"]
    assert role in STATES
    required = {"name", "role", "about", "steps", "outcome"} | ({"files"} if role == "sender" else set())
    assert required <= case.keys() <= required | {"limits"} | ({"holdings"} if role == "receiver" else set())
    assert isinstance(case["about"], str) and case["about"]
    if "limits" in case:
        ((limit, seconds),) = case["limits"].items()
        assert limit == {"sender": "answer_seconds", "receiver": "manifest_seconds"}[role]
        assert 0 < seconds < 5


@named([c for c in CASES if c["role"] == "sender"])
def test_a_sender_offers_what_a_sender_may(case: dict[str, Any]) -> None:
    files = offered(case)
    for file in case["files"]:
        assert {"name", "size", "type"} <= file.keys() <= {"name", "size", "type", "hex", "repeat"}
        assert ("{}" in file["name"]) == ("repeat" in file)
    for file in files:
        assert len(content(file)) == file["size"]
        check_name(file["name"])
    check_offer([FileEntry(f["name"], f["size"], f["type"]) for f in files])


@named(CASES)
def test_every_step_is_one_known_kind(case: dict[str, Any]) -> None:
    for step in case["steps"]:
        found = STEP_KINDS.intersection(step)
        assert len(found) == 1, step
        (what,) = found
        assert step.keys() - {what} <= EXTRAS.get(what, set()), step
        assert ONLY.get(what, case["role"]) == case["role"], step
        check_step(what, step)


def check_step(what: str, step: dict[str, Any]) -> None:
    value = step[what]
    if what in ("in", "out"):
        assert isinstance(value, dict) and isinstance(value.get("type"), str)
    elif what == "in_text":
        assert isinstance(value, str)
    elif what in ("in_binary", "out_bytes"):
        check_bytes(value)
    elif what == "decide":
        assert value in ("accept", "decline")
    elif what == "cancel":
        assert isinstance(value, str)
    elif what == "out_manifest" and value is not True:
        assert isinstance(value, dict) and value
    else:
        assert value is True
    if "absent" in step:
        assert step["absent"] and all(isinstance(field, str) and field not in value for field in step["absent"])
    if "skip" in step:
        assert step["skip"] and set(step["skip"]) <= MESSAGE_TYPES | {"binary"}
    if "size" in step:
        assert len(text_of({"in": step["in"]}).encode("utf-8")) <= step["size"]


def check_bytes(spec: dict[str, Any]) -> None:
    if "hex" in spec:
        assert spec.keys() == {"hex"} and spec["hex"] == spec["hex"].lower() and len(spec["hex"]) % 2 == 0
        bytes.fromhex(spec["hex"])
    else:
        assert {"size"} <= spec.keys() <= {"size", "start"}
        assert spec["size"] >= 0 and spec.get("start", 0) >= 0


@named(CASES)
def test_an_in_message_parses_unless_marked_invalid(case: dict[str, Any]) -> None:
    for step in case["steps"]:
        if kind(step) in ("in", "in_text"):
            assert refused(parse_message, text_of(step)) == step.get("invalid", False), step
        elif kind(step) == "in_binary":
            assert refused(check_binary, bytes_of(step["in_binary"])) == step.get("invalid", False), step


def refused(check: Callable[[Any], Any], message: Any) -> bool:
    try:
        check(message)
    except InvalidMessage:
        return True
    return False


@named(CASES)
def test_a_case_ends_with_the_channel_closed(case: dict[str, Any]) -> None:
    kinds = [kind(step) for step in case["steps"]]
    assert kinds[-1] in CLOSES
    assert not CLOSES.intersection(kinds[:-1])


@named([c for c in CASES if c["role"] == "receiver"])
def test_the_answer_is_sent_before_anything_else_arrives(case: dict[str, Any]) -> None:
    """After the person answers, the runner waits for accept or decline to go out, so that
    what comes next reaches a receiver that has answered: one right outcome."""
    steps = case["steps"]
    for at, step in enumerate(steps):
        if "decide" in step:
            assert steps[at + 1].keys() <= {"out", "absent"} and steps[at + 1]["out"]["type"] == step["decide"]


@named([c for c in CASES if c["role"] == "sender"])
def test_a_sender_case_begins_with_its_offer_and_never_needs_pipelining(case: dict[str, Any]) -> None:
    """The data of file i+1 is expected only after file i's file-ok was given."""
    steps = case["steps"]
    assert kind(steps[0]) == "out_manifest" and kind(steps[0]) not in map(kind, steps[1:])
    acknowledged = 0
    expected_file = 0
    for step in steps:
        if "in" in step and step["in"]["type"] == "file-ok" and step["in"]["index"] == acknowledged:
            acknowledged += 1
        if "in" in step and step["in"]["type"] == "continue":
            # Files before it count as verified; it is sent again from the file-from on.
            expected_file = step["in"]["index"]
            acknowledged = max(acknowledged, expected_file)
        if "out" in step and step["out"]["type"] == "file-end":
            assert step["out"]["index"] == expected_file <= acknowledged
            expected_file += 1


@named([c for c in CASES if c["role"] == "sender"])
def test_a_senders_expected_data_is_its_files(case: dict[str, Any]) -> None:
    files = offered(case)
    data = b""
    index = 0
    for step in case["steps"]:
        if "out_bytes" in step:
            data += bytes_of(step["out_bytes"])
        elif "in" in step and step["in"]["type"] == "continue":
            data, index = b"", step["in"]["index"]
        elif "out" in step and step["out"]["type"] == "file-from":
            # The receiver keeps that many blocks: the bytes sent are the rest.
            assert data == b"" and step["out"]["index"] == index
            data = content(files[index])[: step["out"]["block"] * BLOCK_SIZE]
        elif "out" in step and step["out"]["type"] == "file-end":
            assert data == content(files[index])
            assert matches(step["out"], {"type": "file-end", "index": index, "digest": digest_bytes(data)})
            data, index = b"", index + 1
    assert data == b""


@named([c for c in CASES if c["role"] == "sender" and len(c["files"]) != len(offered(c))])
def test_a_repeated_offer_needs_more_than_one_message(case: dict[str, Any]) -> None:
    """The point of ``repeat``: an offer that only fits as manifest and manifest-more."""
    files = [FileEntry(f["name"], f["size"], f["type"]) for f in offered(case)]
    assert len(split_manifest(files, resume=False)) > 1


@named([c for c in CASES if c["role"] == "receiver"])
def test_what_a_receiver_keeps_is_what_it_was_sent(case: dict[str, Any]) -> None:
    """Each kept file is the bytes that came for it, and the file-end that closed it carries
    their digest: a case that keeps a file cannot keep it by a mistake of its own."""
    arrived = received_files(case["steps"], holdings(case))
    kept = case["outcome"]["kept"]
    assert len(kept) <= len(arrived)
    for file, (data, told) in zip(kept, arrived[: len(kept)], strict=True):
        assert file.keys() <= {"name", "size", "hex"} and len(content(file)) == file["size"]
        assert data == content(file)
        assert told == digest_bytes(data)


def received_files(steps: list[dict[str, Any]], held: dict[int, bytes]) -> list[tuple[bytes, str]]:
    """What a receiver has of each file when its file-end comes, and that file-end's
    digest: the bytes before it, after what a file-from kept (of the holding, or of
    what came before a reconnection)."""
    files: list[tuple[bytes, str]] = []
    data = b""
    for step in steps:
        if "in_binary" in step:
            data += bytes_of(step["in_binary"])
        elif "in" in step and step["in"]["type"] == "file-from" and not step.get("invalid"):
            data = (data or held.get(step["in"]["index"], b""))[: step["in"]["block"] * BLOCK_SIZE]
        elif "in" in step and step["in"]["type"] == "file-end" and not step.get("invalid"):
            files.append((data, step["in"]["digest"]))
            data = b""
    return files


@named([c for c in CASES if "holdings" in c])
def test_holdings_are_of_files_offered(case: dict[str, Any]) -> None:
    """Each holding is of a file of the offer, no longer than it, in ascending order."""
    first = next(step["in"] for step in case["steps"] if "in" in step)
    assert first["type"] == "manifest" and first["count"] == len(first["files"])
    indices = [held["index"] for held in case["holdings"]]
    assert indices == sorted(set(indices))
    for held in case["holdings"]:
        assert held.keys() == {"index", "bytes"}
        check_bytes(held["bytes"])
        assert len(bytes_of(held["bytes"])) <= first["files"][held["index"]]["size"]


@named([c for c in CASES if any("reconnect" in step for step in c["steps"])])
def test_a_reconnection_comes_after_both_said_they_resume(case: dict[str, Any]) -> None:
    """The manifest said resume, and the accept had resume_count, before any reconnect."""
    steps = case["steps"]
    at = next(number for number, step in enumerate(steps) if "reconnect" in step)
    manifest, accept = ("in", "out") if case["role"] == "receiver" else ("out_manifest", "in")
    said = [step[manifest] for step in steps[:at] if isinstance(step.get(manifest), dict)]
    answered = [step[accept] for step in steps[:at] if accept in step]
    assert any(message.get("resume") is True for message in said)
    assert any(message["type"] == "accept" and "resume_count" in message for message in answered)


@named(CASES)
def test_an_outcome_uses_known_states_and_ids(case: dict[str, Any]) -> None:
    outcome = case["outcome"]
    role = case["role"]
    assert outcome.keys() == {"state", "error_id", "delivered" if role == "sender" else "kept"}
    assert outcome["state"] in STATES[role]
    error_id = outcome["error_id"]
    if outcome["state"] in ENDED_WELL:
        assert error_id is None
        return
    assert ERROR_ID.fullmatch(error_id)
    told = endings(case, "in")
    # An id a peer does not know is still an ending (the case that sends it says so).
    assert error_id in {e.value for e in ErrorId} or error_id in told["error"] | told["cancel"], error_id
    if outcome["state"] == "cancelled":
        assert error_id in told["cancel"] | endings(case, "out")["cancel"]


def endings(case: dict[str, Any], direction: str) -> dict[str, set[str]]:
    """The ids of the cancels and errors that went ``in`` or ``out`` (a cancel's default: cancelled)."""
    ids: dict[str, set[str]] = {"cancel": set(), "error": set()}
    for step in case["steps"]:
        message = step.get(direction)
        if message and message["type"] in ids and not step.get("invalid"):
            ids[message["type"]].add(message.get("error_id", ErrorId.CANCELLED.value))
    return ids


@named([c for c in CASES if c["role"] == "sender"])
def test_delivered_files_are_those_acknowledged(case: dict[str, Any]) -> None:
    delivered = case["outcome"]["delivered"]
    assert delivered == list(range(len(delivered)))
    assert len(delivered) <= len(offered(case))
    if case["outcome"]["state"] == "delivered":
        assert len(delivered) == len(offered(case))


def kept_other_bytes(case: dict[str, Any]) -> None:
    case["outcome"]["kept"][0]["hex"] = "616264"


def sent_other_digest(case: dict[str, Any]) -> None:
    case["steps"][3]["out"]["digest"] = "0" * 64


def unmarked(case: dict[str, Any]) -> None:
    del case["steps"][3]["invalid"]


def marked(case: dict[str, Any]) -> None:
    case["steps"][0]["invalid"] = True


def not_closed(case: dict[str, Any]) -> None:
    case["steps"].pop()


def two_kinds(case: dict[str, Any]) -> None:
    case["steps"][0]["out_close"] = True


def senders_step(case: dict[str, Any]) -> None:
    case["steps"].insert(0, {"out_bytes": {"size": 1}})


def senders_state(case: dict[str, Any]) -> None:
    case["outcome"]["state"] = "delivered"


def unknown_id(case: dict[str, Any]) -> None:
    case["outcome"]["error_id"] = "oops"


def answer_not_awaited(case: dict[str, Any]) -> None:
    case["steps"].pop(2)


def file_ok_late(case: dict[str, Any]) -> None:
    case["steps"].pop(4)


def held_other_bytes(case: dict[str, Any]) -> None:
    case["holdings"][0]["bytes"] = {"size": 1_048_576, "start": 1}


def reconnect_unannounced(case: dict[str, Any]) -> None:
    del case["steps"][0]["in"]["resume"]


MISTAKES = [
    (test_what_a_receiver_keeps_is_what_it_was_sent, "receiver: one file", kept_other_bytes),
    (test_a_senders_expected_data_is_its_files, "sender: one file", sent_other_digest),
    (test_an_in_message_parses_unless_marked_invalid, "receiver: not JSON", unmarked),
    (test_an_in_message_parses_unless_marked_invalid, "receiver: one file", marked),
    (test_a_case_ends_with_the_channel_closed, "receiver: one file", not_closed),
    (test_every_step_is_one_known_kind, "receiver: one file", two_kinds),
    (test_every_step_is_one_known_kind, "receiver: one file", senders_step),
    (test_an_outcome_uses_known_states_and_ids, "receiver: one file", senders_state),
    (test_an_outcome_uses_known_states_and_ids, "receiver: data before accept", unknown_id),
    (test_the_answer_is_sent_before_anything_else_arrives, "receiver: one file", answer_not_awaited),
    (test_a_sender_case_begins_with_its_offer_and_never_needs_pipelining, "sender: several files", file_ok_late),
    (test_what_a_receiver_keeps_is_what_it_was_sent, "receiver: it holds some of the files", held_other_bytes),
    (test_a_reconnection_comes_after_both_said_they_resume, "receiver: a reconnection", reconnect_unannounced),
]


@pytest.mark.parametrize(("check", "name", "mistake"), MISTAKES, ids=[m[2].__name__ for m in MISTAKES])
def test_the_checks_can_fail(
    check: Callable[[dict[str, Any]], None], name: str, mistake: Callable[[dict[str, Any]], None]
) -> None:
    """A case changed to be wrong is caught, or the checks above prove nothing."""
    case = copy.deepcopy(next(c for c in CASES if c["name"] == name))
    mistake(case)
    with pytest.raises(AssertionError):
        check(case)
