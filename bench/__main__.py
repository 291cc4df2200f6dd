"""``python -m bench``: run the benchmarks, print the table, write the JSON and RESULTS.md.

Run it as ``make bench``: inside a private network namespace holding only loopback, like
the tests, with the project and its test tools installed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

from . import machine
from .config import MB, MIB, SECTIONS, BenchConfig
from .results import Result, markdown_runs, markdown_table, text_table, write_json

HERE = Path(__file__).resolve().parent


def _sections(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SECTIONS)}")
    return chosen


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of whole numbers above 0")
    return counts


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument(
        "--only",
        type=_sections,
        default=SECTIONS,
        metavar="SECTIONS",
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    p.add_argument("--runs", type=_positive, default=5, help="transfers per pair and side; the median is reported (5)")
    p.add_argument("--size", type=_positive, default=200, metavar="MB", help="MB timed per transfer (200)")
    p.add_argument(
        "--warmup",
        type=_positive,
        default=50,
        metavar="MB",
        help="MB sent over the same connection before timing starts (50)",
    )
    p.add_argument(
        "--pairings",
        type=_counts,
        default=(100, 1000),
        metavar="N,N",
        help="concurrent pairings per signalling round (100,1000)",
    )
    p.add_argument(
        "--memory-size",
        type=_positive,
        default=1000,
        metavar="MB",
        help="file size for the peer memory measurement (1000)",
    )
    p.add_argument(
        "--attack-seconds",
        type=_positive,
        default=10,
        metavar="S",
        help="seconds of legit pairings per flood, and as long without it (10)",
    )
    p.add_argument(
        "--turn-size",
        type=_positive,
        default=50,
        metavar="MB",
        help="MB timed per transfer relayed through TURN and direct, in the network lab (50)",
    )
    p.add_argument(
        "--disk-sizes",
        type=_counts,
        default=(1024, 4096),
        metavar="MiB,MiB",
        help="MiB per browser → browser transfer whose receiving memory is measured (1024,4096)",
    )
    p.add_argument(
        "--resume-size",
        type=_positive,
        default=1024,
        metavar="MiB",
        help="MiB of the file broken at about 60 %% and resumed, and of the one blipped (1024)",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=HERE / "results.json",
        metavar="PATH",
        help="where to write the results as JSON (bench/results.json)",
    )
    p.add_argument(
        "--markdown",
        type=Path,
        default=HERE / "RESULTS.md",
        metavar="PATH",
        help="where to write the table with the machine (bench/RESULTS.md)",
    )
    return p


async def run(config: BenchConfig) -> list[Result]:
    results: list[Result] = []
    for section in config.sections:
        module = importlib.import_module(f"bench.{section.replace('-', '_')}")
        config.say(f"== {section}")
        results += await module.run(config)
    return results


def markdown(results: list[Result], described: dict, command: str, when: str) -> str:
    return (
        f"# Benchmark results\n\nThe latest run of `{command}`, {when}.\n\n"
        f"Machine: {machine.summary(described)}\n\n{markdown_table(results)}\n\n"
        "Ratios are ours / baseline. Every figure is from this one run; "
        "bench/README.md says what each one measures.\n\n"
        f"## Every run (in order; the table shows medians)\n\n{markdown_runs(results)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="sendit-bench-"))
    config = BenchConfig(
        scratch=scratch,
        sections=args.only,
        runs=args.runs,
        transfer_size=args.size * MB,
        warmup=args.warmup * MB,
        pairings=args.pairings,
        memory_size=args.memory_size * MB,
        attack_seconds=args.attack_seconds,
        turn_size=args.turn_size * MB,
        disk_sizes=tuple(size * MIB for size in args.disk_sizes),
        resume_size=args.resume_size * MIB,
    )
    described = machine.describe()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        results = asyncio.run(run(config))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(text_table(results))
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    settings = {
        "when": when,
        "command": command.strip(),
        **{k: v for k, v in vars(args).items() if k not in ("json", "markdown")},
    }
    write_json(args.json, described, settings, results)
    args.markdown.write_text(markdown(results, described, command.strip(), when))
    print(f"\nwritten: {args.json} and {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
