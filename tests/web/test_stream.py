"""web/js/transfer/store/stream.js: files streamed straight into a browser download, in
real Chromium. The real Sender and Receiver run over a real data channel in one page,
the Receiver writing through the real StreamStore and its service worker; the download
is Playwright's, saved and compared byte for byte (a tree as a ZIP, unzipped by
Python). The scenarios are tests/web/harness/store.js's, with the "stream" store."""

from __future__ import annotations

import base64
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Error as PlaywrightError

from helpers.browser import run_harness

MiB = 1024 * 1024
TREE = [
    {"name": "read me.txt", "size": 10},
    {"name": "fotos/été/plage.raw", "size": 2 * MiB + 3},
    {"name": "fotos/vide", "size": 0},
    {"name": "notes/one.bin", "size": MiB},
]


async def streamed(page: Any, scenario: str, args: Any) -> tuple[Any, Any]:
    """The scenario's result and the one download it made."""
    async with page.expect_download() as info:
        result = await run_harness(page, "store.js", scenario, {"kind": "stream", **args})
    return result, await info.value


def decoded(files: dict[str, str]) -> dict[str, bytes]:
    return {name: base64.b64decode(data) for name, data in files.items()}


async def test_one_file_is_streamed_into_a_download_as_it_is(page: Any, tmp_path: Path) -> None:
    files = [{"name": "naïve “report”.bin", "size": 3 * MiB + 1}]
    r, download = await streamed(page, "receive", {"files": files})
    assert r["received"] == {"ok": True} and r["sent"] == {"ok": True}, r
    assert download.suggested_filename == "naïve “report”.bin"
    assert await download.failure() is None
    target = tmp_path / "saved"
    await download.save_as(target)
    assert target.read_bytes() == decoded(r["originals"])["naïve “report”.bin"]
    # Already where it goes: nothing to hand over, nothing to zip.
    assert r["handed"] == [{"name": files[0]["name"], "file": None}]
    assert r["zip"] is None
    assert r["describe"] == "Saved to your Downloads folder as “naïve “report”.bin” (see your browser's downloads)."


@pytest.mark.parametrize("zip64At", [None, 1])
async def test_a_tree_is_streamed_as_one_zip(page: Any, tmp_path: Path, zip64At: int | None) -> None:
    """With ``zip64At`` 1 every ZIP64 field is in use, as past 4 GiB."""
    r, download = await streamed(page, "receive", {"files": TREE, "zip64At": zip64At})
    assert r["received"] == {"ok": True}, r
    assert download.suggested_filename == "sendit-files.zip"
    target = tmp_path / "tree.zip"
    await download.save_as(target)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert {i.filename: archive.read(i) for i in infos} == decoded(r["originals"])
        # Each member says its CRC after its bytes (bit 3): they came before the CRC was known.
        assert all(i.flag_bits & 0x08 for i in infos)
        # ZIP64 extras (id 1) in every member, or in none.
        assert [i.extra[:2] for i in infos] == [b"\x01\x00" if zip64At else b""] * len(infos)
    assert r["describe"] == "Saved to your Downloads folder as “sendit-files.zip” (see your browser's downloads)."


async def test_a_bad_digest_fails_the_whole_download(page: Any) -> None:
    r, download = await streamed(page, "badDigest", {})
    assert r["result"]["ok"] is False and "hash mismatch: dir/bad.bin" in r["result"]["message"], r
    assert r["told"]["error_id"] == "hash-mismatch"
    # The good file was verified, but the ZIP it is in is not.
    assert r["handed"] == ["dir/good.bin"]
    # Chromium fails a download whose stream errors, and keeps nothing of it.
    assert await download.failure() == "canceled"
    with pytest.raises(PlaywrightError):
        await download.path()
