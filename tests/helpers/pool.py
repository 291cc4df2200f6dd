"""Requests to the file exchange pool, as a client makes them, and what its directory holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Mapping

import aiohttp
from multidict import CIMultiDictProxy

Body = bytes | AsyncIterator[bytes]


def from_address(address: str) -> dict[str, str]:
    """The header that makes a request come from ``address``, to a server that trusts
    127.0.0.1 as its proxy (``running_server(trusted_proxies={"127.0.0.1"})``)."""
    return {"X-Forwarded-For": address}


async def pool_upload(
    http: aiohttp.ClientSession, url: str, data: Body, name: str = "a.txt", headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST ``data`` as the multipart field "file"; returns the status and JSON answer."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with http.post(url + "/api/upload", data=form, headers=headers) as response:
        return response.status, await response.json()


async def pool_download(
    http: aiohttp.ClientSession, url: str, token: str, headers: Mapping[str, str] | None = None
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    async with http.get(url + "/api/download", params={"token": token}, headers=headers) as response:
        return response.status, response.headers, await response.read()


async def pool_stats(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.get(url + "/api/pool/stats") as response:
        assert response.status == 200
        return await response.json()


def pool_area(pool_dir: Path, area: str) -> list[str]:
    """What one area of a pool directory (files, incoming, claimed, tokens) holds on disk."""
    directory = pool_dir / area
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []
