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

Every method is meant for one thread, the event loop, and, the start-up aside, does no
more on the disk than create directories or empty files, rename, and read what the page
cache holds (:func:`read_cached`), except those marked *blocking* (writing or deleting
data, fsync, reading a whole file: deleting 50 MB can take 50 ms), which a worker thread
runs. They touch only their own upload's or claim's files, never the pool's state.
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
from typing import Iterable

from .filenames import clean_name
from .filetypes import KNOWN_TYPES, identify
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

    def reserve(self, size: int) -> None:
        """Count ``size`` more bytes before they are written; refused past the file or
        pool limit."""
        if self.size + size > self.store.limits.max_file_size:
            raise FileTooLarge(self.store.limits.max_file_size)
        self.store._reserve_bytes(size)
        self.size += size

    def write(self, chunks: Iterable[bytes]) -> None:
        """*Blocking*: append chunks that :meth:`reserve` counted."""
        self._file.writelines(chunks)

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

    def erase(self) -> None:
        """*Blocking*: delete what was received; harmless once committed or erased."""
        self._file.close()
        shutil.rmtree(self.directory, ignore_errors=True)
        self.token_record.unlink(missing_ok=True)

    def discard(self) -> None:
        """Give up the upload's place in the pool, after :meth:`erase`; harmless once
        committed or discarded."""
        if self.settled:
            return
        self.settled = True
        self.store._release(self)


@dataclass(frozen=True)
class Claim:
    """A file taken out of the pool for one downloader, and the token that took it."""

    entry: Entry
    directory: Path
    #: The stored key of the token, and the id of the upload the token came with.
    key: str
    own: str

    @property
    def path(self) -> Path:
        """The file's data."""
        return self.directory / DATA


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
        # Uploads in progress hold their place, so the quota counts what is on its way;
        # files being downloaded keep theirs until they are deleted.
        self._uploading = 0
        self._reserved_bytes = 0
        self._claimed_files = 0
        self._claimed_bytes = 0
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
            self._make_directories()
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
            )
        except (OSError, ValueError, TypeError):
            complete = False
        if not complete:
            # Entries arrive by one rename, so only damage from outside, or what an
            # older server took, gets here.
            log.warning("pool: removing damaged entry %s", directory)
            shutil.rmtree(directory, ignore_errors=True)
            return
        self._add(entry)

    def stats(self) -> Stats:
        return Stats(count=len(self._entries), total_bytes=self._total_bytes, types=dict(self._types))

    def check_room(self) -> None:
        """Refuse early when the pool could not take even one more byte."""
        if (
            len(self._entries) + self._uploading + self._claimed_files >= self.limits.max_files
            or self._bytes_held() >= self.limits.max_bytes
        ):
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

    def _bytes_held(self) -> int:
        return self._total_bytes + self._reserved_bytes + self._claimed_bytes

    def _reserve_bytes(self, size: int) -> None:
        if self._bytes_held() + size > self.limits.max_bytes:
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
        self.tokens.add(token_key(upload.token), entry.id, upload.token_record)
        upload.settled = True
        self._release(upload)
        self._add(entry)
        return entry, upload.token

    def flush(self, claim: Claim | None = None) -> None:
        """*Blocking*: make the renames of a commit, or of ``claim``, durable."""
        directories = [self.files, self.tokens.directory]
        if claim is not None:
            directories += [self.claimed, claim.directory]
        for directory in directories:
            descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def claim(self, token: str) -> Claim:
        """Take a random file not uploaded with ``token`` out of the pool and spend the
        token, in one step: no other claim can see the file or the token afterwards."""
        key = token_key(token)
        own = self.tokens.upload_of(key)
        if own is None:
            raise TokenRefused()
        candidates = [entry_id for entry_id in self._entries if entry_id != own]
        if not candidates:
            raise NothingToGive()
        entry = self._entries[secrets.choice(candidates)]
        claim = Claim(entry=entry, directory=self.claimed / entry.id, key=key, own=own)
        os.rename(self.files / entry.id, claim.directory)
        self.tokens.spend(key, claim.directory / TOKEN)
        self._remove(entry)
        self._claimed_files += 1
        self._claimed_bytes += entry.size
        return claim

    def give_back(self, claim: Claim) -> None:
        """Undo a claim whose download sent nothing: the file is back in the pool and
        the token valid again."""
        self.tokens.add(claim.key, claim.own, claim.directory / TOKEN)
        os.rename(claim.directory, self.files / claim.entry.id)
        self.finish(claim)
        self._add(claim.entry)

    @staticmethod
    def erase(claim: Claim) -> None:
        """*Blocking*: delete a claimed file whose download is over, complete or not."""
        _erase(claim.directory)

    def finish(self, claim: Claim) -> None:
        """Free the place a claim held, once its file is erased or given back."""
        self._claimed_files -= 1
        self._claimed_bytes -= claim.entry.size

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


def _erase(directory: Path) -> None:
    """Delete a claimed file's directory, the token's record last: while it is there, a
    restart knows the file was handed out and does not put it back."""
    for name in (DATA, META):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory, ignore_errors=True)
