"""The pool on disk: an upload enters whole or not at all, a download claims atomically.

Layout of the pool directory::

    incoming/<id>/        an upload being received: data, then meta.json
    incoming/<id>.token   the record of its download token, written before it is valid
    files/<id>/           the pool; an entry arrives here, data and meta.json, in one rename
    claimed/<id>/         a file being sent to its downloader, with the record of the
                          token that took it; deleted when the download ends
    tokens/<sha256>       an unspent download token (see :mod:`.tokens`)

Each step is a rename (or, at the end, a deletion), ordered so that a crash anywhere
leaves the start-up a state it can settle with as many unspent tokens as files:

- a commit renames the upload into ``files/``, then its token's record into ``tokens/``.
  A record still in ``incoming/`` means the commit was cut short: the entry is removed.
- a claim renames the file into ``claimed/``, then the token's record into the file's
  directory. A claimed file without the record was never sent: it goes back to
  ``files/``. With the record it was handed out, and is deleted, the record last.
- giving a claimed file back undoes the claim in the opposite order.

On start ``incoming/`` is then emptied (an upload cut short never counted) and the pool
is read back from ``files/``. Directories are made on the first upload, so a server
whose pool is never used writes nothing.

An upload and a claim are each an ``async with`` (:meth:`PoolStore.uploading`,
:meth:`PoolStore.claiming`) that takes its steps in this order and settles what it
holds on leaving, however the block is left, so no caller sequences them by hand.

Everything runs on one thread, the event loop, and, the start-up aside, does no more
on the disk there than create directories or empty files, rename, and read what the
page cache holds (:func:`read_cached`). The steps marked *blocking* (writing or deleting
data, fsync, reading a whole file: deleting 50 MB can take 50 ms) run in a worker
thread, awaited by the upload or claim they belong to; they touch only its own files,
never the pool's state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from io import FileIO
from pathlib import Path
from typing import BinaryIO, Iterable

from .filenames import clean_name
from .filetypes import KNOWN_TYPES, identify
from .quotas import UploadQuotas
from .refusal import Refusal
from .tokens import TokenBook, new_token, token_key, write_durably

log = logging.getLogger(__name__)

MB = 1000 * 1000
DATA = "data"
META = "meta.json"
#: In a claimed file's directory, the record of the token that took it.
TOKEN = "token"


@dataclass(frozen=True)
class PoolLimits:
    """How much the pool takes: per file, in files, and in bytes on disk."""

    # Decimal units, as the page shows sizes: the original's "50 MB" is 50,000,000 bytes.
    max_file_size: int = 50 * MB
    max_files: int = 1000
    max_bytes: int = 2000 * MB


@dataclass(frozen=True)
class Entry:
    """One file in the pool, as its ``meta.json`` records it."""

    id: str
    name: str
    size: int
    type: str
    #: The limit key of the address it came from, so its quota of files held is the
    #: same after a restart; empty for an entry an older server took. Never sent out.
    uploader: str = ""


@dataclass(frozen=True)
class Stats:
    """What the pool holds: files, bytes, and files per MIME type."""

    count: int
    total_bytes: int
    types: dict[str, int] = field(default_factory=dict)


class PoolError(Refusal):
    """A request the store refuses."""


class FileTooLarge(PoolError):
    error_id = "file-too-large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is too large: the limit is {limit} bytes ({limit / MB:g} MB)")


class PoolFull(PoolError):
    error_id = "pool-full"

    def __init__(self) -> None:
        super().__init__("the pool is full: wait until someone takes a file, then try again")


class EmptyFile(PoolError):
    error_id = "empty-file"

    def __init__(self) -> None:
        super().__init__("the file is empty")


class TokenRefused(PoolError):
    error_id = "token-refused"

    def __init__(self) -> None:
        super().__init__("this token is unknown or already spent: give a file to get a token")


class NothingToGive(PoolError):
    error_id = "pool-empty"

    def __init__(self) -> None:
        super().__init__("no file from someone else is in the pool yet; your token stays valid")


class Unavailable(PoolError):
    """A download that failed on the server's side before sending anything: the file and
    the token stay as they were."""

    error_id = "unavailable"

    def __init__(self) -> None:
        super().__init__("the server could not send a file just now; your token stays valid: try again")


class Room:
    """The pool's quota: files and bytes held, counting uploads on their way (each byte
    as it arrives) and files being downloaded (until they are deleted)."""

    def __init__(self, limits: PoolLimits) -> None:
        self.limits = limits
        self.files = 0
        self.bytes = 0

    def check(self) -> None:
        """Refuse early when the pool could not take even one more byte."""
        if self.files >= self.limits.max_files or self.bytes >= self.limits.max_bytes:
            raise PoolFull()

    def hold(self, size: int = 0) -> None:
        """Count one more file, of ``size`` bytes so far."""
        self.files += 1
        self.bytes += size

    def take_bytes(self, size: int) -> None:
        if self.bytes + size > self.limits.max_bytes:
            raise PoolFull()
        self.bytes += size

    def free(self, size: int) -> None:
        """Give back the place of one file of ``size`` bytes."""
        self.files -= 1
        self.bytes -= size


class Shelf:
    """The files in the pool, ready to be claimed, with what :class:`Stats` reports; each
    counts as held by its uploader's address while it is here."""

    def __init__(self, quotas: UploadQuotas) -> None:
        self.quotas = quotas
        self._entries: dict[str, Entry] = {}
        self._total_bytes = 0
        self._types: Counter[str] = Counter()

    def stats(self) -> Stats:
        return Stats(count=len(self._entries), total_bytes=self._total_bytes, types=dict(self._types))

    def pick(self, excluding: str) -> Entry | None:
        """A random entry other than ``excluding``; None if there is none."""
        candidates = [entry_id for entry_id in self._entries if entry_id != excluding]
        return self._entries[secrets.choice(candidates)] if candidates else None

    def add(self, entry: Entry) -> None:
        self._entries[entry.id] = entry
        self._total_bytes += entry.size
        self._types[entry.type] += 1
        self.quotas.hold(entry.uploader)

    def remove(self, entry: Entry) -> None:
        del self._entries[entry.id]
        self._total_bytes -= entry.size
        self._types[entry.type] -= 1
        if not self._types[entry.type]:
            del self._types[entry.type]
        self.quotas.release(entry.uploader)


class Upload:
    """A file being received: ``async with store.uploading(name, uploader) as upload``.

    Entering holds a place in the pool; :meth:`commit` puts the file in the pool whole.
    Leaving the block without a commit, for whatever reason, erases what was received
    and gives the place back: nothing is ever half in the pool.
    """

    def __init__(self, store: PoolStore, name: str, uploader: str) -> None:
        self.store = store
        self.id = uuid.uuid4().hex
        self.name = name
        self.uploader = uploader
        self.size = 0
        self.directory = store.incoming / self.id
        self.token_record = store.incoming / f"{self.id}.token"
        self.token = new_token()
        self.committed = False
        self._file: BinaryIO | None = None

    async def __aenter__(self) -> Upload:
        self.store.room.check()
        self.store.make_directories()
        self.directory.mkdir()
        self._file = open(self.directory / DATA, "w+b")
        self.store.room.hold()
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        if self.committed:
            return
        try:
            await asyncio.to_thread(self._erase)
        finally:
            self.store.room.free(self.size)

    @property
    def file(self) -> BinaryIO:
        if self._file is None:
            raise RuntimeError("the upload is used outside its async with")
        return self._file

    def reserve(self, size: int) -> None:
        """Count ``size`` more bytes before they are written; refused past the file or
        pool limit."""
        limit = self.store.room.limits.max_file_size
        if self.size + size > limit:
            raise FileTooLarge(limit)
        self.store.room.take_bytes(size)
        self.size += size

    async def write(self, chunks: Iterable[bytes]) -> None:
        """Append chunks that :meth:`reserve` counted, in a worker thread."""
        await asyncio.to_thread(self.file.writelines, chunks)

    def seal(self) -> Entry:
        """*Blocking*: make the data durable, identify its type, write its metadata and
        its token's record; raises if the pool does not take it."""
        if self.size == 0:
            raise EmptyFile()
        self.file.flush()
        os.fsync(self.file.fileno())
        entry = Entry(id=self.id, name=self.name, size=self.size, type=identify(self.file), uploader=self.uploader)
        self.file.close()
        write_durably(self.directory / META, json.dumps(asdict(entry)).encode())
        TokenBook.prepare(self.id, self.token_record)
        return entry

    async def commit(self) -> tuple[Entry, str]:
        """Seal the upload, put it into the pool, and make that durable; returns its entry
        and its download token. Its place in the quota becomes the file's."""
        entry = await asyncio.to_thread(self.seal)
        os.rename(self.directory, self.store.files / entry.id)
        self.store.tokens.add(token_key(self.token), entry.id, self.token_record)
        self.committed = True
        self.store.shelf.add(entry)
        await asyncio.to_thread(_fsync_directories, self.store.files, self.store.tokens.directory)
        return entry, self.token

    def _erase(self) -> None:
        """*Blocking*: delete what was received."""
        self.file.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.token_record.unlink(missing_ok=True)


class Claim:
    """A file taken out of the pool for one downloader: ``async with store.claiming(token) as claim``.

    Entering takes a random file not uploaded with ``token`` and spends the token, in one
    step on the loop, so no other claim can see either; then it makes that durable and
    opens the file (:attr:`data`), or, failing, puts both back and raises
    :class:`Unavailable`. Once :meth:`hand_out` is called the file leaves the pool on
    leaving the block, whatever happened; before that, leaving gives the file back and
    the token is valid again.
    """

    def __init__(self, store: PoolStore, token: str) -> None:
        self.store = store
        self.token = token
        self.handed_out = False
        self._entry: Entry | None = None
        #: The stored key of the token, and the id of the upload the token came with.
        self._key = self._own = ""
        self._data: FileIO | None = None

    @property
    def entry(self) -> Entry:
        if self._entry is None:
            raise RuntimeError("the claim is used outside its async with")
        return self._entry

    @property
    def directory(self) -> Path:
        return self.store.claimed / self.entry.id

    @property
    def data(self) -> FileIO:
        """The file's data, open for reading."""
        if self._data is None:
            raise RuntimeError("the claim is used outside its async with")
        return self._data

    async def __aenter__(self) -> Claim:
        self._take()
        try:
            # Durable before anything is sent: a power cut cannot then put back in the
            # pool a file that someone already has.
            await asyncio.to_thread(
                _fsync_directories, self.store.files, self.store.tokens.directory, self.store.claimed, self.directory
            )
            self._data = await asyncio.to_thread(FileIO, self.directory / DATA)
        except asyncio.CancelledError:
            self._give_back()
            raise
        except Exception as error:
            log.warning("pool: a claimed file could not be made ready to send, file and token kept: %r", error)
            self._give_back()
            raise Unavailable() from error
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        if self._data is not None:
            self._data.close()
        if not self.handed_out:
            self._give_back()
            return
        try:
            await asyncio.to_thread(_erase, self.directory)
        finally:
            self.store.room.free(self.entry.size)

    def hand_out(self) -> None:
        """The download has begun (its headers, with the file's name, are sent): from now
        on the file leaves the pool however the download ends, and the token stays spent."""
        self.handed_out = True

    def _take(self) -> None:
        store = self.store
        key = token_key(self.token)
        own = store.tokens.upload_of(key)
        if own is None:
            raise TokenRefused()
        entry = store.shelf.pick(excluding=own)
        if entry is None:
            raise NothingToGive()
        self._entry, self._key, self._own = entry, key, own
        os.rename(store.files / entry.id, self.directory)
        store.tokens.spend(key, self.directory / TOKEN)
        store.shelf.remove(entry)

    def _give_back(self) -> None:
        """Undo the claim in the opposite order: the token valid again, then the file."""
        self.store.tokens.add(self._key, self._own, self.directory / TOKEN)
        os.rename(self.directory, self.store.files / self.entry.id)
        self.store.shelf.add(self.entry)


class PoolStore:
    """The pool of files in one directory, with its quota, its uploaders' quotas and its
    download tokens."""

    def __init__(self, directory: Path, limits: PoolLimits = PoolLimits(), quotas: UploadQuotas | None = None) -> None:
        self.directory = directory
        self.limits = limits
        self.quotas = UploadQuotas() if quotas is None else quotas
        self.incoming = directory / "incoming"
        self.files = directory / "files"
        self.claimed = directory / "claimed"
        self.room = Room(limits)
        self.shelf = Shelf(self.quotas)
        self.tokens = TokenBook(directory / "tokens")
        if self.claimed.is_dir():
            for claimed in self.claimed.iterdir():
                self._settle_claim(claimed)
        if self.incoming.is_dir():
            for record in self.incoming.glob("*.token"):
                # A commit cut short between its renames: its uploader never heard 201.
                shutil.rmtree(self.files / record.stem, ignore_errors=True)
            shutil.rmtree(self.incoming, ignore_errors=True)
        if self.files.is_dir():
            self.make_directories()
            for entry_directory in self.files.iterdir():
                self._recover(entry_directory)

    def _settle_claim(self, directory: Path) -> None:
        if (directory / META).is_file() and not (directory / TOKEN).exists():
            # Claimed, or given back, only halfway: nothing of it was sent.
            os.rename(directory, self.files / directory.name)
        else:
            _erase(directory)

    def _recover(self, directory: Path) -> None:
        try:
            entry = Entry(**json.loads((directory / META).read_text()))
            # Its type and name go into a download's headers: only what an upload to
            # this server could have given.
            complete = (
                entry.id == directory.name
                and (directory / DATA).stat().st_size == entry.size
                and entry.type in KNOWN_TYPES
                and clean_name(entry.name) == entry.name
                and isinstance(entry.uploader, str)
            )
        except (OSError, ValueError, TypeError):
            complete = False
        if not complete:
            # Entries arrive by one rename, so only damage from outside, or what an
            # older server took, gets here.
            log.warning("pool: removing damaged entry %s", directory)
            shutil.rmtree(directory, ignore_errors=True)
            return
        self.shelf.add(entry)
        self.room.hold(entry.size)

    def stats(self) -> Stats:
        return self.shelf.stats()

    def check_room(self) -> None:
        """Refuse early when the pool could not take even one more byte."""
        self.room.check()

    def uploading(self, name: str, uploader: str) -> Upload:
        """A file called ``name`` (already cleaned) to receive, in ``async with``, from the
        address whose limit key is ``uploader``."""
        return Upload(self, name, uploader)

    def claiming(self, token: str) -> Claim:
        """A file for the holder of ``token`` to download, in ``async with``."""
        return Claim(self, token)

    def make_directories(self) -> None:
        """Create the pool's directories, which a pool never used does without."""
        for directory in (self.incoming, self.files, self.claimed, self.tokens.directory):
            directory.mkdir(parents=True, exist_ok=True)


#: Linux's flag for a read that fails rather than wait for the disk; None elsewhere.
_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)


def read_cached(descriptor: int, offset: int, size: int) -> bytearray | None:
    """Up to ``size`` bytes of the open file from ``offset``, if the page cache holds
    them (empty at the end of the file); None if reading them means waiting for the
    disk, or the system cannot read without it. Not *blocking*: it never waits."""
    if _NOWAIT is None:
        return None
    data = bytearray(size)
    try:
        count = os.preadv(descriptor, [data], offset, _NOWAIT)
    except OSError:
        # EAGAIN: not cached; EOPNOTSUPP: a file system that cannot tell. Any other
        # error the blocking read, made next, raises again.
        return None
    del data[count:]
    return data


def _fsync_directories(*directories: Path) -> None:
    """*Blocking*: make the renames into and out of ``directories`` durable."""
    for directory in directories:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _erase(directory: Path) -> None:
    """Delete a claimed file's directory, the token's record last: while it is there, a
    restart knows the file was handed out and does not put it back."""
    for name in (DATA, META):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)
