"""web/js/protocol/seal.js against docs/protocol-vectors.json ``seal``, in Chromium
(the runner is tests/web/harness/seal.js)."""

from __future__ import annotations

import copy
from typing import Any

from helpers.browser import run_harness
from helpers.vectors import VECTORS


async def test_js_seal_matches_vectors(page: Any) -> None:
    assert await run_harness(page, "seal.js", "runSeal", VECTORS["seal"]) == []


async def test_js_seal_runner_can_fail(page: Any) -> None:
    broken = copy.deepcopy(VECTORS["seal"])
    broken["accepted"] = broken["accepted"][:1]
    broken["accepted"][0]["iv"] = "00" * 12
    broken["tampered"] = [
        {**broken["tampered"][0], "why": "the good data", "data": VECTORS["seal"]["accepted"][0]["data"]}
    ]
    failures = await run_harness(page, "seal.js", "runSeal", broken)
    assert len(failures) == 2 and failures[1] == "opened: the good data", failures


async def test_constant_time_compare_is_equality(page: Any) -> None:
    pairs = [([1, 2, 3], [1, 2, 3]), ([1, 2, 3], [1, 2, 4]), ([0] * 32, [0] * 31), ([], []), ([255], [127])]
    assert await run_harness(page, "seal.js", "compared", pairs) == [True, False, False, True, False]
