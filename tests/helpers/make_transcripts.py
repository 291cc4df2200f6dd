"""The ``transcripts`` section of docs/protocol-vectors.json: whole transfers that drive
one machine each, good and hostile (written by tests/helpers/make_vectors.py).

Digests come from hashlib here, never from sendit_protocol: the cases judge our code.
tests/transfer/test_transcript_cases.py checks the section against its format (ABOUT).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

Json = dict[str, Any]

ABOUT = [
    "Whole exchanges that drive ONE transfer machine (docs/PROTOCOL.md sections 4-5; sender or receiver) over an "
    "in-memory channel, with no network, signalling or handshake. Both implementations run every case; a runner "
    "reports 'case: expected X, got Y'.",
    "The channel: open, ordered, reliable, labelled sendit; bufferedAmount is always 0 (what the machine sends is "
    "with the runner at once). The runner starts the machine at the first step: a sender sends its manifest at "
    "once; a receiver has a person (see decide) and a sink in memory that can save any valid name (cannot-save is "
    'not tested here). limits, optional: {"manifest_seconds": s} (receiver) or {"answer_seconds": s} (sender) '
    "replaces the 30 s / 10 min limit; no other case waits on a timer.",
    "A case: name (unique), role (sender | receiver), about (the rule it checks), files (sender only: what it "
    "offers, [{name, size, type, hex?}]), limits?, steps, outcome. A file's content, and a kept file's, is hex if "
    "given, else pattern(size). pattern: byte i is i mod 251 (as the digest vectors). A sender's files entry "
    'with "repeat": n stands for n files, its name with {} replaced by 0..n-1.',
    'Bytes: {"hex": "616263"} (lower case) or {"size": n, "start": s} = the n bytes whose byte i is (s + i) mod '
    '251; start defaults to 0, so pattern(300000) may go as {"size": 262144} then {"size": 37856, "start": 262144}.',
    "Steps, each an object with exactly one of these keys: in: the peer sends this object as a text message in "
    'compact JSON (json.dumps(o, separators=(",", ":")) / JSON.stringify(o)); with "size": n beside it, spaces '
    "are appended until its UTF-8 is exactly n bytes. in_text: the peer sends exactly this string as a text "
    'message. in_binary: the peer sends one binary message of these bytes ({"size": 0} = an empty one). '
    "in_close: the peer closes the channel (the machine's channel goes closed and fires close). decide: "
    '"accept" | "decline", receiver only: the runner waits until the machine has asked its person, then the '
    'person answers; with no decide step the person never answers. cancel: "reason": the machine\'s own person '
    "cancels (the runner calls its cancel(reason)).",
    "out: the next message the machine sent is a text message whose JSON object has every listed field with an "
    "equal value (JSON equality: 1 equals 1.0, true is no number; unlisted fields are not looked at). With "
    '"skip": [kinds] beside it, messages of those kinds ("binary", or a type such as "file-end") are dropped '
    "first: for a sender whose pipelined data may or may not have gone out before it saw the fault. out_bytes, "
    "sender only: the next messages are binary and together are exactly these bytes (taken until that many bytes "
    "arrived; a text message first, or a binary message going past the end, is a mismatch; how a sender cuts its "
    "data is its own business). out_manifest: true, sender only: the next messages are a manifest {type, version "
    "2, count} and as many manifest-more as the sender takes, each at most 262,144 bytes of UTF-8, whose files "
    "together are the case's files (name, size, type) in order. out_close: the runner waits until the machine "
    "has closed its channel (or its connection).",
    "Timing, so every case has one right answer: the runner never sleeps; only decide and out* steps wait, each "
    "at most 10 s. Consecutive in* and cancel steps are done back to back as one burst (Python: without awaiting "
    "in between; JavaScript: in one synchronous loop), so the machine takes them all in before its own "
    "asynchronous work (reading or hashing a file, its person's answer, a timer) goes on: accept then file-ok 0 "
    "in one burst reach a sender before it can have sent file-end 0 (a sender sends no file data from inside its "
    "handling of accept). A cancel step acts at once: messages of its burst before it may or may not have been "
    "handled (cases put one only where that makes no difference). in_close comes after the messages before it: "
    "what arrived before the close is handled first. Outputs queue up in the order sent and each out* step takes "
    "from the front, so inputs may come before the outputs they cause. Sender cases never require pipelining: "
    "the next file's data is expected only after the previous file's file-ok was given.",
    "Every case ends with the channel closed: its last step is out_close (the machine closes: a sender on done or "
    "decline; whoever ends with cancel or error first, once its messages are out) or in_close (the peer closes: "
    "after the receiver's done or decline, after the peer's cancel or error, or mid-transfer). A machine that "
    "closes where the peer would have is not at fault: closing a closed channel is nothing.",
    "outcome, checked once the last step is done and the machine has ended (at most 10 s): state, the machine's "
    "final state (sender delivered | declined | cancelled | failed; receiver received | declined | cancelled | "
    "failed). error_id: null for delivered, received and declined; cancelled: the id of the cancel it sent or got "
    "(cancelled if the message had none); failed: the id of the error it sent (protocol-error, hash-mismatch, "
    "no-manifest, old-protocol, new-protocol) or got (its error_id, known or not), or peer-left when the channel "
    "closed before the end. Receiver kept: [{name, size, hex?}], the files handed over as verified, in order, "
    "with exactly these bytes, and no other file nor part of one. Sender delivered: the indices it counted "
    "delivered (its own file-end sent AND the matching file-ok), in order. And every message the machine sent "
    "was taken by an out* step (or skipped by one).",
    '"invalid": true beside an in, in_text or in_binary marks a message that breaks the message rules on its own '
    "(sendit_protocol.messages.parse_message refuses it, or a binary of 0 or more than 262,144 bytes); every other "
    "in-message parses. Faults of order or of the offer as a whole (data before accept, a name twice, a count not "
    "met) are not marked. Runners ignore the mark; tests/transfer/test_transcript_cases.py checks it, and every "
    "other rule here, without running a machine.",
    "Resuming and reconnecting (docs/PROTOCOL.md 4.6). holdings, optional, receiver only: [{index, bytes}], what "
    "its store or sink holds from an earlier run of file index of the offer (ascending indices, at most that file's "
    "size, given to the machine as such: Python's sink holdings, the page's store.partial). A holding counts as its "
    "whole blocks, its short last block only when it is the whole file; one of no such block is no holding. A "
    "writer the machine opens with blocks to keep starts with those first bytes of the holding. "
    'out_manifest may be an object instead of true: fields its first part has too, e.g. {"resume": true}. '
    '"absent": [fields] beside an out: the message has none of them (a bare accept has no resume_count). '
    "reconnect: true: the channel is lost and a new one opens; only after both said they resume (manifest resume "
    "true, accept with resume_count), mid-transfer. The runner closes the channel from the peer's side, waits (as "
    "an out step) until the machine says it lost it and waits for a new one (Python: its on_lost; JavaScript: its "
    "onLost), finds every message sent on the old channel taken by an out step, and hands the machine a new open "
    "channel (Python: resume_on; JavaScript: resume); later steps are on that channel, once the machine listens "
    "to it (a real channel delivers nothing before the tasks after its opening). A receiver's reconnect "
    "keeps the whole blocks that came of its current file; its file-from then keeps that many or none.",
]

BLOCK = 1_048_576
LARGEST = 262_144
PROTOCOL_ERROR = "protocol-error"
HASH_MISMATCH = "hash-mismatch"
# The sender's file data, which a pipelining sender may or may not have sent before a fault.
DATA = ["binary", "file-end"]
CLOSED_BY_PEER: Json = {"in_close": True}
CLOSED_BY_MACHINE: Json = {"out_close": True}
OFFER: Json = {"out_manifest": True}


# -- bytes, files and messages -------------------------------------------------------


def pattern(size: int, start: int = 0) -> bytes:
    return bytes((start + i) % 251 for i in range(size))


def digest(data: bytes) -> str:
    """The protocol's digest, spelled out: SHA-256 over each 1 MiB block's SHA-256."""
    outer = hashlib.sha256()
    for start in range(0, len(data), BLOCK):
        outer.update(hashlib.sha256(data[start : start + BLOCK]).digest())
    return outer.hexdigest()


def file(name: str, data: bytes | None = None, size: int = 0, kind: str = "") -> Json:
    """An offered file: ``data`` written out in hex, or pattern(size)."""
    if data is not None:
        return {"name": name, "size": len(data), "type": kind, "hex": data.hex()}
    return {"name": name, "size": size, "type": kind}


def content(entry: Json) -> bytes:
    return bytes.fromhex(entry["hex"]) if "hex" in entry else pattern(entry["size"])


def listed(entry: Json) -> Json:
    return {key: entry[key] for key in ("name", "size", "type") if key in entry}


def manifest(files: list[Json], count: int | None = None, version: Any = 2, **extra: Any) -> Json:
    first = {"type": "manifest", "version": version, "count": len(files) if count is None else count}
    return {**first, "files": [listed(f) for f in files], **extra}


def more(files: list[Json]) -> Json:
    return {"type": "manifest-more", "files": [listed(f) for f in files]}


def file_end(index: int, data: bytes) -> Json:
    return {"type": "file-end", "index": index, "digest": digest(data)}


def kept(entry: Json) -> Json:
    return {key: entry[key] for key in ("name", "size", "hex") if key in entry}


def hexed(data: bytes) -> Json:
    return {"hex": data.hex()}


def patterned(size: int, start: int = 0) -> Json:
    return {"size": size, "start": start} if start else {"size": size}


def bytes_of(entry: Json) -> Json:
    """How a file's whole content is written as a bytes value."""
    return hexed(content(entry)) if "hex" in entry else patterned(entry["size"])


# -- steps ---------------------------------------------------------------------------


def given(message: Json, invalid: bool = False, **extra: Any) -> Json:
    return {"in": message, **extra, **({"invalid": True} if invalid else {})}


def given_text(text: str) -> Json:
    return {"in_text": text, "invalid": True}


def given_bytes(spec: Json, invalid: bool = False) -> Json:
    return {"in_binary": spec, **({"invalid": True} if invalid else {})}


def sent(message: Json, skip: list[str] | None = None, absent: list[str] | None = None) -> Json:
    return {"out": message, **({"skip": skip} if skip else {}), **({"absent": absent} if absent else {})}


def failure(error_id: str = PROTOCOL_ERROR, **fields: Any) -> list[Json]:
    """The machine tells the peer ``error`` and closes."""
    return [sent({"type": "error", "error_id": error_id, **fields}), CLOSED_BY_MACHINE]


def ending(state: str, error_id: str | None = None, files: list[Json] | None = None) -> Json:
    """A receiver's outcome."""
    return {"state": state, "error_id": error_id, "kept": [kept(f) for f in files or []]}


def sender_ending(state: str, error_id: str | None = None, delivered: int = 0) -> Json:
    return {"state": state, "error_id": error_id, "delivered": list(range(delivered))}


def case(role: str, name: str, about: str, steps: list[Json], outcome: Json, **more_fields: Any) -> Json:
    head = {"name": f"{role}: {name}", "role": role, "about": about}
    return {**head, **more_fields, "steps": steps, "outcome": outcome}


def receiver(name: str, about: str, steps: list[Json], outcome: Json, **more_fields: Any) -> Json:
    return case("receiver", name, about, steps, outcome, **more_fields)


def sender(name: str, about: str, files: list[Json], steps: list[Json], outcome: Json, **more_fields: Any) -> Json:
    return case("sender", name, about, steps, outcome, files=files, **more_fields)


ACCEPTED = [{"decide": "accept"}, sent({"type": "accept"})]
DONE = [sent({"type": "done"}), CLOSED_BY_PEER]


def sending(index: int, entry: Json) -> list[Json]:
    """A well-behaved sender's file: its bytes in one message (if any), then its file-end."""
    data = content(entry)
    return ([given_bytes(bytes_of(entry))] if data else []) + [given(file_end(index, data))]


def verified(files: list[Json]) -> list[Json]:
    """Each file sent, then its file-ok."""
    steps = []
    for index, entry in enumerate(files):
        steps += [*sending(index, entry), sent({"type": "file-ok", "index": index})]
    return steps


def received(name: str, about: str, files: list[Json], parts: list[Json] | None = None) -> Json:
    offer = [given(part) for part in parts or [manifest(files)]]
    return receiver(name, about, [*offer, *ACCEPTED, *verified(files), *DONE], ending("received", files=files))


def refused(name: str, about: str, steps: list[Json], error_id: str = PROTOCOL_ERROR) -> Json:
    """A receiver refuses, before anything was accepted."""
    return receiver(name, about, [*steps, *failure(error_id)], ending("failed", error_id))


def refused_offer(name: str, about: str, *parts: Json, error_id: str = PROTOCOL_ERROR, invalid: bool = False) -> Json:
    """A receiver refuses an offer: ``invalid``, its last part breaks the message rules."""
    steps = [given(part) for part in parts[:-1]] + [given(parts[-1], invalid)]
    return refused(name, about, steps, error_id)


def after_accept(name: str, about: str, files: list[Json], steps: list[Json], **options: Any) -> Json:
    """A receiver that accepted ``files`` refuses what follows; ``kept``: what it verified before."""
    error_id, keeps = options.pop("error_id", PROTOCOL_ERROR), options.pop("kept", [])
    told = [given(manifest(files)), *ACCEPTED, *steps, *failure(error_id, **options)]
    return receiver(name, about, told, ending("failed", error_id, keeps))


# -- the receiver --------------------------------------------------------------------

A = file("a.txt", b"abc", kind="text/plain")
A5 = file("a.txt", b"hello", kind="text/plain")
B = file("b.bin", size=1000)
EMPTY = file("empty.bin", size=0)
TWO = [A, B]
ABC = b"abc"
FOLDERS = [
    file("photos/2024/a.jpg", b"jpg", kind="image/jpeg"),
    file("photos/b.png", b"png", kind="image/png"),
    file("notes.txt", b"n"),
]
BIG = file("big.bin", size=BLOCK + 1)


def receiver_good() -> list[Json]:
    piped = [file("one.bin", size=5000), EMPTY, file("two.bin", size=70000)]
    three = [A, file("b.txt", b"b"), file("c/d.txt", b"d")]
    long_name = file("n" * 1020 + ".txt", b"long")
    scripts = file("\u05e9\u05dc\u05d5\u05dd/\U0001f469\u200d\U0001f4bb caf\u00e9.txt", b"u")
    several = [A, B, file("c.txt", b"\x00\xff", kind="text/plain"), file("d.bin", size=0)]
    largest = [given_bytes(patterned(LARGEST, start)) for start in range(0, BLOCK, LARGEST)]
    return [
        received("one file", "a manifest, the person accepts, the bytes and file-end: file-ok, done", [A]),
        received("an empty file", "a file of 0 bytes has no binary message, only its file-end", [EMPTY]),
        received("several files, one after another", "each file-end gets its file-ok, done after the last", several),
        received("files in folders", "a name is a relative path; x/y and x/z share the folder x", FOLDERS),
        receiver(
            "pipelined files",
            "a sender need not wait for file-ok before the next file: all arrive in one burst",
            [given(manifest(piped)), *ACCEPTED]
            + [step for index, entry in enumerate(piped) for step in sending(index, entry)]
            + [sent({"type": "file-ok", "index": index}) for index in range(len(piped))]
            + DONE,
            ending("received", files=piped),
        ),
        receiver(
            "a file of a block and a byte, in messages of the largest size",
            "binary messages of exactly 262,144 bytes are allowed; the digest covers two blocks",
            [given(manifest([BIG])), *ACCEPTED, *largest, given_bytes(patterned(1, BLOCK))]
            + [given(file_end(0, content(BIG))), sent({"type": "file-ok", "index": 0}), *DONE],
            ending("received", files=[BIG]),
        ),
        received(
            "a manifest in three parts",
            "manifest (count 3, one file), then manifest-more until 3 files arrived; the person is asked once",
            three,
            [manifest(three[:1], count=3), more(three[1:2]), more(three[2:])],
        ),
        receiver(
            "the person declines",
            "decline, and the sender closes",
            [given(manifest([A])), {"decide": "decline"}, sent({"type": "decline"}), CLOSED_BY_PEER],
            ending("declined"),
        ),
        receiver(
            "a text message of exactly 262,144 bytes",
            "the largest message: still one to take",
            [given(manifest([A]), size=LARGEST), {"decide": "decline"}, sent({"type": "decline"}), CLOSED_BY_PEER],
            ending("declined"),
        ),
        received("a name of 1,024 characters", "the longest name the protocol allows", [long_name]),
        received("a name in other scripts", "letters of any script, emoji and joiners are fine in a name", [scripts]),
    ]


def receiver_endings() -> list[Json]:
    timeout = {"type": "cancel", "reason": "the offer was not answered within 10 min", "error_id": "offer-timeout"}
    read_failed = {"type": "error", "message": "could not read b.bin", "error_id": "read-failed"}
    unknown = {"type": "error", "message": "the disk is on fire", "error_id": "disk-on-fire"}
    mid_file = [given(manifest([B])), *ACCEPTED, given_bytes(patterned(400))]
    return [
        receiver(
            "the sender cancels while the person decides",
            "the receiver keeps reading while its person decides: a cancel ends it",
            [given(manifest([A])), given({"type": "cancel", "reason": "changed my mind"}), CLOSED_BY_PEER],
            ending("cancelled", "cancelled"),
        ),
        receiver(
            "the sender gives up on the answer",
            "a cancel's error_id is the ending's (the sender's answer limit)",
            [given(manifest([A])), given(timeout), CLOSED_BY_PEER],
            ending("cancelled", "offer-timeout"),
        ),
        receiver(
            "a cancel without a reason",
            "reason and error_id may be absent: cancelled",
            [given(manifest([A])), *ACCEPTED, given({"type": "cancel"}), CLOSED_BY_PEER],
            ending("cancelled", "cancelled"),
        ),
        receiver(
            "the sender cancels after the first file",
            "a verified file is kept; the unfinished one is not",
            [given(manifest(TWO)), *ACCEPTED, *verified([A]), given_bytes(patterned(500))]
            + [given({"type": "cancel", "reason": "stop"}), CLOSED_BY_PEER],
            ending("cancelled", "cancelled", [A]),
        ),
        receiver(
            "the sender cannot read its file",
            "an error from the sender ends the transfer with its id",
            [given(manifest([B])), *ACCEPTED, given_bytes(patterned(500)), given(read_failed), CLOSED_BY_PEER],
            ending("failed", "read-failed"),
        ),
        receiver(
            "an error id this peer does not know",
            "an unknown but well-formed id is still an error, ended with that id",
            [given(manifest([A])), given(unknown), CLOSED_BY_PEER],
            ending("failed", "disk-on-fire"),
        ),
        receiver(
            "the sender leaves mid-file",
            "a channel that closes before done is a failure; nothing of the file is kept",
            [*mid_file, CLOSED_BY_PEER],
            ending("failed", "peer-left"),
        ),
        receiver(
            "the sender leaves before the manifest",
            "a channel that closes before anything is a failure too",
            [CLOSED_BY_PEER],
            ending("failed", "peer-left"),
        ),
        receiver(
            "its person cancels mid-file",
            "cancel(reason): the sender is told, the channel closed, nothing kept",
            [*mid_file, {"cancel": "no space left"}, sent({"type": "cancel", "reason": "no space left"})]
            + [CLOSED_BY_MACHINE],
            ending("cancelled", "cancelled"),
        ),
        receiver(
            "no manifest in time",
            "the sender sends nothing: the receiver gives up after its manifest limit and says so",
            failure("no-manifest"),
            ending("failed", "no-manifest"),
            limits={"manifest_seconds": 0.3},
        ),
    ]


def receiver_consent() -> list[Json]:
    offer = given(manifest([A]))
    return [
        refused(
            "data before accept",
            "a binary message while the person decides: consent first",
            [offer, given_bytes(hexed(ABC))],
        ),
        refused("file-end before accept", "a file-end while the person decides", [offer, given(file_end(0, ABC))]),
        refused(
            "done before accept",
            "any text but cancel or error while the person decides",
            [offer, given({"type": "done"})],
        ),
        refused("a second manifest", "a manifest while the person decides on the first", [offer, offer]),
        receiver(
            "a manifest after accept",
            "the offer is made once",
            [offer, *ACCEPTED, offer, *failure()],
            ending("failed", PROTOCOL_ERROR),
        ),
        refused("binary before the manifest", "the manifest comes first", [given_bytes(hexed(ABC))]),
        refused("file-end before the manifest", "the manifest comes first", [given(file_end(0, ABC))]),
        refused("accept from the sender", "a type the receiver never gets, first", [given({"type": "accept"})]),
        refused("manifest-more before the manifest", "a part without its first", [given(more([A]))]),
    ]


def receiver_per_file() -> list[Json]:
    flipped = bytearray(content(B))
    flipped[123] ^= 1
    short = {"error_id": HASH_MISMATCH, "message": "hash mismatch: a.txt"}
    fe_abc = given(file_end(0, ABC))
    huge = file("huge.bin", size=300_000)
    capitals = {"type": "file-end", "index": 0, "digest": digest(ABC).upper()}
    return [
        after_accept(
            "bytes beyond the size",
            "more bytes than the size, even where the next file would take them",
            TWO,
            [given_bytes(hexed(b"abcd"))],
        ),
        after_accept(
            "bytes beyond the size in two messages",
            "the size counts across messages",
            [A],
            [given_bytes(hexed(b"ab")), given_bytes(hexed(b"cd"))],
        ),
        after_accept("bytes for an empty file", "a file of 0 bytes takes none", [EMPTY, A], [given_bytes(hexed(b"x"))]),
        after_accept(
            "a file that ends short",
            "file-end after fewer bytes than the size: hash mismatch (not a protocol error), nothing kept",
            [A5],
            [given_bytes(hexed(b"hel")), given(file_end(0, b"hel"))],
            **short,
        ),
        after_accept(
            "a file that ends short, with the whole file's digest",
            "the digest of what should have come does not save a short file",
            [A5],
            [given_bytes(hexed(b"hel")), given(file_end(0, b"hello"))],
            **short,
        ),
        after_accept(
            "a file-end with none of the bytes",
            "file-end at once for a file of 5 bytes: hash mismatch",
            [A5],
            [given(file_end(0, b"hello"))],
            **short,
        ),
        after_accept(
            "a wrong digest",
            "the second file's digest does not match: hash mismatch, the first file (verified) is kept",
            TWO,
            [*verified([A]), given_bytes(patterned(1000)), given(file_end(1, bytes(flipped)))],
            error_id=HASH_MISMATCH,
            kept=[A],
            message="hash mismatch: b.bin",
        ),
        after_accept(
            "file-end out of order",
            "file-end for file 1 while file 0 is arriving",
            TWO,
            [given_bytes(hexed(ABC)), given(file_end(1, ABC))],
        ),
        after_accept(
            "file-end twice", "file 0's file-end again after it was verified", TWO, [*verified([A]), fe_abc], kept=[A]
        ),
        after_accept(
            "file-end beyond the offer",
            "an index past the last file",
            [A],
            [given_bytes(hexed(ABC)), given(file_end(1, ABC))],
        ),
        after_accept(
            "done from the sender",
            "a type the receiver never gets",
            [A],
            [given_bytes(hexed(ABC)), given({"type": "done"})],
        ),
        after_accept(
            "file-ok from the sender", "a type the receiver never gets", [A], [given({"type": "file-ok", "index": 0})]
        ),
        after_accept(
            "an empty binary message", "a binary message is 1 to 262,144 bytes", [B], [given_bytes(patterned(0), True)]
        ),
        after_accept(
            "a binary message over 262,144 bytes",
            "even when the file could take it",
            [huge],
            [given_bytes(patterned(LARGEST + 1), True)],
        ),
        after_accept(
            "a text message over 262,144 bytes",
            "a message is at most 262,144 bytes of UTF-8",
            [A],
            [given(file_end(0, ABC), True, size=LARGEST + 1)],
        ),
        after_accept("an unknown type", "a type nobody sends", [A], [given({"type": "thanks"}, True)]),
        after_accept("not JSON", "a text message is a JSON object", [A], [given_text('{"type": "file-end"')]),
        after_accept("JSON but no object", "a text message is a JSON object", [A], [given_text("[]")]),
        after_accept(
            "a digest in capitals",
            "a digest is 64 lower-case hex digits",
            [A],
            [given_bytes(hexed(ABC)), given(capitals, True)],
        ),
        after_accept(
            "an error without an id",
            "every error carries its error_id",
            [A],
            [given({"type": "error", "message": "oops"}, True)],
        ),
        after_accept(
            "a cancel with a reason too long",
            "a reason is at most 200 characters",
            [A],
            [given({"type": "cancel", "reason": "r" * 201}, True)],
        ),
    ]


def receiver_offers() -> list[Json]:
    x, xy = file("x", b"1"), file("x/y", b"2")
    c = file("c", b"c")
    v1 = {"type": "manifest", "version": 1, "files": [listed(A)]}
    return [
        refused_offer(
            "a v1 manifest",
            "a manifest of protocol v1 (no count): the peer is older",
            v1,
            error_id="old-protocol",
            invalid=True,
        ),
        refused_offer(
            "a manifest without a version",
            "no version is an old peer's",
            {"type": "manifest", "count": 1, "files": [listed(A)]},
            error_id="old-protocol",
            invalid=True,
        ),
        refused_offer(
            "a v3 manifest",
            "a manifest of a later protocol: the peer is newer",
            manifest([A], version=3, chunks=64),
            error_id="new-protocol",
            invalid=True,
        ),
        refused_offer("a version that is a string", "version is an integer", manifest([A], version="2"), invalid=True),
        refused_offer(
            "a manifest without a count",
            "v2 manifests say how many files",
            {"type": "manifest", "version": 2, "files": [listed(A)]},
            invalid=True,
        ),
        refused_offer("a count of 0", "an offer has 1 to 10,000 files", manifest([A], count=0), invalid=True),
        refused_offer("too many files", "an offer has at most 10,000 files", manifest([A], count=10_001), invalid=True),
        refused_offer(
            "more files than the count",
            "the first part lists at most count files",
            manifest(TWO, count=1),
            invalid=True,
        ),
        refused_offer("an empty first part", "every part lists at least one file", manifest([], count=1), invalid=True),
        refused_offer(
            "an empty manifest-more",
            "every part lists at least one file",
            manifest([A], count=2),
            more([]),
            invalid=True,
        ),
        refused_offer(
            "parts beyond the count",
            "manifest-more parts bring more than count files",
            manifest([A], count=2),
            more([B, c]),
        ),
        refused_offer(
            "a manifest-more after the offer was whole",
            "once count files arrived the manifest is over",
            manifest([A]),
            more([B]),
        ),
        refused(
            "data before the manifest is whole",
            "a file's bytes while manifest-more parts are due",
            [given(manifest([A], count=2)), given_bytes(hexed(ABC))],
        ),
        refused_offer("a name twice", "names are unique", manifest([A, file("a.txt", b"xyz")])),
        refused_offer(
            "a name twice across parts", "names are unique over the whole offer", manifest([A], count=2), more([A])
        ),
        refused_offer("a name beside a folder of the same name", "x and x/y cannot both be saved", manifest([x, xy])),
        refused_offer("a folder before a name of the same name", "x/y then x", manifest([xy, x])),
        refused_offer(
            "a deep folder of a name", "a/b beside a/b/c/d", manifest([file("a/b/c/d", b"2"), file("a/b", b"1")])
        ),
        refused_offer(
            "a folder of a name across parts", "x in one part, x/y in the next", manifest([x], count=2), more([xy])
        ),
    ]


BAD_NAMES = [
    ("..", "no .. part"),
    ("../x", "no .. part"),
    ("a/../../x", "no .. part"),
    ("/etc/x", "no absolute path (an empty first part)"),
    ("./x", "no . part"),
    ("a//x", "no empty part"),
    ("x/", "no empty last part"),
    ("", "no empty name"),
    ("a\\..\\x", "no backslash"),
    ("x\n", "no control character"),
    ("a\x7fb", "no DEL"),
    ("a\x85b", "no C1 control"),
    ("a\x9b31m", "no C1 control (CSI)"),
    ("report\u202egpj.exe", "no bidirectional override"),
    ("\u2066x\u2069", "no bidirectional isolate"),
    ("\ud800x", "no lone surrogate"),
    ("n" * 1025, "at most 1,024 characters"),
]
BAD_ENTRIES = [
    ("a negative size", {"name": "a", "size": -1, "type": ""}, "a size is 0 to 2^53-1"),
    ("a size of 1.5", {"name": "a", "size": 1.5, "type": ""}, "a size is an integer"),
    ("a size of 2^53", {"name": "a", "size": 2**53, "type": ""}, "a size is at most 2^53-1"),
    ("a size that is a string", {"name": "a", "size": "1", "type": ""}, "a size is a number"),
    ("a file without a type", {"name": "a", "size": 1}, "every file has a type"),
    ("a type of 256 characters", {"name": "a", "size": 1, "type": "t" * 256}, "a type is at most 255 characters"),
]


def shown(name: str) -> str:
    if not name:
        return "an empty name"
    if len(name) > 30:
        return f"a name of {len(name):,} characters"
    return f"the name {json.dumps(name)}"


def receiver_entries() -> list[Json]:
    names = [
        refused_offer(shown(name), why, manifest([{"name": name, "size": 1, "type": ""}]), invalid=True)
        for name, why in BAD_NAMES
    ]
    return names + [refused_offer(label, why, manifest([entry]), invalid=True) for label, entry, why in BAD_ENTRIES]


# -- the sender ----------------------------------------------------------------------

ACCEPT = given({"type": "accept"})
# Accepted, and the one file "abc" sent: bytes and file-end.
ONE_SENT = [ACCEPT, {"out_bytes": hexed(ABC)}, sent(file_end(0, ABC))]


def delivering(files: list[Json]) -> list[Json]:
    """Each file's bytes and file-end, then the receiver's file-ok."""
    steps = []
    for index, entry in enumerate(files):
        data = content(entry)
        steps += [{"out_bytes": bytes_of(entry)}] if data else []
        steps += [sent(file_end(index, data)), given({"type": "file-ok", "index": index})]
    return steps


def delivered(name: str, about: str, files: list[Json]) -> Json:
    steps = [OFFER, ACCEPT, *delivering(files), given({"type": "done"}), CLOSED_BY_MACHINE]
    return sender(name, about, files, steps, sender_ending("delivered", delivered=len(files)))


def sender_good() -> list[Json]:
    many = {"name": "folder/file-{}.txt", "size": 0, "type": "text/plain", "repeat": 6500}
    several = [A, B, EMPTY, file("d.txt", b"\x00")]
    return [
        delivered("one file", "manifest, accept, the bytes and file-end, file-ok, done: the sender closes", [A]),
        delivered("an empty file", "no binary message, only file-end", [EMPTY]),
        delivered("several files", "each file after the previous one's file-ok", several),
        delivered("files in folders", "names are relative paths", FOLDERS),
        delivered(
            "a file of a block and a byte", "the digest covers two blocks; the sender cuts messages as it likes", [BIG]
        ),
        sender(
            "an offer larger than one message",
            "6,500 files do not fit 262,144 bytes: the manifest is split into manifest-more parts",
            [many],
            [OFFER, given({"type": "decline"}), CLOSED_BY_MACHINE],
            sender_ending("declined"),
        ),
    ]


def sender_endings() -> list[Json]:
    cannot_save = {"type": "cancel", "reason": "the receiver cannot save these files", "error_id": "cannot-save"}
    mismatch = {"type": "error", "message": "hash mismatch: a.txt", "error_id": HASH_MISMATCH}
    cancel = {"type": "cancel", "reason": "changed my mind"}
    return [
        sender(
            "declined",
            "decline ends it; the sender closes",
            [A],
            [OFFER, given({"type": "decline"}), CLOSED_BY_MACHINE],
            sender_ending("declined"),
        ),
        sender(
            "cancelled while offering",
            "the receiver cancels instead of answering",
            [A],
            [OFFER, given({"type": "cancel", "reason": "no thanks"}), CLOSED_BY_PEER],
            sender_ending("cancelled", "cancelled"),
        ),
        sender(
            "the receiver cannot save",
            "a cancel's error_id is the ending's",
            [A],
            [OFFER, given(cannot_save), CLOSED_BY_PEER],
            sender_ending("cancelled", "cannot-save"),
        ),
        sender(
            "cancelled mid-transfer",
            "a cancel after the last file-end, before its file-ok: not delivered",
            [A],
            [OFFER, *ONE_SENT, given({"type": "cancel", "reason": "stop"}), CLOSED_BY_PEER],
            sender_ending("cancelled", "cancelled"),
        ),
        sender(
            "a hash mismatch",
            "the receiver's error hash-mismatch: failed, with that id",
            [A],
            [OFFER, *ONE_SENT, given(mismatch), CLOSED_BY_PEER],
            sender_ending("failed", HASH_MISMATCH),
        ),
        sender(
            "the receiver leaves before file-ok",
            "a channel that closes before done is a failure; not delivered",
            [A],
            [OFFER, *ONE_SENT, CLOSED_BY_PEER],
            sender_ending("failed", "peer-left"),
        ),
        sender(
            "the receiver leaves after the last file-ok",
            "no done: a failure, though file 0 was delivered",
            [A],
            [OFFER, ACCEPT, *delivering([A]), CLOSED_BY_PEER],
            sender_ending("failed", "peer-left", 1),
        ),
        sender(
            "its person cancels while offering",
            "cancel(reason): the receiver is told, the channel closed",
            [A],
            [OFFER, {"cancel": "changed my mind"}, sent(cancel), CLOSED_BY_MACHINE],
            sender_ending("cancelled", "cancelled"),
        ),
        sender(
            "its person cancels mid-transfer",
            "cancel after file 0's file-end, before its file-ok; file 1's data may or may not have gone out",
            TWO,
            [OFFER, *ONE_SENT, {"cancel": "changed my mind"}, sent(cancel, DATA), CLOSED_BY_MACHINE],
            sender_ending("cancelled", "cancelled"),
        ),
        sender(
            "no answer in time",
            "the receiver never answers: the sender gives up after its answer limit and says so",
            [A],
            [OFFER, sent({"type": "cancel", "error_id": "offer-timeout"}), CLOSED_BY_MACHINE],
            sender_ending("cancelled", "offer-timeout"),
            limits={"answer_seconds": 0.3},
        ),
    ]


def sender_refuses(name: str, about: str, files: list[Json], steps: list[Json], **options: Any) -> Json:
    """The sender tells a hostile receiver ``error protocol-error`` and closes; ``skip``
    the data it may have pipelined, ``delivered`` the files it counted before, ``offer``
    its out_manifest step."""
    told = sent({"type": "error", "error_id": PROTOCOL_ERROR}, options.get("skip"))
    outcome = sender_ending("failed", PROTOCOL_ERROR, options.get("delivered", 0))
    return sender(name, about, files, [options.get("offer", OFFER), *steps, told, CLOSED_BY_MACHINE], outcome)


def sender_hostile() -> list[Json]:
    ok0 = given({"type": "file-ok", "index": 0})
    return [
        sender_refuses(
            "file-ok before its file-end was sent",
            "accept and file-ok 0 in one burst: a file-ok counts only for a file-end already sent",
            [A],
            [ACCEPT, ok0],
        ),
        sender_refuses("done right after accept", "done before any file-ok", [A], [ACCEPT, given({"type": "done"})]),
        sender_refuses("file-ok while offering", "the answer is accept or decline", [A], [ok0]),
        sender_refuses("done while offering", "the answer is accept or decline", [A], [given({"type": "done"})]),
        sender_refuses(
            "file-ok out of order",
            "file-ok 1 while file 0 is unverified",
            TWO,
            [*ONE_SENT, given({"type": "file-ok", "index": 1})],
            skip=DATA,
        ),
        sender_refuses(
            "file-ok beyond the offer",
            "an index past the last file",
            [A],
            [*ONE_SENT, given({"type": "file-ok", "index": 1})],
        ),
        sender_refuses(
            "file-ok twice", "file-ok 0 again after it was counted", TWO, [*ONE_SENT, ok0, ok0], delivered=1, skip=DATA
        ),
        sender_refuses(
            "done before the last file-ok",
            "done after file-ok 0 of two files",
            TWO,
            [*ONE_SENT, ok0, given({"type": "done"})],
            delivered=1,
            skip=DATA,
        ),
        sender_refuses(
            "done instead of file-ok",
            "done after the file-end, without its file-ok",
            [A],
            [*ONE_SENT, given({"type": "done"})],
        ),
        sender_refuses("accept twice", "a second accept", [A], [*ONE_SENT, ACCEPT]),
        sender_refuses(
            "decline after accept", "the answer is given once", [A], [*ONE_SENT, given({"type": "decline"})]
        ),
        sender_refuses("an unknown message", "a type nobody sends", [A], [*ONE_SENT, given({"type": "thanks"}, True)]),
        sender_refuses("not JSON", "a text message is a JSON object", [A], [*ONE_SENT, given_text("file-ok 0")]),
        sender_refuses(
            "binary from the receiver", "a receiver sends no binary message", [A], [*ONE_SENT, given_bytes(hexed(ABC))]
        ),
        sender_refuses(
            "a manifest from the receiver", "a type the sender never gets", [A], [*ONE_SENT, given(manifest([A]))]
        ),
        sender_refuses(
            "file-end from the receiver", "a type the sender never gets", [A], [*ONE_SENT, given(file_end(0, ABC))]
        ),
        sender_refuses(
            "a file-ok index that is a string",
            "an index is an integer",
            [A],
            [*ONE_SENT, given({"type": "file-ok", "index": "0"}, True)],
        ),
        sender_refuses(
            "an error without an id",
            "every error carries its error_id",
            [A],
            [*ONE_SENT, given({"type": "error", "message": "oops"}, True)],
        ),
    ]


# -- resuming and reconnecting (4.6) ------------------------------------------------

# A file of a block and 1,000 bytes, so that a claim of its first block leaves a tail.
PART = file("part.bin", size=BLOCK + 1000)
TWO_BLOCKS = file("two.bin", size=2 * BLOCK + 1)
RECONNECT: Json = {"reconnect": True}


def claim(index: int, data: bytes, blocks: int) -> Json:
    """A resume entry: the first ``blocks`` blocks of ``data`` are held (their digest, 4.6)."""
    return {"index": index, "blocks": blocks, "digest": digest(data[: blocks * BLOCK])}


def resume_accept(entries: list[Json], count: int | None = None) -> Json:
    return {"type": "accept", "resume_count": len(entries) if count is None else count, "resume": entries}


def file_from(index: int, block: int) -> Json:
    return {"type": "file-from", "index": index, "block": block}


def tail(entry: Json, start: int) -> Json:
    """A file's bytes from ``start`` on, as a bytes value."""
    if "hex" in entry:
        return hexed(content(entry)[start:])
    return patterned(entry["size"] - start, start)


def pieces(entry: Json, start: int = 0, end: int | None = None) -> list[Json]:
    """A file's bytes from ``start`` to ``end``, as a sender sends them: binary messages of
    at most 262,144 bytes."""
    data, end = content(entry), entry["size"] if end is None else end
    return [
        given_bytes(
            hexed(data[at : min(at + LARGEST, end)]) if "hex" in entry else patterned(min(LARGEST, end - at), at)
        )
        for at in range(start, end, LARGEST)
    ]


def held(index: int, spec: Json) -> Json:
    return {"index": index, "bytes": spec}


def resumed(name: str, about: str, files: list[Json], holdings: list[Json], accept: Json, steps: list[Json]) -> Json:
    """A receiver offered ``files`` by a sender that resumes, holding ``holdings``: it
    answers ``accept`` and takes ``steps``, and keeps every file."""
    told = [given(manifest(files, resume=True)), {"decide": "accept"}, sent(accept), *steps, *DONE]
    return receiver(name, about, told, ending("received", files=files), **holding(holdings))


def holding(holdings: list[Json]) -> Json:
    return {"holdings": holdings} if holdings else {}


def taken_from(index: int, entry: Json, block: int) -> list[Json]:
    """A receiver told file-from ``block``, then sent the rest of the file, verifies it."""
    start = min(block * BLOCK, entry["size"])
    ended = given(file_end(index, content(entry)))
    return [given(file_from(index, block)), *pieces(entry, start), ended, sent({"type": "file-ok", "index": index})]


def refused_resume(
    name: str, about: str, files: list[Json], holdings: list[Json], accept: Json, steps: list[Json]
) -> Json:
    """A receiver that accepted a resuming offer with ``accept`` refuses what follows."""
    told = [given(manifest(files, resume=True)), {"decide": "accept"}, sent(accept), *steps, *failure()]
    return receiver(name, about, told, ending("failed", PROTOCOL_ERROR), **holding(holdings))


def receiver_resume() -> list[Json]:
    part, abc = content(PART), ABC
    two = content(TWO_BLOCKS)
    holds_abc = [held(0, hexed(abc))]
    accept_abc = resume_accept([claim(0, abc, 1)])
    nothing = resume_accept([])
    ok = sent({"type": "file-ok", "index": 0})
    return [
        resumed(
            "it holds some of the files",
            "holdings give the accept its entries: a block and 500 bytes count as the block, 500 bytes of a "
            "file of 1,000 as nothing, a whole file of 3 bytes as its one block; file-from k keeps them and only "
            "the rest comes; file-end covers the whole file",
            [PART, B, A],
            [held(0, patterned(BLOCK + 500)), held(1, patterned(500)), held(2, hexed(abc))],
            resume_accept([claim(0, part, 1), claim(2, abc, 1)]),
            [*taken_from(0, PART, 1), *sending(1, B), sent({"type": "file-ok", "index": 1})]
            + [given(file_from(2, 1)), given(file_end(2, abc)), sent({"type": "file-ok", "index": 2})],
        ),
        resumed(
            "the sender's file differs from what it holds",
            "file-from 0: what was held is dropped and the whole file comes",
            [PART],
            [held(0, patterned(BLOCK, 7))],
            resume_accept([claim(0, pattern(BLOCK, 7), 1)]),
            taken_from(0, PART, 0),
        ),
        resumed(
            "it holds nothing",
            "to a sender that resumes the accept always says how many entries: 0",
            [A],
            [],
            nothing,
            [*sending(0, A), ok],
        ),
        receiver(
            "a sender that does not resume",
            "a manifest without resume: a bare accept, whatever is held, and every file whole",
            [given(manifest([A])), {"decide": "accept"}, sent({"type": "accept"}, absent=["resume_count", "resume"])]
            + [*sending(0, A), ok, *DONE],
            ending("received", files=[A]),
            holdings=holds_abc,
        ),
        refused_resume(
            "bytes before file-from",
            "a file it claimed gets file-from before any byte",
            [A],
            holds_abc,
            accept_abc,
            [given_bytes(hexed(abc))],
        ),
        refused_resume(
            "file-end before file-from",
            "a file it claimed gets file-from before its file-end",
            [A],
            holds_abc,
            accept_abc,
            [given(file_end(0, abc))],
        ),
        refused_resume(
            "file-from of another file",
            "file-from names the current file",
            TWO,
            holds_abc,
            accept_abc,
            [given(file_from(1, 0))],
        ),
        refused_resume(
            "file-from at a block it did not claim",
            "block is 0 or the entry's: 1 of a claim of 2 is neither",
            [TWO_BLOCKS],
            [held(0, patterned(2 * BLOCK))],
            resume_accept([claim(0, two, 2)]),
            [given(file_from(0, 1))],
        ),
        refused_resume(
            "file-from for a file it did not claim",
            "no entry, no file-from",
            [A],
            [],
            nothing,
            [given(file_from(0, 0))],
        ),
        refused_resume(
            "file-from twice",
            "once the file-from is in, the bytes or the file-end come",
            [A],
            holds_abc,
            accept_abc,
            [given(file_from(0, 1)), given(file_from(0, 1))],
        ),
        resumed(
            "a reconnection",
            "the channel breaks after a block and 500 bytes; on the new one the receiver says continue with the "
            "whole block it kept, and file-from 1 brings the rest",
            [PART],
            [],
            nothing,
            [*pieces(PART, 0, BLOCK + 500), RECONNECT, sent({"type": "continue", **claim(0, part, 1)})]
            + taken_from(0, PART, 1),
        ),
        resumed(
            "a reconnection before the file-from",
            "the channel breaks right after accept: continue claims what is held of file 0, and file 1, claimed "
            "in the accept, still gets its file-from",
            [PART, A],
            [held(0, patterned(BLOCK + 500)), held(1, hexed(abc))],
            resume_accept([claim(0, part, 1), claim(1, abc, 1)]),
            [RECONNECT, sent({"type": "continue", **claim(0, part, 1)}), *taken_from(0, PART, 1)]
            + [given(file_from(1, 1)), given(file_end(1, abc)), sent({"type": "file-ok", "index": 1})],
        ),
    ]


RESUMING_OFFER: Json = {"out_manifest": {"resume": True}}


def delivering_from(files: list[Json], blocks: dict[int, int]) -> list[Json]:
    """Each file from the block its file-from says (``blocks``, by index) or whole, then its
    file-end and the receiver's file-ok."""
    steps = []
    for index, entry in enumerate(files):
        start = 0
        if index in blocks:
            steps.append(sent(file_from(index, blocks[index])))
            start = min(blocks[index] * BLOCK, entry["size"])
        steps += [{"out_bytes": tail(entry, start)}] if start < entry["size"] else []
        steps += [sent(file_end(index, content(entry))), given({"type": "file-ok", "index": index})]
    return steps


def delivered_from(name: str, about: str, files: list[Json], answer: list[Json], blocks: dict[int, int]) -> Json:
    steps = [RESUMING_OFFER, *answer, *delivering_from(files, blocks), given({"type": "done"}), CLOSED_BY_MACHINE]
    return sender(name, about, files, steps, sender_ending("delivered", delivered=len(files)))


def sender_resume() -> list[Json]:
    part, abc = content(PART), ABC
    second = file("second.bin", size=BLOCK + 1000)
    b, c = file("b.txt", b"b"), file("c.txt", b"c")
    data_out = ["file-from", *DATA]
    # Accepted, file 0 sent whole, and the channel broken before its file-ok.
    broken = [given(resume_accept([])), {"out_bytes": patterned(PART["size"])}, sent(file_end(0, part)), RECONNECT]

    def refuses(name: str, about: str, files: list[Json], steps: list[Json], **options: Any) -> Json:
        return sender_refuses(name, about, files, steps, offer=RESUMING_OFFER, **options)

    return [
        delivered_from(
            "resume entries honoured",
            "the manifest says resume; file-from 1: only the bytes after the first block go, file-end is the whole "
            "file's; a file without an entry comes whole, without file-from",
            [PART, B],
            [given(resume_accept([claim(0, part, 1)]))],
            {0: 1},
        ),
        delivered_from(
            "an entry whose digest differs",
            "the sender's first block is not the receiver's: file-from 0, and every byte",
            [PART],
            [given(resume_accept([claim(0, pattern(BLOCK, 7), 1)]))],
            {0: 0},
        ),
        delivered_from(
            "entries in accept and accept-more",
            "resume_count 2, one entry in accept and one in accept-more: sending starts once both came",
            [PART, second],
            [
                given(resume_accept([claim(0, part, 1)], count=2)),
                given({"type": "accept-more", "resume": [claim(1, part, 1)]}),
            ],
            {0: 1, 1: 1},
        ),
        delivered_from(
            "a whole file held",
            "an entry of every block (the last one short): file-from with all of them, no bytes, file-end",
            [A],
            [given(resume_accept([claim(0, abc, 1)]))],
            {0: 1},
        ),
        delivered_from(
            "an old receiver",
            "a bare accept to a manifest that says resume: every file whole, no file-from",
            [PART],
            [ACCEPT],
            {},
        ),
        refuses(
            "resume entries out of order",
            "entries come in ascending index",
            [PART, second],
            [given(resume_accept([claim(1, part, 1), claim(0, part, 1)]))],
        ),
        refuses(
            "a resume entry past the offer",
            "an entry names a file of the offer",
            [A],
            [given(resume_accept([claim(1, abc, 1)]))],
        ),
        refuses(
            "a resume entry of more blocks than the file",
            "a file of 3 bytes has one block",
            [A],
            [given(resume_accept([{**claim(0, abc, 1), "blocks": 2}]))],
        ),
        refuses(
            "a resume entry for an empty file",
            "an empty file has no block to claim",
            [EMPTY],
            [given(resume_accept([{**claim(0, abc, 1)}]))],
        ),
        refuses(
            "an accept-more after every entry came",
            "resume_count 1, one entry in accept, then accept-more: one too many; the file's start may be out",
            [A, b],
            [given(resume_accept([claim(0, abc, 1)])), given({"type": "accept-more", "resume": [claim(1, b"b", 1)]})],
            skip=data_out,
        ),
        refuses(
            "more entries in accept-more than announced",
            "resume_count 2, then accept-more brings the third",
            [A, b, c],
            [given(resume_accept([claim(0, abc, 1)], count=2))]
            + [given({"type": "accept-more", "resume": [claim(1, b"b", 1), claim(2, b"c", 1)]})],
        ),
        refuses(
            "an accept-more before the accept",
            "accept-more continues an accept",
            [A],
            [given({"type": "accept-more", "resume": [claim(0, abc, 1)]})],
        ),
        refuses(
            "something else while entries are due",
            "resume_count 2 and one entry: until the second comes, only accept-more",
            [A, b],
            [given(resume_accept([claim(0, abc, 1)], count=2)), given({"type": "file-ok", "index": 0})],
        ),
        refuses(
            "an accept with more entries than its resume_count",
            "resume_count 1 and two entries",
            [A, b],
            [given(resume_accept([claim(0, abc, 1), claim(1, b"b", 1)], count=1), True)],
        ),
        refuses(
            "resume entries without resume_count",
            "an accept with resume says how many",
            [A],
            [given({"type": "accept", "resume": [claim(0, abc, 1)]}, True)],
        ),
        sender(
            "a reconnection",
            "the channel breaks after file 0's file-end, before its file-ok; on the new one continue says the "
            "receiver kept its first block: file-from 1, the rest, file-end again",
            [PART],
            [RESUMING_OFFER, *broken, given({"type": "continue", **claim(0, part, 1)})]
            + [*delivering_from([PART], {0: 1}), given({"type": "done"}), CLOSED_BY_MACHINE],
            sender_ending("delivered", delivered=1),
        ),
        sender(
            "a reconnection, and the receiver's blocks differ",
            "continue claims a block that is not the sender's: file-from 0, and the whole file again",
            [PART],
            [RESUMING_OFFER, *broken, given({"type": "continue", **claim(0, pattern(BLOCK, 7), 1)})]
            + [*delivering_from([PART], {0: 0}), given({"type": "done"}), CLOSED_BY_MACHINE],
            sender_ending("delivered", delivered=1),
        ),
        refuses(
            "continue of more blocks than the file",
            "a file of a block and 1,000 bytes has two blocks",
            [PART],
            [*broken, given({"type": "continue", **claim(0, part, 2), "blocks": 3})],
        ),
        refuses(
            "continue past the offer",
            "continue names a file of the offer, at most the one after the last file-end sent",
            [PART],
            [*broken, given({"type": "continue", "index": 1, "blocks": 0, "digest": digest(b"")})],
        ),
        refuses(
            "continue before a verified file",
            "file 0 was verified: continue cannot go back to it",
            TWO,
            [given(resume_accept([])), *delivering(TWO[:1]), {"out_bytes": bytes_of(B)}]
            + [sent(file_end(1, content(B))), RECONNECT, given({"type": "continue", **claim(0, abc, 1)})],
            delivered=1,
        ),
        refuses(
            "something else first on the new channel",
            "the receiver's first word on a new channel is continue",
            [PART],
            [*broken, given({"type": "file-ok", "index": 0})],
        ),
    ]


def transcripts_section() -> Json:
    groups = [receiver_good, receiver_endings, receiver_consent, receiver_per_file, receiver_offers, receiver_entries]
    groups += [receiver_resume, sender_good, sender_endings, sender_hostile, sender_resume]
    return {"_about": ABOUT, "cases": [one for group in groups for one in group()]}
