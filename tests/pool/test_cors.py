"""signal_server.pool.cors: the policy alone, and on a real server's /api/ routes."""

from __future__ import annotations

import aiohttp
import pytest

from helpers.pool import pool_upload
from helpers.server import running_server
from signal_server.pool.cors import CorsPolicy, CorsRefused

SITE = "https://friend.example"


def test_no_origins_allows_none() -> None:
    policy = CorsPolicy()
    assert not policy.allows(SITE)
    assert policy.response_headers(SITE) == {}
    with pytest.raises(CorsRefused, match="may not use this API"):
        policy.preflight_headers(SITE, "POST", None)


def test_named_origins_only() -> None:
    policy = CorsPolicy(frozenset({SITE}))
    assert policy.allows(SITE) and policy.allows("https://FRIEND.example")
    assert not policy.allows("https://friend.example:8443")
    assert not policy.allows("http://friend.example")
    assert not policy.allows(None)
    assert policy.response_headers(SITE) == {
        "Access-Control-Allow-Origin": SITE,
        "Access-Control-Expose-Headers": "Content-Disposition, Content-Length",
        "Vary": "Origin",
    }


def test_star_allows_any_origin_by_name() -> None:
    policy = CorsPolicy(frozenset({"*"}))
    assert policy.response_headers("http://anything.test")["Access-Control-Allow-Origin"] == "http://anything.test"
    assert policy.response_headers(None) == {}


def test_preflight_checks_method_and_headers() -> None:
    policy = CorsPolicy(frozenset({SITE}))
    assert policy.preflight_headers(SITE, "POST", "Content-Type")["Access-Control-Allow-Methods"] == "GET, POST"
    assert policy.preflight_headers(SITE, "GET", None)["Access-Control-Max-Age"] == "600"
    with pytest.raises(CorsRefused, match="method 'DELETE'"):
        policy.preflight_headers(SITE, "DELETE", None)
    with pytest.raises(CorsRefused, match="method None"):
        policy.preflight_headers(SITE, None, None)
    with pytest.raises(CorsRefused, match="headers not allowed: authorization"):
        policy.preflight_headers(SITE, "POST", "content-type, Authorization")


async def test_same_origin_only_by_default() -> None:
    async with running_server() as server, aiohttp.ClientSession() as http:
        async with http.get(server.url + "/api/pool/stats", headers={"Origin": SITE}) as response:
            assert response.status == 200
            assert "Access-Control-Allow-Origin" not in response.headers
        async with http.options(
            server.url + "/api/upload", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}
        ) as response:
            assert response.status == 403
            answer = await response.json()
            assert "may not use this API" in answer["error"] and answer["error_id"] == "cors-refused"
            assert "Access-Control-Allow-Origin" not in response.headers


async def test_configured_origin_can_use_every_route_and_read_refusals() -> None:
    async with running_server(pool_cors_origins=frozenset({SITE})) as server, aiohttp.ClientSession() as http:
        cross = {"Origin": SITE}
        async with http.options(
            server.url + "/api/upload",
            headers={
                **cross,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        ) as response:
            assert response.status == 204
            assert response.headers["Access-Control-Allow-Origin"] == SITE
            assert response.headers["Access-Control-Allow-Methods"] == "GET, POST"
        form = aiohttp.FormData()
        form.add_field("file", b"cross-origin gift", filename="gift.txt")
        async with http.post(server.url + "/api/upload", data=form, headers=cross) as response:
            assert response.status == 201
            assert response.headers["Access-Control-Allow-Origin"] == SITE
            token = (await response.json())["token"]
        async with http.get(server.url + "/api/download", params={"token": token}, headers=cross) as response:
            assert response.status == 404  # a refusal the calling page can read
            assert response.headers["Access-Control-Allow-Origin"] == SITE
        await pool_upload(http, server.url, b"same-origin gift")
        async with http.get(server.url + "/api/download", params={"token": token}, headers=cross) as response:
            assert response.status == 200 and await response.read() == b"same-origin gift"
            assert response.headers["Access-Control-Allow-Origin"] == SITE
            assert "Content-Disposition" in response.headers["Access-Control-Expose-Headers"]
        async with http.get(server.url + "/api/pool/stats", headers={"Origin": "https://stranger.example"}) as response:
            assert "Access-Control-Allow-Origin" not in response.headers
        # Pages are not API: no CORS headers there, whoever asks.
        async with http.get(server.url + "/pool", headers=cross) as response:
            assert "Access-Control-Allow-Origin" not in response.headers
