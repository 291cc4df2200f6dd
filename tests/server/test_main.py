"""The installed ``sendit-server`` command: starts, reads its environment, serves the UI."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import sys
from pathlib import Path

import aiohttp
import pytest

from helpers.server import PAKE, Client, free_port

pytestmark = pytest.mark.process

SERVER_SCRIPT = Path(sys.executable).with_name("sendit-server")
#: The soft open-file limit the server is started with, and the idle sockets then opened:
#: more than that limit would have let it accept.
LOW_LIMIT = 256
IDLE_SOCKETS = 300


async def test_console_script_serves_the_web_ui_from_env_config() -> None:
    port = free_port()
    env = {
        **os.environ,
        "SENDIT_PORT": str(port),
        "SENDIT_HOST": "127.0.0.1",
        "SENDIT_CODE_TTL": "42",
        "SENDIT_ICE_SERVERS": '[{"urls": "stun:127.0.0.1:3478"}]',
    }
    process = await asyncio.create_subprocess_exec(str(SERVER_SCRIPT), env=env, stderr=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        assert f"http://127.0.0.1:{port}/" in line.decode()
        async with aiohttp.ClientSession() as http:
            for path in ("/", "/js/app.js", "/style.css"):
                async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == 200, path
        client = await Client().connect(f"http://127.0.0.1:{port}")
        ack = await client.create()
        await client.close()
        assert 41 <= ack["expires_in"] <= 42
        assert ack["ice_servers"] == [{"urls": "stun:127.0.0.1:3478"}]
    finally:
        process.terminate()
        await process.wait()


async def test_bad_flag_exits_with_usage_error() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "signal_server", "--ice-servers", "not json", stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"ICE server list is not valid JSON" in err


def soft_open_file_limit(pid: int) -> int:
    limits = Path(f"/proc/{pid}/limits").read_text()
    match = re.search(r"^Max open files\s+(\d+)\s+(\d+)", limits, re.MULTILINE)
    assert match, limits
    return int(match.group(1))


async def test_the_open_file_limit_is_raised_so_idle_sockets_cannot_starve_the_rest() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard > 2 * IDLE_SOCKETS, f"this test needs a hard open-file limit above {2 * IDLE_SOCKETS}, not {hard}"

    def start_low() -> None:  # in the child, before it runs the server
        resource.setrlimit(resource.RLIMIT_NOFILE, (LOW_LIMIT, hard))

    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(SERVER_SCRIPT),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=start_low,
    )
    try:
        assert f"http://127.0.0.1:{port}/" in (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        logged = (await asyncio.wait_for(process.stderr.readline(), 10)).decode()
        assert f"open-file limit {hard} (it was {LOW_LIMIT})" in logged, logged
        assert soft_open_file_limit(process.pid) == hard
        # Engine.IO sessions that never connect to socket.io, so no cap refuses them: only
        # the open-file limit stands between them and the server's other clients.
        url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            idle = [await http.ws_connect(url) for _ in range(IDLE_SOCKETS)]
            try:
                sender = await Client().connect(f"http://127.0.0.1:{port}")
                receiver = await Client().connect(f"http://127.0.0.1:{port}")
                slot = (await sender.create())["slot"]
                assert (await receiver.join(slot))["ok"]
                assert await sender.next("peer_joined") == {"pake": PAKE}
                async with http.get(f"http://127.0.0.1:{port}/") as response:
                    assert response.status == 200
                await sender.close()
                await receiver.close()
            finally:
                for socket in idle:
                    await socket.close()
    finally:
        process.terminate()
        await process.wait()
