"""web/js/protocol/protocol.js against docs/protocol-vectors.json, run in Chromium
(the runner is tests/web/harness/protocol.js)."""

from __future__ import annotations

from typing import Any

from helpers.browser import run_harness
from helpers.vectors import VECTORS


async def test_js_protocol_matches_vectors(page: Any) -> None:
    assert await run_harness(page, "protocol.js", "runVectors", VECTORS) == []


async def test_js_vector_runner_can_fail(page: Any) -> None:
    """A corrupted vector must be reported, or the test above proves nothing."""
    broken = {**VECTORS, "digests": {"cases": [{"size": 1, "digest": "0" * 64}], "prefixes": {"cases": []}}}
    failures = await run_harness(page, "protocol.js", "runVectors", broken)
    assert len(failures) == 1 and failures[0].startswith("digest of 1 bytes")


async def test_what_a_receiver_holds_of_10000_files_splits_to_fit_and_comes_back_whole(page: Any) -> None:
    result = await run_harness(page, "protocol.js", "acceptOf", {"count": 10_000})
    lengths = result["lengths"]
    assert len(lengths) > 1 and max(lengths) <= 262_144 and min(lengths[:-1]) > 262_144 - 100
    assert result["complete"] and result["same"]
