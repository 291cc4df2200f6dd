"""The Python side of the protocol against docs/protocol-vectors.json."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from helpers.vectors import VECTORS, pattern
from sendit_protocol.digest import BLOCK_SIZE, BlockDigest, digest_bytes, prefix_digest
from sendit_protocol.messages import (
    FileEntry,
    InvalidMessage,
    ResumeAssembly,
    check_offer,
    neutralised,
    parse_message,
)


@pytest.mark.parametrize("case", VECTORS["digests"]["cases"], ids=lambda c: str(c["size"]))
def test_digest_vectors(case: dict) -> None:
    data = pattern(case["size"])
    # Independent of peer.transfer.digest: the definition of PROTOCOL.md 3.3 spelled out.
    blocks = [data[i : i + BLOCK_SIZE] for i in range(0, len(data), BLOCK_SIZE)]
    expected = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in blocks)).hexdigest()
    assert case["digest"] == expected
    assert digest_bytes(data) == expected


def test_digest_is_independent_of_chunking() -> None:
    data = pattern(3 * BLOCK_SIZE + 17)
    for chunk in (1, 1000, 65536, BLOCK_SIZE, BLOCK_SIZE + 1):
        digest = BlockDigest()
        for i in range(0, len(data), chunk):
            digest.update(data[i : i + chunk])
        assert digest.hexdigest() == digest_bytes(data), chunk


@pytest.mark.parametrize("case", VECTORS["digests"]["prefixes"]["cases"], ids=lambda c: f"{c['size']}:{c['blocks']}")
def test_prefix_digest_vectors(case: dict) -> None:
    digest = BlockDigest()
    digest.update(pattern(case["size"]))
    assert prefix_digest(digest.hashes[: case["blocks"]]) == case["digest"] or (
        case["blocks"] * BLOCK_SIZE >= case["size"] and digest.hexdigest() == case["digest"]
    )


@pytest.mark.parametrize("case", VECTORS["messages"]["resumes"]["cases"], ids=lambda c: c["why"])
def test_resume_vectors(case: dict) -> None:
    files = [FileEntry(name=f"f{i}", size=size, type="") for i, size in enumerate(case["sizes"])]

    def assemble() -> None:
        assembly = ResumeAssembly(files, parse_message(case["accept"]))
        for text in case["more"]:
            assembly.add(parse_message(text))

    if case["ok"]:
        assemble()
    else:
        with pytest.raises(InvalidMessage):
            assemble()


@pytest.mark.parametrize("case", VECTORS["messages"]["valid"], ids=lambda c: c["text"][:40])
def test_message_vectors_parse(case: dict) -> None:
    parsed = parse_message(case["text"])
    for field in ("files", "resume"):
        if isinstance(parsed.get(field), list):
            parsed = {**parsed, field: [dataclasses.asdict(item) for item in parsed[field]]}
    assert json.loads(json.dumps(parsed)) == case["parsed"]


@pytest.mark.parametrize("case", VECTORS["messages"]["invalid"], ids=lambda c: c["why"])
def test_message_vectors_refused(case: dict) -> None:
    with pytest.raises(InvalidMessage) as refused:
        parse_message(case["text"])
    assert refused.value.error_id == case.get("error_id", "protocol-error")


def _entries(names: list[str]) -> list[FileEntry]:
    return [FileEntry(name=name, size=1, type="") for name in names]


@pytest.mark.parametrize("case", VECTORS["messages"]["offers"]["valid"], ids=lambda c: " ".join(c["names"]))
def test_offer_vectors_pass(case: dict) -> None:
    check_offer(_entries(case["names"]))


@pytest.mark.parametrize("case", VECTORS["messages"]["offers"]["invalid"], ids=lambda c: c["why"])
def test_offer_vectors_refused(case: dict) -> None:
    with pytest.raises(InvalidMessage) as refused:
        check_offer(_entries(case["names"]))
    assert refused.value.error_id == "protocol-error"


@pytest.mark.parametrize("case", VECTORS["shown"]["cases"], ids=lambda c: repr(c["text"]))
def test_shown_vectors(case: dict) -> None:
    assert neutralised(case["text"]) == case["shown"]
