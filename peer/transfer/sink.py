"""Where ``sendit receive`` puts files: a directory (via ``NAME.part``) or standard output."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import BinaryIO, Protocol, Sequence

from sendit_protocol.messages import FileEntry

from ..errors import PeerError, UsageError

PART_SUFFIX = ".part"
#: ``-o -``: the one file goes to standard output.
STDOUT = "-"
# When the file system does not say (pathconf fails): Linux's limits, ext4's name limit.
NAME_MAX = 255
PATH_MAX = 4096
#: What the sender hears when this side refuses an offer for reasons of its own disk.
CANNOT_SAVE = "the receiver cannot save these files"


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

    def __init__(self, target: Path, name: str, overwrite: bool, keep_partial: bool) -> None:
        self.target = target
        self.part = target.with_name(target.name + PART_SUFFIX)
        #: The manifest's name, for the sender's ears: it never hears this side's paths.
        self.name = name
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
            raise self._failed(self.part, error) from None

    def _failed(self, path: Path, error: OSError) -> PeerError:
        return PeerError(f"cannot write {path}: {error.strerror}", told=f"cannot write {self.name}: {error.strerror}")

    def write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except OSError as error:
            raise self._failed(self.part, error) from None

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
            raise PeerError(
                f"{self.target} appeared while receiving; kept the new copy as {self.part}",
                told=f"{self.name} appeared on the receiver's side while receiving",
            ) from None
        except OSError as error:
            raise self._failed(self.target, error) from None

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
        # The transfer has failed already, and says why; a file that cannot even be
        # closed or removed (a full disk, a vanished folder) changes nothing.
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
            if not self.keep_partial:
                with contextlib.suppress(OSError):
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
            raise PeerError(f"{name} would be written outside {self.root}; refused", told=CANNOT_SAVE)
        return target

    def check(self, files: Sequence[FileEntry]) -> None:
        """Whether the offer can be saved here; the offer itself was checked already
        (sendit_protocol.messages.check_offer: no name twice, none a folder of another)."""
        names = {entry.name for entry in files}
        name_max, path_max = self._limits()
        for entry in files:
            _check_no_part_clash(entry.name, names)
            self._check_length(entry.name, name_max, path_max)
            self._check_free(entry.name)
        self._check_space(files)

    def _limits(self) -> tuple[int, int]:
        """The longest name part and path, in bytes, that the file system under ``root`` takes."""
        # root may not exist yet: its nearest existing folder is on the same file system.
        folder = os.path.abspath(self.root)
        while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
            folder = os.path.dirname(folder)
        try:
            return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
        except (OSError, ValueError):
            return NAME_MAX, PATH_MAX

    def _check_length(self, name: str, name_max: int, path_max: int) -> None:
        """Every part of ``name``, the last with the ``.part`` written while receiving, fits
        the file system; otherwise opening it would fail only after the offer was accepted."""
        parts = name.split("/")
        parts[-1] += PART_SUFFIX
        try:
            sizes = [len(os.fsencode(part)) for part in parts]
            whole = len(os.fsencode(os.path.join(os.path.abspath(self.root), *parts)))
        except UnicodeEncodeError:
            raise PeerError(
                f"{name} cannot be written in this system's file name encoding; refused",
                told=f"{CANNOT_SAVE}: a name is not valid in its file name encoding: {name}",
            ) from None
        longest = max(sizes)
        if longest > name_max:
            raise PeerError(
                f"{name}: a name part is {longest} bytes (with {PART_SUFFIX} while receiving), longer than "
                f"the {name_max} the file system of {self.root} allows; refused",
                told=f"{CANNOT_SAVE}: a name part of {longest} bytes is longer than its file system allows "
                f"({name_max}, {PART_SUFFIX} included): {name}",
            )
        # PATH_MAX counts the terminating NUL.
        if whole >= path_max:
            raise PeerError(
                f"{name}: its path under {self.root} would be {whole} bytes, longer than the file system allows "
                f"({path_max - 1}); refused",
                told=f"{CANNOT_SAVE}: a path is longer than its file system allows: {name}",
            )

    def _check_free(self, name: str) -> None:
        """Nothing in the way of ``name`` or its ``.part`` here, unless --overwrite."""
        target = self._target(name)
        for path in (target, target.with_name(target.name + PART_SUFFIX)):
            try:
                if path.is_dir():
                    raise PeerError(f"{path} is a folder; cannot receive a file there", told=CANNOT_SAVE)
                if (path.exists() or path.is_symlink()) and not self.overwrite:
                    raise PeerError(f"{path} already exists (use --overwrite to replace it)", told=CANNOT_SAVE)
            except OSError as error:
                raise PeerError(f"cannot look at {path}: {error.strerror}", told=CANNOT_SAVE) from None

    def _check_space(self, files: Sequence[FileEntry]) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.root).free
        except OSError as error:
            raise PeerError(f"cannot write to {self.root}: {error.strerror}", told=CANNOT_SAVE) from None
        needed = sum(entry.size for entry in files)
        if needed > free:
            raise PeerError(
                f"not enough space in {self.root}: {needed} bytes offered, {free} free",
                told=f"{CANNOT_SAVE}: not enough free space",
            )

    def open(self, index: int, entry: FileEntry) -> PartFile:
        return PartFile(self._target(entry.name), entry.name, self.overwrite, self.keep_partial)


def _check_no_part_clash(name: str, names: set[str]) -> None:
    """``name`` is not also the ``NAME.part`` this side writes while receiving another."""
    if name + PART_SUFFIX in names:
        raise PeerError(
            f"the offer has both {name} and {name}{PART_SUFFIX}, which this side writes while receiving; refused",
            told=f"{CANNOT_SAVE}: it writes {name}{PART_SUFFIX} while receiving {name}",
        )


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
