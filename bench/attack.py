"""Under attack: a legit pairing's latency while each flood of issue 13 runs, beside the
same with no flood, in one run.

For each flood, a fresh ``python -m signal_server`` (default options) and two phases of
``config.attack_seconds`` each: first the baseline, with an attacker process that sends
nothing, then the flood, from an attacker process of its own connecting from
127.0.0.2 (tests/helpers/attacks.py). In both, this process runs legit pairings from
127.0.0.1 one after another (connect a sender and a receiver, create a slot, join it,
peer_joined, one signal relayed, in protocol 2's shapes; tests/helpers/measure.py) and
samples the server's RSS. The floods run unbounded in bytes for the phase:

- binary attachments: an event announcing 9,999,999,999 attachments, then 255 KiB
  binary frames, one connection after another;
- non-reading client: a pair whose receiver never reads, its sender relaying 60 KB
  sealed offers, a new pair each time the server drops the receiver;
- malformed frames: ``42[]`` frames back to back, 64 Ki of them per connection;
- idle sockets: ``IDLE_SOCKETS`` open sockets from one address, answering pings.

Target: a legit pairing's p99 under the flood below ``P99_LIMIT_MS`` (the ceiling the
suite's tests/attacks/test_floods.py asserts on every pairing).
"""

from __future__ import annotations

import statistics
from typing import Any

from tests.helpers.measure import MiB, Siege, besiege
from tests.helpers.server import server_process

from .config import BenchConfig
from .results import Result

SECTION = "attack"
IDLE_SOCKETS = 500
#: Name in the table, flood (tests/helpers/attacks.py), and its budget besides the time.
FLOODS: tuple[tuple[str, str, dict[str, int]], ...] = (
    ("binary attachments", "attachments", {}),
    ("non-reading client", "stalled", {}),
    ("malformed frames", "malformed", {}),
    (f"{IDLE_SOCKETS} idle sockets from one address", "idle", {"count": IDLE_SOCKETS}),
)
P99_LIMIT_MS = 1000.0


def percentile(latencies: list[float], p: int) -> float:
    """The p-th percentile in milliseconds."""
    if len(latencies) == 1:
        return latencies[0] * 1000
    return statistics.quantiles(latencies, n=100, method="inclusive")[p - 1] * 1000


def _summary(siege: Siege) -> dict[str, Any]:
    return {
        "pairings": len(siege.latencies),
        "p50_ms": round(percentile(siege.latencies, 50), 2),
        "p99_ms": round(percentile(siege.latencies, 99), 2),
        "max_ms": round(max(siege.latencies) * 1000, 2),
        "rss_growth_mb": round(siege.rss_growth / MiB, 1),
        "log_bytes": sum(len(line) for line in siege.log),
        "attacker": siege.tally,
    }


def _rows(name: str, flood: Siege, quiet: Siege) -> list[Result]:
    detail = {"flood": _summary(flood), "no_flood": _summary(quiet)}
    p99 = percentile(flood.latencies, 99)
    return [
        Result(
            SECTION,
            f"pairing latency p50, {name} (baseline: no flood)",
            "ms",
            percentile(flood.latencies, 50),
            percentile(quiet.latencies, 50),
            detail=detail,
        ),
        Result(
            SECTION,
            f"pairing latency p99, {name} (baseline: no flood)",
            "ms",
            p99,
            percentile(quiet.latencies, 99),
            target=f"< {P99_LIMIT_MS:,.0f} ms",
            met=p99 < P99_LIMIT_MS,
            detail=detail,
        ),
        Result(
            SECTION,
            f"server RSS growth, {name} (baseline: no flood)",
            "MB",
            round(flood.rss_growth / MiB, 1),
            round(quiet.rss_growth / MiB, 1),
            detail=detail,
        ),
    ]


async def run(config: BenchConfig) -> list[Result]:
    results: list[Result] = []
    seconds = config.attack_seconds
    for name, flood, budget in FLOODS:
        async with server_process("--pool-dir", str(config.scratch / "attack-pool")) as server:
            quiet = await besiege(server, "none", seconds=seconds)
            attacked = await besiege(server, flood, seconds=seconds, **budget)
        for label, siege in (("no flood", quiet), (name, attacked)):
            s = _summary(siege)
            config.say(
                f"  {label}: {s['pairings']} pairings, p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, "
                f"RSS +{s['rss_growth_mb']} MB, {s['log_bytes']:,} bytes of log"
            )
        results += _rows(name, attacked, quiet)
    return results
