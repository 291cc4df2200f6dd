"""Where ``sendit receive`` puts files: a directory (via ``NAME.part``) or standard output."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import BinaryIO, Protocol, Sequence

from ..errors import PeerError, UsageError
from .messages import FileEntry

PART_SUFFIX = ".part"
#: ``-o -``: the one file goes to standard output.
STDOUT = "-"


class FileWriter(Protocol):
    """One incoming file: bytes as they arrive, then commit (verified) or discard."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None: ...

    def discard(self) -> None: ...


class Sink(Protocol):
    """Checks an offer before it is accepted, then opens a writer per file."""

    def check(self, files: Sequence[FileEntry]) -> None: ...

    def open(self, index: int, entry: FileEntry) -> FileWriter: ...


class PartFile:
    """Writes ``NAME.part`` and renames it to ``NAME`` only once the file is verified."""

    def __init__(self, target: Path, overwrite: bool, keep_partial: bool) -> None:
        self.target = target
        self.part = target.with_name(target.name + PART_SUFFIX)
        self.overwrite = overwrite
        self.keep_partial = keep_partial
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if overwrite:
                self.part.unlink(missing_ok=True)
            # A new file, never through a symbolic link someone left at NAME.part.
            descriptor = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            self._file: BinaryIO | None = os.fdopen(descriptor, "wb")
        except OSError as error:
            raise PeerError(f"cannot write {self.part}: {error.strerror}") from None

    def write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except OSError as error:
            raise PeerError(f"cannot write {self.part}: {error.strerror}") from None

    def commit(self) -> None:
        assert self._file is not None
        try:
            self._file.close()
            self._file = None
            if self.overwrite:
                os.replace(self.part, self.target)
            else:
                self._move_unless_taken()
        except FileExistsError:
            raise PeerError(f"{self.target} appeared while receiving; kept the new copy as {self.part}") from None
        except OSError as error:
            raise PeerError(f"cannot write {self.target}: {error.strerror}") from None

    def _move_unless_taken(self) -> None:
        # A hard link fails if NAME exists, with no gap between looking and writing.
        try:
            os.link(self.part, self.target, follow_symlinks=False)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP):
                raise
            # A file system without hard links: look, then rename.
            if os.path.lexists(self.target):
                raise FileExistsError(errno.EEXIST, "exists") from None
            os.replace(self.part, self.target)
        else:
            os.unlink(self.part)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if not self.keep_partial:
                self.part.unlink(missing_ok=True)


class DirectorySink:
    """Files under ``root``, paths from the manifest kept; never outside ``root``."""

    def __init__(self, root: Path, overwrite: bool = False, keep_partial: bool = False) -> None:
        self.root = root
        self.overwrite = overwrite
        self.keep_partial = keep_partial

    def _target(self, name: str) -> Path:
        # Names were checked against PROTOCOL.md 3.1 (relative, no ..); a symbolic link
        # already under root could still lead elsewhere, so the real path decides.
        target = self.root / name
        real_root = os.path.realpath(self.root)
        if os.path.commonpath([real_root, os.path.realpath(target)]) != real_root:
            raise PeerError(f"{name} would be written outside {self.root}; refused")
        return target

    def check(self, files: Sequence[FileEntry]) -> None:
        names = {entry.name for entry in files}
        if len(names) != len(files):
            raise PeerError("the sender offers two files with the same name; refused")
        for entry in files:
            _check_fits_with(entry.name, names)
            self._check_free(entry.name)
        self._check_space(files)

    def _check_free(self, name: str) -> None:
        """Nothing in the way of ``name`` or its ``.part`` here, unless --overwrite."""
        target = self._target(name)
        for path in (target, target.with_name(target.name + PART_SUFFIX)):
            if path.is_dir():
                raise PeerError(f"{path} is a folder; cannot receive a file there")
            if (path.exists() or path.is_symlink()) and not self.overwrite:
                raise PeerError(f"{path} already exists (use --overwrite to replace it)")

    def _check_space(self, files: Sequence[FileEntry]) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.root).free
        except OSError as error:
            raise PeerError(f"cannot write to {self.root}: {error.strerror}") from None
        needed = sum(entry.size for entry in files)
        if needed > free:
            raise PeerError(f"not enough space in {self.root}: {needed} bytes offered, {free} free")

    def open(self, index: int, entry: FileEntry) -> PartFile:
        return PartFile(self._target(entry.name), self.overwrite, self.keep_partial)


def _check_fits_with(name: str, names: set[str]) -> None:
    """``name`` can be written alongside the offer's other ``names``."""
    if name + PART_SUFFIX in names:
        raise PeerError(
            f"the offer has both {name} and {name}{PART_SUFFIX}, which this side writes while receiving; refused"
        )
    parts = name.split("/")
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) in names:
            raise PeerError(f"{name} needs a folder where the offer also has a file; refused")


class StreamSink:
    """One file written straight to a stream (``-o -``); its digest is checked at the end,
    so a damaged transfer shows in the exit status, not by holding bytes back."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def check(self, files: Sequence[FileEntry]) -> None:
        if len(files) != 1:
            raise UsageError(f"-o - takes exactly one file; the sender offers {len(files)}")

    def open(self, index: int, entry: FileEntry) -> StreamSink:
        return self

    def write(self, data: bytes) -> None:
        try:
            self.stream.write(data)
        except OSError as error:
            raise PeerError(f"cannot write to standard output: {error.strerror}") from None

    def commit(self) -> None:
        try:
            self.stream.flush()
        except OSError as error:
            raise PeerError(f"cannot write to standard output: {error.strerror}") from None

    def discard(self) -> None:
        """Bytes already written cannot be taken back; the exit status tells."""
