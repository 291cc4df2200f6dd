"""The Python side of the protocol against docs/protocol-vectors.json."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from helpers.vectors import VECTORS, pattern
from sendit_protocol.digest import BLOCK_SIZE, BlockDigest, digest_bytes
from sendit_protocol.messages import InvalidMessage, neutralised, parse_message


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


@pytest.mark.parametrize("case", VECTORS["messages"]["valid"], ids=lambda c: c["text"][:40])
def test_message_vectors_parse(case: dict) -> None:
    parsed = parse_message(case["text"])
    if parsed["type"] == "manifest":
        parsed = {**parsed, "files": [dataclasses.asdict(f) for f in parsed["files"]]}
    assert json.loads(json.dumps(parsed)) == case["parsed"]


@pytest.mark.parametrize("case", VECTORS["messages"]["invalid"], ids=lambda c: c["why"])
def test_message_vectors_refused(case: dict) -> None:
    with pytest.raises(InvalidMessage):
        parse_message(case["text"])


@pytest.mark.parametrize("case", VECTORS["shown"]["cases"], ids=lambda c: repr(c["text"]))
def test_shown_vectors(case: dict) -> None:
    assert neutralised(case["text"]) == case["shown"]
