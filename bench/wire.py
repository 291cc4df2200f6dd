"""The bench's hand on its private network namespace, with nftables: count the UDP bytes
the peers put on the wire, or drop them for a while (a blip). Only ever inside the
namespace ``make bench`` runs in: the rules go with it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from typing import AsyncIterator

NFT = shutil.which("nft") or "/usr/sbin/nft"
COUNTING = "sendit_bench_wire"
BLIP = "sendit_bench_blip"


async def nft(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(
        NFT, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    if process.returncode != 0:
        raise RuntimeError(f"nft {' '.join(argv)} failed: {err.decode().strip()}")
    return out.decode()


class UdpCounter:
    """Every UDP packet sent in the namespace, counted once (on loopback a packet passes
    the output hook once): both directions, headers included."""

    async def bytes(self) -> int:
        listed = json.loads(await nft("-j", "list", "counter", "inet", COUNTING, "datagrams"))
        return next(item["counter"]["bytes"] for item in listed["nftables"] if "counter" in item)


@contextlib.asynccontextmanager
async def udp_counted() -> AsyncIterator[UdpCounter]:
    """A UDP byte counter from now until the block ends."""
    await nft("add", "table", "inet", COUNTING)
    try:
        await nft("add", "counter", "inet", COUNTING, "datagrams")
        await nft("add", "chain", "inet", COUNTING, "out", "{ type filter hook output priority 0; }")
        await nft("add", "rule", "inet", COUNTING, "out", "meta", "l4proto", "udp", "counter", "name", "datagrams")
        yield UdpCounter()
    finally:
        await nft("delete", "table", "inet", COUNTING)


class Blip:
    """Drops every UDP packet in the namespace from :meth:`start` until :meth:`lift`."""

    async def start(self) -> None:
        await nft("add", "table", "inet", BLIP)
        await nft("add", "chain", "inet", BLIP, "out", "{ type filter hook output priority 0; }")
        await nft("add", "rule", "inet", BLIP, "out", "meta", "l4proto", "udp", "drop")

    async def lift(self) -> None:
        await nft("delete", "table", "inet", BLIP)

    async def ensure_lifted(self) -> None:
        with contextlib.suppress(RuntimeError):
            await self.lift()
