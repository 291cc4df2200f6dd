"""The installed ``sendit-server`` command: starts, reads its environment, serves the UI."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest

from helpers.server import Client, free_port

pytestmark = pytest.mark.process

SERVER_SCRIPT = Path(sys.executable).with_name("sendit-server")


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
        ack = await client.call("create", {})
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
