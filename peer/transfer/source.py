"""What ``sendit send`` offers: files, directory trees and standard input, as manifest entries."""

from __future__ import annotations

import mimetypes
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Sequence

from sendit_protocol.messages import MAX_FILES, FileEntry, InvalidMessage, check_name, check_offer

from ..errors import UsageError

STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One file to send: its name in the manifest and where its bytes come from."""

    name: str
    path: Path
    size: int
    type: str
    # An unlinked spool file lives as long as this handle: nothing to clean up after.
    spool: BinaryIO | None = field(default=None, compare=False, repr=False)

    @property
    def entry(self) -> FileEntry:
        return FileEntry(name=self.name, size=self.size, type=self.type)

    def open(self) -> BinaryIO:
        return open(self.path, "rb")


def _source(name: str, path: Path, size: int, spool: BinaryIO | None = None) -> Source:
    try:
        check_name(name)
    except InvalidMessage as error:
        raise UsageError(f"cannot send {path}: {error}") from None
    return Source(name=name, path=path, size=size, type=mimetypes.guess_type(name)[0] or "", spool=spool)


def _walk(root: Path) -> list[Source]:
    """Every regular file under ``root``, named by its path from ``root``'s parent.

    Symbolic links to files are followed, links to directories are not (no loops);
    special files, dangling links and empty directories are not sent."""
    found = []
    base = os.path.basename(os.path.abspath(root))
    for folder, dirs, files in os.walk(root, onerror=_unreadable):
        dirs.sort()
        for file in sorted(files):
            path = Path(folder, file)
            try:
                info = path.stat()
            except OSError:
                continue  # a dangling symbolic link: nothing to send
            if stat.S_ISREG(info.st_mode):
                relative = path.relative_to(root).as_posix()
                found.append(_source(f"{base}/{relative}", path, info.st_size))
    return found


def _unreadable(error: OSError) -> None:
    raise UsageError(f"cannot read the directory {error.filename}: {error.strerror}")


def spool_stdin(stream: BinaryIO, name: str) -> Source:
    """Standard input as one file. A pipe is copied to a temporary file first, since the
    manifest needs the size before the first byte is sent; a redirected file is used as is."""
    info = os.fstat(stream.fileno())
    if stat.S_ISREG(info.st_mode):
        return _source(name, Path(f"/dev/fd/{stream.fileno()}"), info.st_size)
    spool = tempfile.TemporaryFile(prefix="sendit-stdin-")
    try:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.flush()
    except OSError as error:
        spool.close()
        raise UsageError(f"cannot keep standard input for sending: {error.strerror}") from None
    # Reopening /dev/fd/N gives a fresh read position on the same (unlinked) file.
    return _source(name, Path(f"/dev/fd/{spool.fileno()}"), os.fstat(spool.fileno()).st_size, spool)


def collect(paths: Sequence[str], stdin_name: str | None = None) -> list[Source]:
    """The sources for the command line's paths, in order; refuses what cannot be sent."""
    sources = [source for text in paths for source in _sources_for(text, stdin_name)]
    _check_together(sources)
    return sources


def _sources_for(text: str, stdin_name: str | None) -> list[Source]:
    """What one command-line argument sends: standard input, a file, or a directory's files."""
    if text == STDIN:
        if not stdin_name:
            raise UsageError("sending standard input (-) needs --name")
        return [spool_stdin(sys.stdin.buffer, stdin_name)]
    path = Path(text)
    try:
        info = path.stat()
    except OSError as error:
        raise UsageError(f"cannot send {text}: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        return _walk(path)
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"cannot send {text}: not a regular file or directory")
    if not os.access(path, os.R_OK):
        raise UsageError(f"cannot send {text}: permission denied")
    # abspath, not resolve: a link is sent under its own name, not its target's.
    return [_source(os.path.basename(os.path.abspath(path)), path, info.st_size)]


def _check_together(sources: Sequence[Source]) -> None:
    """What no single argument shows: nothing at all, too many, or names no receiver could
    save together (one name twice, or a file where another needs a folder)."""
    if not sources:
        raise UsageError("nothing to send: the directories given hold no files")
    if len(sources) > MAX_FILES:
        raise UsageError(f"too many files: {len(sources)} (at most {MAX_FILES} at a time)")
    try:
        check_offer([source.entry for source in sources])
    except InvalidMessage as error:
        raise UsageError(f"cannot send these together: {error}; send them separately") from None
