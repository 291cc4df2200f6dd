"""Download tokens: each entitles its holder to one download, and survives a restart.

A token is stored only as the SHA-256 of it, as the name of a file that holds the id of
the upload it came with; spending the token deletes that file.
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

    def add(self, token: str, upload_id: str, record: Path) -> None:
        """Move a prepared record into the book: from now on the token is valid."""
        key = token_key(token)
        os.rename(record, self.directory / key)
        self._uploads[key] = upload_id

    def upload_of(self, token: str) -> str | None:
        """The id of the upload ``token`` came with, or None if it is unknown or spent."""
        return self._uploads.get(token_key(token))

    def spend(self, token: str) -> None:
        key = token_key(token)
        os.unlink(self.directory / key)
        del self._uploads[key]
