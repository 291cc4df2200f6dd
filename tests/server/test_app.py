"""The web application: pages, assets and security headers."""

from __future__ import annotations

import aiohttp

from helpers.server import RunningServer


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
