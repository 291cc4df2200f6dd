"""The handshake's PAKE cost per side: what the person waits for between the pairing
and the confirmation, in CPU time.

Ours is one side of sendit_protocol.pake: making its message (SPAKE2 start), checking
the other side's message, finishing, and deriving the confirmation and seal keys. The
baseline is the bare `spake2` package doing start and finish alone, so the ratio is what
the protocol's checks and derivations add. The other side's message is made outside the
timer. Ours and the baseline alternate, run after run; the table shows medians.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from spake2 import SPAKE2_A, SPAKE2_B

from sendit_protocol.pake import ID_RECEIVER, ID_SENDER, Pake, Role

from .config import BenchConfig
from .results import Result, median

TARGET_MS = 25.0
PASSWORD = b"4821-river-fox-lunar"
IDS = {"idA": ID_SENDER, "idB": ID_RECEIVER}


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def ours(role: Role) -> float:
    """Milliseconds for one side of ours, against a fresh other side."""
    other = Pake("receiver" if role == "sender" else "sender", PASSWORD)
    return _timed(lambda: Pake(role, PASSWORD).finish(other.message))


def bare(role: Role) -> float:
    """Milliseconds for one side of the bare package."""
    mine, theirs = (SPAKE2_A, SPAKE2_B) if role == "sender" else (SPAKE2_B, SPAKE2_A)
    message = theirs(PASSWORD, entropy_f=os.urandom, **IDS).start()

    def side() -> None:
        spake = mine(PASSWORD, entropy_f=os.urandom, **IDS)
        spake.start()
        spake.finish(message)

    return _timed(side)


async def run(config: BenchConfig) -> list[Result]:
    results = []
    for role in ("sender", "receiver"):
        ours_runs: list[float] = []
        bare_runs: list[float] = []
        for _ in range(config.pake_runs):
            ours_runs.append(ours(role))
            bare_runs.append(bare(role))
        figure = median(ours_runs)
        config.say(
            f"pake {role}: {figure:.1f} ms per side (bare spake2 {median(bare_runs):.1f} ms), {config.pake_runs} runs"
        )
        results.append(
            Result(
                section="pake",
                name=f"{role} (side {'A' if role == 'sender' else 'B'}): start, checks, finish, keys",
                unit="ms",
                ours=round(figure, 2),
                baseline=round(median(bare_runs), 2),
                target=f"under {TARGET_MS:.0f} ms",
                met=figure < TARGET_MS,
                runs=[round(v, 3) for v in ours_runs],
                baseline_runs=[round(v, 3) for v in bare_runs],
            )
        )
    return results
