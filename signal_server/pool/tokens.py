"""Download tokens: each entitles its holder to one download, and survives a restart.

A token is stored only as the SHA-256 of it, as the name of a file that holds the id of
the upload it came with; spending the token moves that file out of the book, into the
directory of the file the token took (see :mod:`.store`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

TOKEN_BYTES = 32


def token_key(token: str) -> str:
    """What is stored for ``token``: whoever reads the pool directory cannot spend it."""
    return hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def write_durably(path: Path, data: bytes) -> None:
    """Write and fsync a new file (blocking)."""
    with open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


class TokenBook:
    """The unspent tokens in one directory, each with the id of its own upload."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._uploads: dict[str, str] = {}
        if directory.is_dir():
            for record in directory.iterdir():
                self._uploads[record.name] = record.read_text("ascii")

    @staticmethod
    def prepare(upload_id: str, record: Path) -> None:
        """Write a token's record at ``record``, outside the book (blocking)."""
        write_durably(record, upload_id.encode("ascii"))

    def add(self, key: str, upload_id: str, record: Path) -> None:
        """Move a record into the book, prepared or put back: from now on the token of
        ``key`` is valid."""
        os.rename(record, self.directory / key)
        self._uploads[key] = upload_id

    def upload_of(self, key: str) -> str | None:
        """The id of the upload the token of ``key`` came with, or None if it is unknown
        or spent."""
        return self._uploads.get(key)

    def spend(self, key: str, record: Path) -> None:
        """Move the record of ``key`` out of the book to ``record``: the token is spent."""
        os.rename(self.directory / key, record)
        del self._uploads[key]
