"""bench/: ``python -m bench`` runs every section end to end, at sizes small enough for the suite.

The figures themselves are not checked (a loaded machine would make that a coin toss);
that every section produces every row, beside its baseline, and writes both files is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--runs",
    "1",
    "--size",
    "3",
    "--warmup",
    "1",
    "--pairings",
    "10",
    "--memory-size",
    "2",
    "--attack-seconds",
    "1",
    "--turn-size",
    "2",
    "--disk-sizes",
    "8,16",
    # Big enough that the break and the blip land mid-transfer (the bench asserts they do).
    "--resume-size",
    "64",
]


def bench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=1200)


# Every section, browsers and blips included: minutes, not seconds.
@pytest.mark.timeout(1300)
def test_every_section_runs_and_writes_the_table_and_the_json(tmp_path: Path) -> None:
    out, table = tmp_path / "results.json", tmp_path / "RESULTS.md"
    run = bench(*TINY, "--json", str(out), "--markdown", str(table))
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    rows = {(r["section"], r["name"]) for r in results}
    for pair in ("Chromium → Chromium", "Python → Python", "Python → Chromium", "Chromium → Python"):
        assert ("throughput", pair) in rows
    assert {r["section"] for r in results} == {
        "throughput",
        "signalling",
        "pool",
        "memory",
        "attack",
        "pake",
        "turn",
        "browser-disk",
        "resume",
    }
    # Through coturn beside direct through NAT, in the lab, in the same run.
    (turn,) = [r for r in results if r["section"] == "turn"]
    assert "relayed via coturn" in turn["name"] and "direct through NAT" in turn["name"], turn
    assert len([r for r in results if r["section"] == "attack"]) == 12
    for result in results:
        # How long a blip takes to heal has nothing to be beside.
        healing = result["section"] == "resume" and "heal after the lift" in result["name"]
        assert result["ours"] > 0 and (result["baseline"] is not None or healing), result
    for result in results:
        assert result["name"] in run.stdout
    assert "| throughput | Python → Python |" in table.read_text()
    assert "cores" in table.read_text()


def test_bad_options_are_refused_with_a_reason(tmp_path: Path) -> None:
    for args, reason in (
        (["--only", "speed"], "choose from"),
        (["--runs", "0"], "at least 1"),
        (["--pairings", "10,x"], "comma-separated"),
    ):
        run = bench(*args, "--json", str(tmp_path / "r.json"))
        assert run.returncode == 2 and reason in run.stderr, (args, run.stderr)
        assert not (tmp_path / "r.json").exists()
