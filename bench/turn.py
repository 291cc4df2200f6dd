"""Throughput relayed through TURN, beside a direct transfer in the same run.

In the network lab (tests/helpers/lab.py): a ``sendit send`` on a host of one home and a
``sendit receive`` on a host of the other, through a real SendIt server and coturn on the
lab's internet. Relayed: both homes behind symmetric NATs, the server handing out TURN
credentials, so the only path is through coturn. Direct: the same two hosts behind
port-keeping NATs with coturn as STUN only, so the path is direct through both NATs.
Each transfer sends the warm-up file and then the timed one over one connection, timed
at the receiver from verifying the first to verifying the second, as ``throughput``
does. Runs alternate. coturn's own count of the bytes it relayed under the credentials
the server issued for a relayed run shows that run went through it; the direct runs'
server hands out no TURN at all.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

from tests.helpers.lab import Lab, NatKind, Turn, build, sendit_server, turnserver
from tests.helpers.peers import start
from tests.helpers.server import wait_until

from .config import MB, BenchConfig
from .files import random_file
from .results import Result, median

TRANSFER_TIMEOUT = 600.0


async def transfer(lab: Lab, server: str, files: list[Path], received: Path) -> float:
    """Seconds for the receiver to go from verifying the first file to the second."""
    sender_host, receiver_host = lab.homes[0].hosts[0], lab.homes[1].hosts[0]
    async with contextlib.AsyncExitStack() as stack:
        received.mkdir()
        stack.callback(shutil.rmtree, received)
        sender = await start(
            "send",
            "--json",
            *map(str, files),
            *sender_host.local_ip,
            server=server,
            loopback=False,
            prefix=sender_host.enter,
        )
        stack.push_async_callback(sender.finish)
        code = await sender.code()
        receiver = await start(
            "receive",
            "--json",
            "--yes",
            "-o",
            str(received),
            *receiver_host.local_ip,
            code,
            server=server,
            loopback=False,
            prefix=receiver_host.enter,
        )
        stack.push_async_callback(receiver.finish)
        await receiver.event("file-done", TRANSFER_TIMEOUT)
        began = time.perf_counter()
        await receiver.event("file-done", TRANSFER_TIMEOUT)
        return time.perf_counter() - began


async def relayed(lab: Lab, turn: Turn, server: str, files: list[Path], scratch: Path) -> float:
    """MB/s of one transfer through coturn; coturn's count of what it relayed for the
    credentials the server issued for it shows the bytes went that way."""
    lab.set_nat(NatKind.SYMMETRIC)
    mark = turn.mark()
    seconds = await transfer(lab, server, files, scratch / "received")
    size = files[-1].stat().st_size
    await wait_until(lambda: turn.relayed_since(mark) >= size, "coturn to count the relayed bytes")
    return size / seconds / MB


async def direct(lab: Lab, server: str, files: list[Path], scratch: Path) -> float:
    """MB/s of one transfer direct through both NATs (the server offers STUN only)."""
    lab.set_nat(NatKind.ENDPOINT_INDEPENDENT)
    return files[-1].stat().st_size / await transfer(lab, server, files, scratch / "received") / MB


async def run(config: BenchConfig) -> list[Result]:
    files = [
        random_file(config.scratch / "warm-up.bin", config.warmup),
        random_file(config.scratch / "timed.bin", config.turn_size),
    ]
    lab = build()
    try:
        async with contextlib.AsyncExitStack() as stack:
            turn = await stack.enter_async_context(turnserver(lab, config.scratch / "turn"))
            relaying = await stack.enter_async_context(
                sendit_server(lab, config.scratch / "relaying", "--turn", turn.url, "--turn-secret", turn.secret)
            )
            stun_only = await stack.enter_async_context(
                sendit_server(lab, config.scratch / "direct", "--stun", turn.stun_url)
            )
            relayed_runs: list[float] = []
            direct_runs: list[float] = []
            for index in range(config.runs):
                relayed_runs.append(await relayed(lab, turn, relaying.url, files, config.scratch))
                direct_runs.append(await direct(lab, stun_only.url, files, config.scratch))
                config.say(
                    f"turn run {index + 1}: relayed {relayed_runs[-1]:.1f} MB/s, direct {direct_runs[-1]:.1f} MB/s"
                )
    finally:
        lab.close()
    return [
        Result(
            section="turn",
            name="Python → Python between two homes: relayed via coturn (baseline: direct through NAT)",
            unit="MB/s",
            ours=round(median(relayed_runs), 2),
            baseline=round(median(direct_runs), 2),
            runs=[round(v, 2) for v in relayed_runs],
            baseline_runs=[round(v, 2) for v in direct_runs],
            detail={"timed_bytes": config.turn_size, "warmup_bytes": config.warmup},
        )
    ]
