"""The ``sendit`` CLI on both ends, across the lab: the route each side reports, or why
it could not connect (docs/PROTOCOL.md 3.5), with the bytes compared."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from helpers.lab import Host, Lab, Turn
from helpers.peers import OK, Sendit, tree_of

from .conftest import OnHost, Serve

SIZE = 2_000_000


async def transfer(
    on_host: OnHost, server: str, sender_host: Host, receiver_host: Host, tmp_path: Path, *extra: str
) -> tuple[Sendit, Sendit]:
    source = tmp_path / "src"
    source.mkdir()
    (source / "file.bin").write_bytes(os.urandom(SIZE))
    sender = await on_host(sender_host, "send", "--json", *extra, str(source / "file.bin"), server=server)
    code = await sender.code()
    out = tmp_path / "out"
    receiver = await on_host(receiver_host, "receive", "--json", "--yes", "-o", str(out), *extra, code, server=server)
    await asyncio.gather(sender.finish(), receiver.finish())
    assert (sender.process.returncode, receiver.process.returncode) == (OK, OK), (
        sender.stderr,
        receiver.stderr,
        sender.events,
        receiver.events,
    )
    assert tree_of(out) == tree_of(source)
    return sender, receiver


async def test_same_lan_goes_direct(port_keeping: Lab, serve: Serve, on_host: OnHost, tmp_path: Path) -> None:
    server = await serve()
    [a1, a2] = port_keeping.homes[0].hosts
    await transfer(on_host, server.url, a1, a2, tmp_path)


async def test_port_keeping_nats_go_direct_with_stun(
    port_keeping: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--ice-servers", json.dumps([{"urls": turn.stun_url}]))
    await transfer(on_host, server.url, port_keeping.homes[0].hosts[0], port_keeping.homes[1].hosts[0], tmp_path)


async def test_symmetric_nats_go_through_turn(
    symmetric: Lab, turn: Turn, serve: Serve, on_host: OnHost, tmp_path: Path
) -> None:
    server = await serve("--ice-servers", json.dumps([turn.credentials(600)]))
    await transfer(on_host, server.url, symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0], tmp_path)
    print(turn.service.log[-3000:])
