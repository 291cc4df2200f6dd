"""The web application: pages, assets and security headers."""

from __future__ import annotations

import aiohttp
from mnemonic import Mnemonic

from helpers.server import RunningServer
from signal_server.app import CONTENT_SECURITY_POLICY


async def test_index_served_with_strict_csp(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/") as response:
            assert response.status == 200
            assert "text/html" in response.headers["Content-Type"]
            csp = response.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_unknown_path_is_404_with_headers(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/no/such/file") as response:
            assert response.status == 404
            assert "Content-Security-Policy" in response.headers


async def test_the_code_words_are_served_as_json_from_the_installed_list(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/words.json") as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            assert response.headers["Cache-Control"] == "public, max-age=86400"
            assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            words = await response.json()
    assert words == list(Mnemonic("english").wordlist)
    assert len(words) == 2048 and words[0] == "abandon" and words[-1] == "zoo"
