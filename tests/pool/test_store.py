"""signal_server.pool.store on its own: a real directory, no HTTP."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Awaitable, Callable, TypeVar

import pytest

from signal_server.pool.filetypes import TypeRefused
from signal_server.pool.quotas import UploadQuotas
from signal_server.pool.store import (
    EmptyFile,
    Entry,
    FileTooLarge,
    NothingToGive,
    PoolFull,
    PoolLimits,
    PoolStore,
    Stats,
    TokenRefused,
    Unavailable,
    Upload,
    read_cached,
)
from signal_server.pool.tokens import token_key

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
#: The limit key every upload here comes from, unless a test says otherwise.
UPLOADER = "192.0.2.1"
T = TypeVar("T")


async def feed(upload: Upload, data: bytes) -> None:
    """Count, then write, as the adapter does."""
    upload.reserve(len(data))
    await upload.write([data])


async def give(
    store: PoolStore, data: bytes, name: str = "a.txt", chunk: int = 7, uploader: str = UPLOADER
) -> tuple[Entry, str]:
    """Upload ``data`` in small chunks, as the adapter does; returns the entry and token."""
    async with store.uploading(name, uploader) as upload:
        for start in range(0, len(data), chunk):
            await feed(upload, data[start : start + chunk])
        return await upload.commit()


async def take(store: PoolStore, token: str) -> tuple[Entry, bytes]:
    async with store.claiming(token) as claim:
        claim.hand_out()
        return claim.entry, claim.data.read()


async def begun(lifecycle: AbstractAsyncContextManager[T]) -> T:
    """Enter an upload or a claim and never leave it: the server dies in the middle."""
    return await lifecycle.__aenter__()


def on_disk(store: PoolStore, area: str) -> list[str]:
    directory = store.directory / area
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


def test_a_pool_nobody_used_writes_nothing(tmp_path: Path) -> None:
    store = PoolStore(tmp_path / "pool")
    assert store.stats() == Stats(count=0, total_bytes=0, types={})
    assert not (tmp_path / "pool").exists()


async def refused_claim(store: PoolStore, token: str) -> None:
    async with store.claiming(token):
        raise AssertionError("claimed")


async def test_give_and_take(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    a, token_a = await give(store, b"from a\n", "a.txt")
    b, token_b = await give(store, PNG, "b.png")
    assert a == Entry(id=a.id, name="a.txt", size=7, type="text/plain", uploader=UPLOADER)
    assert b.type == "image/png" and b.size == len(PNG)
    assert token_a != token_b and len(token_a) >= 43
    assert store.stats() == Stats(count=2, total_bytes=7 + len(PNG), types={"text/plain": 1, "image/png": 1})
    # Each gets the other's file: never one's own.
    assert await take(store, token_a) == (b, PNG)
    assert await take(store, token_b) == (a, b"from a\n")
    assert store.stats() == Stats(count=0, total_bytes=0, types={})
    assert on_disk(store, "files") == on_disk(store, "claimed") == on_disk(store, "incoming") == []
    assert on_disk(store, "tokens") == []


async def test_own_file_only_is_404_and_the_token_stays(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    _, token = await give(store, b"mine")
    with pytest.raises(NothingToGive, match="stays valid"):
        await refused_claim(store, token)
    assert store.stats().count == 1
    _, other = await give(store, b"theirs")
    assert (await take(store, token))[1] == b"theirs"


async def test_empty_pool_has_nothing_to_give(tmp_path: Path) -> None:
    # Each download spends a token and takes a file, so a valid token and an empty pool
    # meet only when a file was lost from outside: here, removed by hand before a restart.
    store = PoolStore(tmp_path)
    entry, token = await give(store, b"lost")
    shutil.rmtree(tmp_path / "files" / entry.id)
    again = PoolStore(tmp_path)
    assert again.stats().count == 0
    with pytest.raises(NothingToGive):
        await refused_claim(again, token)
    await give(again, b"new")
    assert (await take(again, token))[1] == b"new"


async def test_spent_and_unknown_tokens_refused(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    _, token_a = await give(store, b"a")
    await give(store, b"b")
    await take(store, token_a)
    await give(store, b"c")
    with pytest.raises(TokenRefused):
        await refused_claim(store, token_a)
    for bogus in ("", "x" * 43, "\udcff", token_a[:-1]):
        with pytest.raises(TokenRefused):
            await refused_claim(store, bogus)
    assert store.stats().count == 2


async def test_only_hashes_of_tokens_are_on_disk(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    entry, token = await give(store, b"a")
    assert on_disk(store, "tokens") == [token_key(token)]
    assert (tmp_path / "tokens" / token_key(token)).read_text() == entry.id
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes()


async def test_too_large_refused_while_writing_and_nothing_kept(tmp_path: Path) -> None:
    store = PoolStore(tmp_path, PoolLimits(max_file_size=10))
    with pytest.raises(FileTooLarge, match="limit is 10 bytes"):
        async with store.uploading("big.txt", UPLOADER) as upload:
            await feed(upload, b"0123456789")
            await feed(upload, b"x")
    assert on_disk(store, "incoming") == []
    assert (await give(store, b"0123456789"))[0].size == 10


@pytest.mark.parametrize(
    "data, error", [(b"", EmptyFile), (b"\x7fELF" + bytes(60), TypeRefused), (b"#!/bin/sh\n", TypeRefused)]
)
async def test_refused_content_leaves_nothing(tmp_path: Path, data: bytes, error: type[Exception]) -> None:
    store = PoolStore(tmp_path)
    with pytest.raises(error):
        await give(store, data)
    assert store.stats().count == 0
    assert on_disk(store, "incoming") == on_disk(store, "files") == on_disk(store, "tokens") == []
    await give(store, b"fine")  # and the place it held is free again


async def test_an_upload_left_by_any_error_keeps_nothing_and_frees_its_place(tmp_path: Path) -> None:
    store = PoolStore(tmp_path, PoolLimits(max_files=1, max_bytes=10))
    with pytest.raises(ConnectionResetError):
        async with store.uploading("cut.txt", UPLOADER) as upload:
            await feed(upload, b"0123456789")
            raise ConnectionResetError  # the client went away, say
    assert on_disk(store, "incoming") == []
    assert (await give(store, b"0123456789"))[0].size == 10


async def test_quota_of_files_counts_uploads_in_progress(tmp_path: Path) -> None:
    store = PoolStore(tmp_path, PoolLimits(max_files=2))
    await give(store, b"one")
    async with store.uploading("two.txt", UPLOADER):
        with pytest.raises(PoolFull):
            async with store.uploading("three.txt", UPLOADER):
                raise AssertionError("a place was held")
    await give(store, b"two")
    with pytest.raises(PoolFull):
        store.check_room()
    assert store.stats().count == 2


async def test_quota_of_bytes_counts_uploads_in_progress(tmp_path: Path) -> None:
    store = PoolStore(tmp_path, PoolLimits(max_bytes=10))
    await give(store, b"1234")
    async with store.uploading("first.txt", UPLOADER) as first:
        async with store.uploading("second.txt", UPLOADER) as second:
            await feed(first, b"abc")
            await feed(second, b"abc")
            with pytest.raises(PoolFull):
                await feed(second, b"d")  # 4 stored + 6 on their way: no room for an 11th byte
        await feed(first, b"def")
        await first.commit()
    assert store.stats().total_bytes == 10
    with pytest.raises(PoolFull):
        store.check_room()


async def test_restart_rebuilds_the_pool_and_keeps_tokens(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    a, token_a = await give(store, b"from a", "a.txt")
    b, token_b = await give(store, PNG, "b.png")
    again = PoolStore(tmp_path)
    assert again.stats() == store.stats()
    assert await take(again, token_a) == (b, PNG)
    assert await take(again, token_b) == (a, b"from a")


async def test_restart_drops_partial_uploads_and_claimed_files(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    kept, token = await give(store, b"kept")
    await give(store, b"claimed")
    await give(store, b"third")
    partial = await begun(store.uploading("partial.txt", UPLOADER))
    await feed(partial, b"half of it")
    sealed = await begun(store.uploading("sealed.txt", UPLOADER))  # complete on disk, but never committed
    await feed(sealed, b"sealed")
    sealed.seal()
    claim = await begun(store.claiming(token))  # a download under way when the server died
    claim.hand_out()
    assert on_disk(store, "claimed") == [claim.entry.id]
    # The server dies here: nothing is finished, discarded or closed.
    again = PoolStore(tmp_path)
    assert on_disk(again, "incoming") == on_disk(again, "claimed") == []
    assert again.stats().count == 2
    assert claim.entry.id not in on_disk(again, "files")
    with pytest.raises(TokenRefused):
        await refused_claim(again, token)
    assert kept.id in on_disk(again, "files")


@pytest.mark.parametrize(
    "damage",
    [
        "no meta",
        "bad json",
        "wrong size",
        "wrong id",
        "no data",
        "header in the type",
        "unknown type",
        "name not clean",
        "uploader not a string",
    ],
)
async def test_restart_removes_damaged_entries(tmp_path: Path, damage: str) -> None:
    store = PoolStore(tmp_path)
    entry, _ = await give(store, b"damaged")
    good, _ = await give(store, b"good")
    directory = tmp_path / "files" / entry.id
    meta = directory / "meta.json"
    if damage == "no meta":
        meta.unlink()
    elif damage == "bad json":
        meta.write_text("{")
    elif damage == "wrong size":
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "size": 3}))
    elif damage == "wrong id":
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "id": "other"}))
    elif damage in ("header in the type", "unknown type", "name not clean", "uploader not a string"):
        # What an older server, or a hand, could have written: it would go into a
        # download's headers, so it is never served.
        field, value = {
            "header in the type": ("type", "text/plain\r\nX-Injected: 1"),
            "unknown type": ("type", "application/x-msdownload"),
            "name not clean": ("name", "../a\r\n.txt"),
            "uploader not a string": ("uploader", ["192.0.2.1"]),
        }[damage]
        meta.write_text(json.dumps({**json.loads(meta.read_text()), field: value}))
    else:
        (directory / "data").unlink()
    again = PoolStore(tmp_path)
    assert again.stats() == Stats(count=1, total_bytes=4, types={"text/plain": 1})
    assert on_disk(again, "files") == [good.id]
    assert again.quotas.held(UPLOADER) == 1


OTHER = "198.51.100.7"


async def test_each_file_counts_as_held_by_its_uploader_until_it_is_taken(tmp_path: Path) -> None:
    quotas = UploadQuotas()
    store = PoolStore(tmp_path, quotas=quotas)
    await give(store, b"a1")
    await give(store, b"a2")
    _, token = await give(store, b"b1", uploader=OTHER)
    assert (quotas.held(UPLOADER), quotas.held(OTHER)) == (2, 1)
    with pytest.raises(OSError):
        async with store.claiming(token):
            # Taken off the shelf for a download: no longer waiting to be taken.
            assert quotas.held(UPLOADER) == 1
            raise OSError("the response could not be started")
    assert quotas.held(UPLOADER) == 2  # given back: waiting again
    entry, _ = await take(store, token)
    assert entry.uploader == UPLOADER
    assert (quotas.held(UPLOADER), quotas.held(OTHER)) == (1, 1)


async def test_a_restart_counts_each_address_its_files_again(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    first, _ = await give(store, b"a1")
    await give(store, b"a2")
    _, token = await give(store, b"b1", uploader=OTHER)
    # The uploader's limit key is in the entry's metadata, and only there.
    assert json.loads((tmp_path / "files" / first.id / "meta.json").read_text())["uploader"] == UPLOADER
    again = PoolStore(tmp_path, quotas=UploadQuotas())
    assert (again.quotas.held(UPLOADER), again.quotas.held(OTHER)) == (2, 1)
    await take(again, token)
    assert again.quotas.held(UPLOADER) == 1


async def test_an_entry_an_older_server_took_is_still_served(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    old, _ = await give(store, b"from before the quotas")
    _, token = await give(store, b"new", uploader=OTHER)
    meta = tmp_path / "files" / old.id / "meta.json"
    fields = json.loads(meta.read_text())
    del fields["uploader"]
    meta.write_text(json.dumps(fields))
    again = PoolStore(tmp_path)
    # Counted under the empty key, which no upload over TCP has.
    assert again.quotas.held(UPLOADER) == 0 and again.quotas.held("") == 1
    assert (await take(again, token))[1] == b"from before the quotas"


def balanced(store: PoolStore) -> bool:
    """As many unspent tokens as files, in memory and on disk, with nothing half done,
    and the quota counting exactly what the pool holds."""
    stats = store.stats()
    return (
        len(on_disk(store, "tokens")) == len(on_disk(store, "files")) == stats.count
        and on_disk(store, "incoming") == on_disk(store, "claimed") == []
        and store.room.files == stats.count
        and store.room.bytes == stats.total_bytes
    )


async def test_quota_counts_files_being_downloaded_until_they_are_erased(tmp_path: Path) -> None:
    store = PoolStore(tmp_path, PoolLimits(max_files=2, max_bytes=10))
    _, token = await give(store, b"12345")
    await give(store, b"abcde")
    async with store.claiming(token) as claim:
        claim.hand_out()
        assert store.stats().count == 1
        with pytest.raises(PoolFull):
            store.check_room()
    assert balanced(store) and store.stats().count == 1
    await give(store, b"12345")


async def test_a_download_broken_after_the_hand_out_loses_the_file_and_spends_the_token(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    given, _ = await give(store, b"given")
    _, token = await give(store, b"taker")
    with pytest.raises(ConnectionResetError):
        async with store.claiming(token) as claim:
            claim.hand_out()
            assert claim.data.read(2) == b"gi"
            raise ConnectionResetError  # the downloader went away midway
    assert balanced(store) and store.stats().count == 1
    assert given.id not in on_disk(store, "files")
    with pytest.raises(TokenRefused):
        await refused_claim(store, token)


async def test_a_claim_left_before_the_hand_out_is_given_back_and_the_token_valid(tmp_path: Path) -> None:
    store = PoolStore(tmp_path, PoolLimits(max_files=2))
    entry, _ = await give(store, b"given")
    _, token = await give(store, b"taker")
    with pytest.raises(OSError):
        async with store.claiming(token):
            raise OSError("the response could not be started")
    assert balanced(store) and store.stats().count == 2
    with pytest.raises(PoolFull):
        store.check_room()  # the claim's place is not counted twice
    assert await take(store, token) == (entry, b"given")


async def test_a_claimed_file_that_cannot_be_read_is_unavailable_and_nothing_is_lost(tmp_path: Path) -> None:
    store = PoolStore(tmp_path)
    given, _ = await give(store, b"given")
    _, token = await give(store, b"taker")
    data = tmp_path / "files" / given.id / "data"
    data.rename(data.with_name("aside"))
    data.mkdir()  # what the claim opens is now a directory: the open fails
    with pytest.raises(Unavailable, match="your token stays valid"):
        await refused_claim(store, token)
    assert balanced(store) and store.stats().count == 2
    data.rmdir()
    data.with_name("aside").rename(data)
    assert await take(store, token) == (given, b"given")


async def cut_commit(store: PoolStore, _given: Entry, _token: str) -> None:
    """An upload is committed as far as its entry's rename; its token's record is not."""
    upload = await begun(store.uploading("cut.txt", UPLOADER))
    await feed(upload, b"committed halfway")
    upload.seal()
    os.rename(upload.directory, store.files / upload.id)


async def cut_claim(store: PoolStore, given: Entry, _token: str) -> None:
    """A claim renames the file into claimed/, but not yet the token's record after it
    (which is also where a give-back stops halfway)."""
    os.rename(store.files / given.id, store.claimed / given.id)


async def claimed(store: PoolStore, _given: Entry, token: str) -> None:
    """A claim is made: its download is under way."""
    (await begun(store.claiming(token))).hand_out()


async def cut_erase(store: PoolStore, _given: Entry, token: str) -> None:
    """A download ends and its file is deleted, all but the token's record."""
    claim = await begun(store.claiming(token))
    claim.data.close()
    for name in ("data", "meta.json"):
        (claim.directory / name).unlink()


@pytest.mark.parametrize("crash, kept", [(cut_commit, 2), (cut_claim, 2), (claimed, 1), (cut_erase, 1)])
async def test_a_crash_at_any_step_leaves_as_many_tokens_as_files(
    tmp_path: Path, crash: Callable[[PoolStore, Entry, str], Awaitable[None]], kept: int
) -> None:
    store = PoolStore(tmp_path)
    given, _ = await give(store, b"given")
    _, token = await give(store, b"taker")
    await crash(store, given, token)
    again = PoolStore(tmp_path)
    assert balanced(again) and again.stats().count == kept
    assert again.quotas.held(UPLOADER) == kept
    if kept == 2:  # nothing was handed out: the token takes the file still
        assert await take(again, token) == (given, b"given")
    else:
        with pytest.raises(TokenRefused):
            await refused_claim(again, token)


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="no reads that refuse to wait for the disk here")
def test_read_cached_gives_only_what_the_page_cache_holds(tmp_path: Path) -> None:
    path = tmp_path / "data"
    with open(path, "wb") as file:
        file.write(b"0123456789" * 1000)
        file.flush()
        os.fsync(file.fileno())  # clean pages, which the cache can drop
    descriptor = os.open(path, os.O_RDONLY)
    try:
        assert read_cached(descriptor, 0, 10) == b"0123456789"
        assert read_cached(descriptor, 9995, 100) == b"56789"
        assert read_cached(descriptor, 10_000, 100) == b""
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        if read_cached(descriptor, 0, 10) is not None:
            pytest.skip("this file system keeps files in memory (tmpfs)")
        # On the disk only: the read a worker thread makes brings it back.
        assert os.pread(descriptor, 10, 0) == b"0123456789"
        assert read_cached(descriptor, 0, 10) == b"0123456789"
    finally:
        os.close(descriptor)
