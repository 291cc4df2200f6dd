"""One measured figure beside its same-run baseline and target, and how results are written."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence


@dataclass
class Result:
    """A figure of ours, the baseline measured in the same run, and whether the target holds.

    ``ours`` and ``baseline`` are the medians of ``runs`` and ``baseline_runs`` when
    those are given; ``target`` says in words what ``met`` checked.
    """

    section: str
    name: str
    unit: str
    #: None when there is no figure (what it measures never happened: see ``detail``).
    ours: float | None
    baseline: float | None = None
    target: str = ""
    met: bool | None = None
    runs: list[float] = field(default_factory=list)
    baseline_runs: list[float] = field(default_factory=list)
    #: Further figures worth keeping in the JSON (not shown in the table).
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """ours / baseline."""
        if self.ours is None or self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def _figure(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


HEADER = ("section", "measure", "ours", "baseline", "ratio", "target", "met")


def rows(results: Sequence[Result]) -> list[tuple[str, ...]]:
    table = []
    for r in results:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}×"
        met = {True: "yes", False: "NO", None: ""}[r.met]
        table.append(
            (
                r.section,
                r.name,
                f"{_figure(r.ours)} {r.unit}" if r.ours is not None else "none",
                f"{_figure(r.baseline)} {r.unit}" if r.baseline is not None else "",
                ratio,
                r.target,
                met,
            )
        )
    return table


def text_table(results: Sequence[Result]) -> str:
    """The table for a terminal."""
    table = [HEADER, *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[Result]) -> str:
    table = [HEADER, *rows(results)]
    lines = ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table]
    lines.insert(1, "|" + "---|" * len(HEADER))
    return "\n".join(lines)


def markdown_runs(results: Sequence[Result]) -> str:
    """Every run behind a median, so the spread shows."""
    lines = []
    for r in results:
        if len(r.runs) > 1 or len(r.baseline_runs) > 1:
            ours = ", ".join(_figure(v) for v in r.runs)
            baseline = ", ".join(_figure(v) for v in r.baseline_runs)
            lines.append(f"- {r.section}, {r.name} ({r.unit}): ours {ours}; baseline {baseline}")
    return "\n".join(lines)


def write_json(path: Path, machine: dict[str, Any], settings: dict[str, Any], results: Sequence[Result]) -> None:
    document = {"machine": machine, "settings": settings, "results": [r.as_json() for r in results]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
