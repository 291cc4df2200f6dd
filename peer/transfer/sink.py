"""Where ``sendit receive`` puts files: a directory (via ``NAME.part``) or standard output.

A directory keeps what a transfer that broke had received: ``NAME.part`` and beside it
``NAME.part.sendit``, the sidecar, a JSON object with the offered size and type and the
hex hashes of the whole blocks in the part (docs/PROTOCOL.md 4.5), so that the same file
offered again resumes (4.6). The sidecar is written only after the bytes it covers were
synced, and trusted only as far as the part's length goes: it may lag the part (then the
bytes after it are received again), never lead it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol, Sequence

from sendit_protocol.digest import BLOCK_SIZE, BlockDigest
from sendit_protocol.messages import FileEntry, block_count

from ..errors import PeerError, UsageError
from .blocks import hash_file, kept_bytes

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"
SIDECAR_SUFFIX = ".part.sendit"
SIDECAR_VERSION = 1
#: The sidecar is brought up to date (after a sync of the part) every this many blocks.
CHECKPOINT_BLOCKS = 32
#: ``-o -``: the one file goes to standard output.
STDOUT = "-"
# When the file system does not say (pathconf fails): Linux's limits, ext4's name limit.
NAME_MAX = 255
PATH_MAX = 4096
#: What the sender hears when this side refuses an offer for reasons of its own disk.
CANNOT_SAVE = "the receiver cannot save these files"


class FileWriter(Protocol):
    """One incoming file: bytes as they arrive (after the machine hashed them into the
    :class:`BlockDigest` it opened the writer with), then commit (verified) or discard."""

    def write(self, data: bytes) -> None: ...

    def truncate(self, kept: BlockDigest) -> None:
        """A reconnection: keep only the whole blocks of ``kept`` (its length, a block
        boundary), which from now on are hashed into."""

    def commit(self) -> None: ...

    def discard(self, keep: bool) -> None:
        """The transfer ended before the file was verified: ``keep`` (a break, not a
        damaged file) leaves what was received for a resume, where the sink can."""


class Sink(Protocol):
    """Checks an offer before it is accepted, says what it holds of it already, then
    opens a writer per file."""

    def check(self, files: Sequence[FileEntry], resume: bool = False) -> None: ...

    def holdings(self, files: Sequence[FileEntry]) -> dict[int, list[bytes]]:
        """After a :meth:`check` with ``resume``: the hashes of the leading blocks held of
        each file (at least one), by index; blocking (it may hash whole files)."""

    def open(self, index: int, entry: FileEntry, kept: BlockDigest) -> FileWriter:
        """A writer for file ``index`` that keeps the first ``kept.length`` bytes held of
        it (0: starts empty)."""


def sidecar_of(part: Path) -> Path:
    return part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX)


@dataclass(frozen=True)
class Partial:
    """A ``NAME.part`` of ours, as its sidecar describes it."""

    size: int
    type: str
    #: The hashes of its whole blocks, no more than its bytes on disk cover.
    blocks: list[bytes]


def read_partial(part: Path) -> Partial | None:
    """The partial at ``part``, if it is one of ours (a regular file with a readable sidecar)."""
    try:
        info = os.lstat(part)
        fields = json.loads(sidecar_of(part).read_text("utf-8"))
        size, kind, blocks = fields["size"], fields["type"], [bytes.fromhex(h) for h in fields["blocks"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not stat.S_ISREG(info.st_mode) or fields.get("version") != SIDECAR_VERSION or type(size) is not int:
        return None
    if not isinstance(kind, str) or any(len(block) != 32 for block in blocks):
        return None
    # Only what the part's bytes cover: the last, short block only if the part is whole.
    on_disk = block_count(size) if info.st_size >= size else info.st_size // BLOCK_SIZE
    return Partial(size=size, type=kind, blocks=blocks[: min(on_disk, block_count(size))])


class PartFile:
    """Writes ``NAME.part`` (and its sidecar) and renames it to ``NAME`` only once the
    file is verified."""

    def __init__(self, target: Path, entry: FileEntry, kept: BlockDigest, overwrite: bool, keep_damaged: bool) -> None:
        self.target = target
        self.part = target.with_name(target.name + PART_SUFFIX)
        self.sidecar = sidecar_of(self.part)
        self.entry = entry
        #: The manifest's name, for the sender's ears: it never hears this side's paths.
        self.name = entry.name
        self.overwrite = overwrite
        self.keep_damaged = keep_damaged
        self.hashes = kept
        self._checkpointed = -1
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if kept.length:
                # Ours (the sink checked its sidecar), never through a symbolic link.
                descriptor = os.open(self.part, os.O_WRONLY | os.O_NOFOLLOW)
                os.ftruncate(descriptor, kept_bytes(kept, entry.size))
                os.lseek(descriptor, kept_bytes(kept, entry.size), os.SEEK_SET)
            else:
                self.part.unlink(missing_ok=True)
                # A new file, never through a symbolic link someone left at NAME.part.
                descriptor = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            self._file: BinaryIO | None = os.fdopen(descriptor, "wb")
        except OSError as error:
            raise self._failed(self.part, error) from None
        # At once, so that a part is never left without the sidecar that marks it ours.
        self._checkpoint()

    def _failed(self, path: Path, error: OSError) -> PeerError:
        return PeerError(f"cannot write {path}: {error.strerror}", told=f"cannot write {self.name}: {error.strerror}")

    def write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except OSError as error:
            raise self._failed(self.part, error) from None
        if len(self.hashes.hashes) - self._checkpointed >= CHECKPOINT_BLOCKS:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """The sidecar, covering the whole blocks written so far, once they are on disk.
        A sidecar that cannot be written only costs the resume: the transfer goes on."""
        assert self._file is not None
        blocks = list(self.hashes.hashes)
        fields = {"version": SIDECAR_VERSION, "size": self.entry.size, "type": self.entry.type}
        text = json.dumps({**fields, "blocks": [block.hex() for block in blocks]})
        spare = self.sidecar.with_name(self.sidecar.name + ".new")
        try:
            # Syncs only once it claims blocks: one that claims none only marks the part
            # as ours, and a file of many small ones is not slowed down by syncs.
            self._file.flush()
            if blocks:
                os.fsync(self._file.fileno())
            _write_synced(spare, text, sync=bool(blocks))
            os.replace(spare, self.sidecar)
        except OSError as error:
            log.warning("cannot keep %s for resuming: %s", self.sidecar, error.strerror)
            with contextlib.suppress(OSError):
                spare.unlink(missing_ok=True)
        self._checkpointed = len(blocks)

    def truncate(self, kept: BlockDigest) -> None:
        assert self._file is not None
        self.hashes = kept
        try:
            self._file.flush()
            self._file.truncate(kept_bytes(kept, self.entry.size))
            self._file.seek(kept_bytes(kept, self.entry.size))
        except OSError as error:
            raise self._failed(self.part, error) from None
        self._checkpoint()

    def commit(self) -> None:
        assert self._file is not None
        try:
            self._file.close()
            self._file = None
            with contextlib.suppress(OSError):
                self.sidecar.unlink(missing_ok=True)  # one that could not be written (its name too long)
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

    def discard(self, keep: bool) -> None:
        # The transfer has failed already, and says why; a file that cannot even be
        # closed or removed (a full disk, a vanished folder) changes nothing.
        if self._file is None:
            return
        # Kept only if a whole block came: less is quicker received again than resumed.
        keep = keep and bool(self.hashes.hashes)
        if keep:
            with contextlib.suppress(OSError):
                self._checkpoint()
        with contextlib.suppress(OSError):
            self._file.close()
        self._file = None
        if keep and self.sidecar.exists():
            return
        with contextlib.suppress(OSError):
            # A damaged file is not resumed: kept only when asked, and then without
            # the sidecar that would offer it for resuming.
            self.sidecar.unlink(missing_ok=True)
            if not self.keep_damaged:
                self.part.unlink(missing_ok=True)


class PresentFile:
    """A file already complete at NAME from an earlier run, listed whole in the accept
    and confirmed by the sender: nothing to write; it stays as it is once verified."""

    def write(self, data: bytes) -> None:
        raise AssertionError("no bytes come for a file held whole")  # the machine checks the size first

    def truncate(self, kept: BlockDigest) -> None:
        """Nothing was written."""

    def commit(self) -> None:
        """It is in place already."""

    def discard(self, keep: bool) -> None:
        """It was there before this transfer, and stays."""


def _write_synced(path: Path, text: str, sync: bool) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        if sync:
            os.fsync(out.fileno())


class DirectorySink:
    """Files under ``root``, paths from the manifest kept; never outside ``root``.

    With ``resume`` (the sender can), what an earlier run left is taken up: a partial of
    ours of the offered size, and a file already at NAME of the offered size (listed
    whole, so that the sender skips it if it is the same; if not, it is not replaced
    without ``overwrite``). Without, a partial of ours is started over, and anything at
    NAME is refused as before."""

    def __init__(self, root: Path, overwrite: bool = False, keep_damaged: bool = False) -> None:
        self.root = root
        self.overwrite = overwrite
        self.keep_damaged = keep_damaged
        #: What check found held of each offered name: a Partial, or the size at NAME.
        self._found: dict[str, Partial | int] = {}

    def _target(self, name: str) -> Path:
        # Names were checked against PROTOCOL.md 3.1 (relative, no ..); a symbolic link
        # already under root could still lead elsewhere, so the real path decides.
        target = self.root / name
        real_root = os.path.realpath(self.root)
        if os.path.commonpath([real_root, os.path.realpath(target)]) != real_root:
            raise PeerError(f"{name} would be written outside {self.root}; refused", told=CANNOT_SAVE)
        return target

    def check(self, files: Sequence[FileEntry], resume: bool = False) -> None:
        """Whether the offer can be saved here; the offer itself was checked already
        (sendit_protocol.messages.check_offer: no name twice, none a folder of another)."""
        names = {entry.name for entry in files}
        name_max, path_max = self._limits()
        self._found = {}
        for entry in files:
            _check_no_part_clash(entry.name, names)
            self._check_length(entry.name, name_max, path_max)
            self._check_free(entry, resume)
        self._check_space(files)

    def holdings(self, files: Sequence[FileEntry]) -> dict[int, list[bytes]]:
        held = {}
        for index, entry in enumerate(files):
            found = self._found.get(entry.name)
            if isinstance(found, Partial):
                blocks = found.blocks
            elif found is not None:
                try:
                    blocks = hash_file(self._target(entry.name), entry.size, entry.size).held(entry.size)
                except OSError as error:
                    raise PeerError(
                        f"cannot read {self._target(entry.name)}: {error.strerror}", told=CANNOT_SAVE
                    ) from None
                if len(blocks) != block_count(entry.size):
                    self._found.pop(entry.name)  # it changed since: not held after all
                    continue
            else:
                continue
            if blocks:
                held[index] = blocks
        return held

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

    def _check_free(self, entry: FileEntry, resume: bool) -> None:
        """Nothing in the way of the file or its ``.part`` here, unless --overwrite; but
        what an earlier run of ours left is no obstacle: it is resumed or started over."""
        target = self._target(entry.name)
        part = target.with_name(target.name + PART_SUFFIX)
        for path in (target, part):
            try:
                if path.is_dir():
                    raise PeerError(f"{path} is a folder; cannot receive a file there", told=CANNOT_SAVE)
                if not (path.exists() or path.is_symlink()) or self._held(entry, path, resume):
                    continue
                if not self.overwrite:
                    raise PeerError(f"{path} already exists (use --overwrite to replace it)", told=CANNOT_SAVE)
            except OSError as error:
                raise PeerError(f"cannot look at {path}: {error.strerror}", told=CANNOT_SAVE) from None

    def _held(self, entry: FileEntry, path: Path, resume: bool) -> bool:
        """Whether ``path`` (the file's NAME or its part) is ours to take up or start over."""
        if path.name.endswith(PART_SUFFIX):
            partial = read_partial(path)
            if partial is not None and resume and partial.size == entry.size:
                self._found[entry.name] = partial
            return partial is not None
        info = os.lstat(path)
        if resume and stat.S_ISREG(info.st_mode) and info.st_size == entry.size:
            self._found[entry.name] = info.st_size
            return True
        return False

    def _check_space(self, files: Sequence[FileEntry]) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.root).free
        except OSError as error:
            raise PeerError(f"cannot write to {self.root}: {error.strerror}", told=CANNOT_SAVE) from None
        needed = sum(entry.size - self._held_bytes(entry) for entry in files)
        if needed > free:
            raise PeerError(
                f"not enough space in {self.root}: {needed} bytes offered, {free} free",
                told=f"{CANNOT_SAVE}: not enough free space",
            )

    def _held_bytes(self, entry: FileEntry) -> int:
        found = self._found.get(entry.name)
        if isinstance(found, Partial):
            return min(len(found.blocks) * BLOCK_SIZE, entry.size)
        return 0 if found is None else entry.size

    def open(self, index: int, entry: FileEntry, kept: BlockDigest | None = None) -> FileWriter:
        kept = kept or BlockDigest()
        target = self._target(entry.name)
        if isinstance(self._found.get(entry.name), int):
            if kept.length:
                return PresentFile()
            if not self.overwrite:
                # Listed whole, and the sender's differs: never replaced unasked.
                raise PeerError(
                    f"{target} already exists and differs from the offered file (use --overwrite to replace it)",
                    told=f"{CANNOT_SAVE}: {entry.name} exists there already, with other contents",
                )
        return PartFile(target, entry, kept, self.overwrite, self.keep_damaged)


def _check_no_part_clash(name: str, names: set[str]) -> None:
    """``name`` is not also the ``NAME.part`` (or its sidecar) this side writes while
    receiving another."""
    for suffix in (PART_SUFFIX, SIDECAR_SUFFIX):
        if name + suffix in names:
            raise PeerError(
                f"the offer has both {name} and {name}{suffix}, which this side writes while receiving; refused",
                told=f"{CANNOT_SAVE}: it writes {name}{suffix} while receiving {name}",
            )


class StreamSink:
    """One file written straight to a stream (``-o -``); its digest is checked at the end,
    so a damaged transfer shows in the exit status, not by holding bytes back. Bytes go
    out a whole block at a time, since a reconnection takes up from the last whole block
    and what was written cannot be taken back; nothing is held for a later run."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self._block = bytearray()

    def check(self, files: Sequence[FileEntry], resume: bool = False) -> None:
        if len(files) != 1:
            raise UsageError(f"-o - takes exactly one file; the sender offers {len(files)}")

    def holdings(self, files: Sequence[FileEntry]) -> dict[int, list[bytes]]:
        return {}

    def open(self, index: int, entry: FileEntry, kept: BlockDigest | None = None) -> StreamSink:
        return self

    def write(self, data: bytes) -> None:
        self._block += data
        if len(self._block) >= BLOCK_SIZE:
            whole = len(self._block) - len(self._block) % BLOCK_SIZE
            self._put(self._block[:whole])
            del self._block[:whole]

    def _put(self, data: Any) -> None:
        try:
            self.stream.write(data)
        except OSError as error:
            raise PeerError(f"cannot write to standard output: {error.strerror}") from None

    def truncate(self, kept: BlockDigest) -> None:
        self._block.clear()

    def commit(self) -> None:
        self._put(self._block)
        self._block.clear()
        try:
            self.stream.flush()
        except OSError as error:
            raise PeerError(f"cannot write to standard output: {error.strerror}") from None

    def discard(self, keep: bool) -> None:
        """Bytes already written cannot be taken back; the exit status tells."""
