"""The pool on disk: an upload enters whole or not at all, a download claims atomically.

Layout of the pool directory::

    incoming/<id>/        an upload being received: data, then meta.json
    incoming/<id>.token   the record of its download token, written before it is valid
    files/<id>/           the pool; an entry arrives here, data and meta.json, in one rename
    claimed/<id>/         a file being sent to its downloader, deleted when that ends
    tokens/<sha256>       an unspent download token (see :mod:`.tokens`)

On start ``incoming/`` and ``claimed/`` are emptied (an upload cut short never counted;
a claimed file was already handed out) and the pool is read back from ``files/``.
Directories are made on the first upload, so a server whose pool is never used writes
nothing.

Every method is meant for one thread, the event loop, and returns without waiting,
except those marked *blocking* (fsync, reading a whole file), which a worker thread
runs: they touch only their own upload's files, never the pool's state.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .filetypes import identify
from .tokens import TokenBook, new_token, write_durably

log = logging.getLogger(__name__)

MB = 1000 * 1000
DATA = "data"
META = "meta.json"


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


@dataclass(frozen=True)
class Stats:
    """What the pool holds: files, bytes, and files per MIME type."""

    count: int
    total_bytes: int
    types: dict[str, int] = field(default_factory=dict)


class PoolError(Exception):
    """A request the pool refuses; ``str(error)`` is the message for the client."""


class FileTooLarge(PoolError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is too large: the limit is {limit} bytes ({limit / MB:g} MB)")


class PoolFull(PoolError):
    def __init__(self) -> None:
        super().__init__("the pool is full: wait until someone takes a file, then try again")


class EmptyFile(PoolError):
    def __init__(self) -> None:
        super().__init__("the file is empty")


class TokenRefused(PoolError):
    def __init__(self) -> None:
        super().__init__("this token is unknown or already spent: give a file to get a token")


class NothingToGive(PoolError):
    def __init__(self) -> None:
        super().__init__("no file from someone else is in the pool yet; your token stays valid")


class Upload:
    """A file being received; the store commits it or it is discarded, never half."""

    def __init__(self, store: PoolStore, name: str) -> None:
        self.store = store
        self.id = uuid.uuid4().hex
        self.name = name
        self.size = 0
        self.directory = store.incoming / self.id
        self.token_record = store.incoming / f"{self.id}.token"
        self.token = new_token()
        self.entry: Entry | None = None
        #: Committed or discarded: nothing is left to clean up.
        self.settled = False
        self.directory.mkdir()
        self._file = open(self.directory / DATA, "w+b")

    def write(self, chunk: bytes) -> None:
        """Append a chunk; refused (and nothing kept) past the file or pool limit."""
        if self.size + len(chunk) > self.store.limits.max_file_size:
            raise FileTooLarge(self.store.limits.max_file_size)
        self.store._reserve_bytes(len(chunk))
        self.size += len(chunk)
        self._file.write(chunk)

    def seal(self) -> None:
        """*Blocking*: make the data durable, identify its type, write its metadata and
        its token's record; raises if the pool does not take it."""
        if self.size == 0:
            raise EmptyFile()
        self._file.flush()
        os.fsync(self._file.fileno())
        entry = Entry(id=self.id, name=self.name, size=self.size, type=identify(self._file))
        self._file.close()
        write_durably(self.directory / META, json.dumps(asdict(entry)).encode())
        TokenBook.prepare(self.id, self.token_record)
        self.entry = entry

    def discard(self) -> None:
        """Forget the upload and its files; harmless once committed or discarded."""
        if self.settled:
            return
        self.settled = True
        self._file.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.token_record.unlink(missing_ok=True)
        self.store._release(self)


@dataclass(frozen=True)
class Claim:
    """A file taken out of the pool for one downloader: its entry and its data."""

    entry: Entry
    path: Path


class PoolStore:
    """The pool of files in one directory, with its quota and download tokens."""

    def __init__(self, directory: Path, limits: PoolLimits = PoolLimits()) -> None:
        self.directory = directory
        self.limits = limits
        self.incoming = directory / "incoming"
        self.files = directory / "files"
        self.claimed = directory / "claimed"
        self._entries: dict[str, Entry] = {}
        self._total_bytes = 0
        self._types: Counter[str] = Counter()
        # Uploads in progress hold their place, so the quota counts what is on its way.
        self._uploading = 0
        self._reserved_bytes = 0
        self.tokens = TokenBook(directory / "tokens")
        for leftover in (self.incoming, self.claimed):
            shutil.rmtree(leftover, ignore_errors=True)
        if self.files.is_dir():
            self._make_directories()
            for entry_directory in self.files.iterdir():
                self._recover(entry_directory)

    def _recover(self, directory: Path) -> None:
        try:
            entry = Entry(**json.loads((directory / META).read_text()))
            complete = entry.id == directory.name and (directory / DATA).stat().st_size == entry.size
        except (OSError, ValueError, TypeError):
            complete = False
        if not complete:
            # Entries arrive by one rename, so only damage from outside gets here.
            log.warning("pool: removing damaged entry %s", directory)
            shutil.rmtree(directory, ignore_errors=True)
            return
        self._add(entry)

    def stats(self) -> Stats:
        return Stats(count=len(self._entries), total_bytes=self._total_bytes, types=dict(self._types))

    def check_room(self) -> None:
        """Refuse early when the pool could not take even one more byte."""
        if (len(self._entries) + self._uploading >= self.limits.max_files
                or self._total_bytes + self._reserved_bytes >= self.limits.max_bytes):
            raise PoolFull()

    def open_upload(self, name: str) -> Upload:
        """Start receiving a file called ``name`` (already cleaned); holds a place in the pool."""
        self.check_room()
        self._make_directories()
        upload = Upload(self, name)
        self._uploading += 1
        return upload

    def _make_directories(self) -> None:
        for directory in (self.incoming, self.files, self.claimed, self.tokens.directory):
            directory.mkdir(parents=True, exist_ok=True)

    def _reserve_bytes(self, size: int) -> None:
        if self._total_bytes + self._reserved_bytes + size > self.limits.max_bytes:
            raise PoolFull()
        self._reserved_bytes += size

    def _release(self, upload: Upload) -> None:
        self._uploading -= 1
        self._reserved_bytes -= upload.size

    def commit(self, upload: Upload) -> tuple[Entry, str]:
        """Put a sealed upload into the pool; returns its entry and its download token."""
        entry = upload.entry
        if entry is None:
            raise RuntimeError("commit before seal")
        os.rename(upload.directory, self.files / entry.id)
        self.tokens.add(upload.token, entry.id, upload.token_record)
        upload.settled = True
        self._release(upload)
        self._add(entry)
        return entry, upload.token

    def flush(self) -> None:
        """*Blocking*: make the renames of a commit durable."""
        for directory in (self.files, self.tokens.directory):
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def claim(self, token: str) -> Claim:
        """Take a random file not uploaded with ``token`` out of the pool and spend the
        token, in one step: no other claim can see the file or the token afterwards."""
        own = self.tokens.upload_of(token)
        if own is None:
            raise TokenRefused()
        candidates = [entry_id for entry_id in self._entries if entry_id != own]
        if not candidates:
            raise NothingToGive()
        entry = self._entries[secrets.choice(candidates)]
        os.rename(self.files / entry.id, self.claimed / entry.id)
        self.tokens.spend(token)
        self._remove(entry)
        return Claim(entry=entry, path=self.claimed / entry.id / DATA)

    def finish(self, claim: Claim) -> None:
        """The download is over, complete or not: the file is gone for good."""
        shutil.rmtree(claim.path.parent, ignore_errors=True)

    def _add(self, entry: Entry) -> None:
        self._entries[entry.id] = entry
        self._total_bytes += entry.size
        self._types[entry.type] += 1

    def _remove(self, entry: Entry) -> None:
        del self._entries[entry.id]
        self._total_bytes -= entry.size
        self._types[entry.type] -= 1
        if not self._types[entry.type]:
            del self._types[entry.type]
