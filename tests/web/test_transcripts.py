"""The transfer transcripts of docs/protocol-vectors.json against the page's own
machines (web/js/transfer/machines.js), each over an in-memory channel in Chromium, no
network: the runner is tests/web/harness/transcripts.js."""

from __future__ import annotations

import copy
from typing import Any, AsyncIterator

import pytest

from helpers.browser import new_context, run_harness, serve_harness
from helpers.server import running_server
from helpers.transcripts import CASES


@pytest.fixture(scope="module")
async def page(browser: Any) -> AsyncIterator[Any]:
    """One page for every case (each runs on its own channel and machine): the server
    only serves the modules."""
    async with running_server() as server:
        context = await new_context(browser)
        await serve_harness(context)
        page = await context.new_page()
        await page.goto(server.url + "/")
        yield page
        await context.close()


async def run(page: Any, case: dict[str, Any]) -> list[str]:
    problems: list[str] = await run_harness(page, "transcripts.js", "runTranscript", case)
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_the_page_follows_the_transcript(page: Any, case: dict[str, Any]) -> None:
    assert await run(page, case) == []


def changed(name: str, change: Any) -> dict[str, Any]:
    case = copy.deepcopy(next(c for c in CASES if c["name"] == name))
    change(case)
    return case


def resuming(case: dict[str, Any]) -> None:
    case["steps"][0]["in"]["resume"] = True


def other_holding(case: dict[str, Any]) -> None:
    case["holdings"][0]["bytes"]["start"] = 3


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        (changed("receiver: one file", lambda c: c["outcome"].update(state="failed")), "expected state failed"),
        (changed("receiver: one file", lambda c: c["outcome"]["kept"][0].update(hex="616264")), "expected kept"),
        (changed("receiver: one file", lambda c: c["steps"][2]["out"].update(type="decline")), "expected out"),
        (changed("sender: one file", lambda c: c["outcome"].update(delivered=[])), "expected delivered"),
        (changed("sender: one file", lambda c: c["steps"][2]["out_bytes"].update(hex="616264")), "differ"),
        (changed("receiver: data before accept", lambda c: c["outcome"].update(error_id="hash-mismatch")), "error_id"),
        # An out step left off: the machine sent more than the case takes.
        (changed("receiver: one file", lambda c: c["steps"].pop(6)), "sent more than the case takes"),
        (changed("receiver: a sender that does not resume", resuming), "expected no resume"),
        (changed("sender: a reconnection", lambda c: c["steps"].pop(3)), "sent on the lost channel"),
        (changed("receiver: it holds some of the files", other_holding), "expected out"),
    ],
    ids=[
        "state",
        "kept bytes",
        "out",
        "delivered",
        "out bytes",
        "error id",
        "an output left over",
        "absent",
        "left on the lost channel",
        "holdings",
    ],
)
async def test_the_runner_can_fail(page: Any, case: dict[str, Any], problem: str) -> None:
    """A case changed to be wrong is reported, or the test above proves nothing."""
    problems = await run(page, case)
    assert len(problems) == 1 and problem in problems[0], problems
