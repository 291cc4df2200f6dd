"""signal_server/accesslog.py in a real ``sendit-server`` process: a client's headers
cannot make an access line say something else."""

from __future__ import annotations

import aiohttp
import pytest

from helpers.server import server_process, wait_until

pytestmark = pytest.mark.process


async def test_quotes_in_a_clients_headers_are_escaped_in_its_access_line() -> None:
    async with server_process() as server:
        async with aiohttp.ClientSession() as http:
            headers = {"User-Agent": 'agent" 200 0 "-" "forged', "Referer": 'a"b'}
            async with http.get(server.url + "/favicon.svg?seen=1", headers=headers) as response:
                assert response.status == 200
        await wait_until(lambda: any("seen=1" in line for line in server.log), "the access line")
    line = next(line for line in server.log if "seen=1" in line)
    assert line.rstrip().endswith('"a\\"b" "agent\\" 200 0 \\"-\\" \\"forged"'), line
