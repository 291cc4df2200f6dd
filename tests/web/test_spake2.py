"""web/js/protocol/spake2.js against docs/protocol-vectors.json ``pake`` and
``hostile_points``, in Chromium (the runner is tests/web/harness/spake2.js)."""

from __future__ import annotations

import copy
from typing import Any

from spake2.ed25519_basic import arbitrary_element  # type: ignore[import-untyped]

from helpers.browser import run_harness
from helpers.vectors import VECTORS


async def test_the_written_out_blinding_points_are_the_seeds_points(page: Any) -> None:
    """spake2.js writes M and N out rather than deriving them in every page: derive them
    here from the seeds, with the package's own arbitrary_element, and compare."""
    derived = {seed: arbitrary_element(seed.encode()).to_bytes().hex() for seed in ("M", "N")}
    assert await run_harness(page, "spake2.js", "blinding") == derived


async def test_js_pake_matches_vectors(page: Any) -> None:
    assert await run_harness(page, "spake2.js", "runPake", VECTORS["pake"]) == []


async def test_js_refuses_every_hostile_point_by_the_check_named(page: Any) -> None:
    assert await run_harness(page, "spake2.js", "runHostile", VECTORS["hostile_points"]) == []


async def test_js_spake2_runners_can_fail(page: Any) -> None:
    pake = copy.deepcopy(VECTORS["pake"])
    pake["cases"] = pake["cases"][:1]
    pake["cases"][0]["confirm_A"] = "00" * 32
    failures = await run_harness(page, "spake2.js", "runPake", pake)
    assert len(failures) == 1 and "confirm_A" in failures[0], failures
    hostile = copy.deepcopy(VECTORS["hostile_points"])
    good = VECTORS["pake"]["cases"][0]
    hostile["cases"] = [
        {**hostile["cases"][0], "name": "a good message", "code": good["code"], "message": good["msg_A"]},
        {**hostile["cases"][0], "name": "another check", "refused_by": "identity"},
    ]
    failures = await run_harness(page, "spake2.js", "runHostile", hostile)
    assert failures == [
        "a good message: Spake2 accepted, not length",
        "a good message: Handshake accepted",
        "another check: Spake2 length, not identity",
    ], failures
