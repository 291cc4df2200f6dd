"""web/js/transfer/store/: where the receiving page keeps files, in real Chromium.

The real Sender and Receiver run over a real data channel in one page (as in
test_machines.py), the Receiver writing through each real store: a folder picked through
the pickers' one seam (answered with an origin-private folder, the same interface), the
origin-private store, and memory. The scenarios are tests/web/harness/store.js.
"""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest

from helpers.browser import run_harness

MiB = 1024 * 1024
TREE = [
    {"name": "top.txt", "size": 10},
    {"name": "a/b/deep.bin", "size": MiB + 3},
    {"name": "a/empty", "size": 0},
    {"name": "c/two.bin", "size": 2 * MiB},
]


def unzip(data: str) -> dict[str, bytes]:
    """Every member of the base64 ZIP ``data``, read by Python (its CRCs checked)."""
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(data))) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def decoded(files: dict[str, str]) -> dict[str, bytes]:
    return {name: base64.b64decode(data) for name, data in files.items()}


async def test_a_tree_goes_into_the_picked_folder_with_its_paths(page: Any) -> None:
    r = await run_harness(page, "store.js", "receive", {"kind": "folder", "files": TREE})
    assert r["received"] == {"ok": True} and r["sent"] == {"ok": True}, r
    assert decoded(r["folder"]) == decoded(r["originals"])
    # Already where the person chose: nothing to hand over, nothing to zip.
    assert r["handed"] == [{"name": f["name"], "file": None} for f in TREE]
    assert r["zip"] is None
    assert r["where"]["kind"] == "folder"
    assert r["describe"] == f"Saved in the folder “{r['where']['name']}”."


async def test_one_file_goes_into_the_picked_file(page: Any) -> None:
    files = [{"name": "alone.bin", "size": MiB + 1}]
    r = await run_harness(page, "store.js", "receive", {"kind": "folder", "files": files})
    assert r["received"] == {"ok": True}, r
    assert decoded(r["folder"]) == decoded(r["originals"])
    assert r["where"] == {"kind": "file", "name": "alone.bin"}
    assert r["describe"] == "Saved as “alone.bin”."


@pytest.mark.parametrize("kind", ["opfs", "blob"])
async def test_a_tree_kept_in_the_browser_is_handed_over_and_zipped(page: Any, kind: str) -> None:
    r = await run_harness(page, "store.js", "receive", {"kind": kind, "files": TREE, "zip64At": 1})
    assert r["received"] == {"ok": True}, r
    originals = decoded(r["originals"])
    handed = {h["name"]: (h["file"]["name"], base64.b64decode(h["file"]["data"])) for h in r["handed"]}
    assert handed == {name: (name.split("/")[-1], data) for name, data in originals.items()}
    assert unzip(r["zip"]) == originals
    # The same files with every ZIP64 field in use, as past 4 GiB.
    assert unzip(r["zip64"]) == originals
    assert r["folder"] is None
    assert ("storage on disk" if kind == "opfs" else "memory") in r["describe"]


async def test_one_file_kept_in_the_browser_needs_no_zip(page: Any) -> None:
    r = await run_harness(page, "store.js", "receive", {"kind": "opfs", "files": [{"name": "one.txt", "size": 5}]})
    assert r["received"] == {"ok": True}, r
    assert r["zip"] is None
    assert base64.b64decode(r["handed"][0]["file"]["data"]) == base64.b64decode(r["originals"]["one.txt"])


@pytest.mark.parametrize("kind", ["folder", "opfs", "blob"])
async def test_a_file_whose_digest_does_not_match_never_appears(page: Any, kind: str) -> None:
    r = await run_harness(page, "store.js", "badDigest", {"kind": kind})
    assert r["result"]["ok"] is False and "hash mismatch: dir/bad.bin" in r["result"]["message"], r
    assert r["told"]["error_id"] == "hash-mismatch"
    assert r["handed"] == ["dir/good.bin"]
    if kind == "folder":
        assert list(r["folder"]) == ["dir/good.bin"]
    # A mismatch keeps nothing to resume from.
    assert r["partial"] is False


async def test_the_browser_store_keeps_a_partial_to_resume_from(page: Any) -> None:
    size = 3 * MiB + 7
    r = await run_harness(page, "store.js", "partialKept", {"size": size, "cut": MiB + MiB // 2})
    assert r["result"]["ok"] is False and "the sender left" in r["result"]["message"], r
    # What had arrived stayed on disk, offered again under the same name and size only.
    assert r["heldSize"] is not None and MiB <= r["heldSize"] < size, r
    assert r["heldIsPrefix"]
    assert r["otherSize"] is None
    assert r["kept"] >= MiB
    assert r["wholeSame"] and r["wholeName"].endswith(".bin")
    assert len(unzip(r["zip"])) == 1


async def test_memory_states_its_limit_before_accepting(page: Any) -> None:
    assert await run_harness(page, "store.js", "blobLimit", {"sizes": [10**9, 5 * 10**8]}) is None
    refused = await run_harness(page, "store.js", "blobLimit", {"sizes": [10**9, 6 * 10**8]})
    assert refused == {
        "name": "CannotSave",
        "message": "These files are 1.6 GB: this browser can keep about 1.5 GB in memory; "
        "use Chrome or the `sendit` command for larger files.",
    }
