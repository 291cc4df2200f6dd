"""What a run tells its user: a live display on standard error, or JSON events for scripts."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Sequence, TextIO

import segno
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from sendit_protocol.ice import Route
from sendit_protocol.messages import FileEntry, neutralised

from .errors import PeerError

REFRESH_SECONDS = 0.2
LISTED_FILES = 20


def printable(text: str) -> str:
    """``text`` safe to show: what could drive the terminal or reorder the line (control
    and bidirectional formatting characters, in the peer's words) replaced, rich markup
    escaped."""
    return escape(neutralised(text))


class Reporter:
    """Hears what happens during a run; this base class stays silent."""

    def __init__(self) -> None:
        self.files: list[FileEntry] = []
        self.total = 0
        self.done_bytes = 0
        #: The file bytes that crossed the wire (what was held already did not).
        self.wire_bytes = 0
        self.started_at = 0.0
        self._shown_at = 0.0

    def code(self, code: str, link: str, expires_in: float) -> None:
        """The sender has a code to share."""

    def peer_joined(self) -> None:
        """The two peers are paired."""

    def connected(self, route: Route) -> None:
        """The peers are connected, along ``route`` (docs/PROTOCOL.md 3.5)."""

    def offered(self, files: Sequence[FileEntry]) -> None:
        """The receiver has an offer to accept or decline."""

    def started(self, files: Sequence[FileEntry]) -> None:
        self.files = list(files)
        self.total = sum(f.size for f in files)
        self.started_at = time.monotonic()

    def advanced(self, index: int, file_bytes: int, done_bytes: int) -> None:
        """Bytes moved; shown at most every REFRESH_SECONDS, since chunks come by the thousand."""
        self.done_bytes = done_bytes
        now = time.monotonic()
        if now - self._shown_at >= REFRESH_SECONDS:
            self._shown_at = now
            self.show_progress(index, file_bytes)

    def show_progress(self, index: int, file_bytes: int) -> None:
        """Called by :meth:`advanced`, throttled."""

    def carried(self, count: int) -> None:
        """``count`` file bytes went over the wire."""
        self.wire_bytes += count

    def reconnecting(self) -> None:
        """The connection was lost mid-transfer; a new one is on its way (4.2, item 5)."""

    def reconnected(self) -> None:
        """The transfer goes on over a new connection."""

    def file_done(self, index: int, entry: FileEntry) -> None:
        """A file was verified by the receiver."""

    def done(self) -> None:
        """Every file was delivered and verified."""

    def error(self, error: PeerError) -> None:
        """The run failed."""

    def close(self) -> None:
        """The run is over: release the display."""

    @property
    def seconds(self) -> float:
        return max(time.monotonic() - self.started_at, 1e-9)

    @property
    def rate(self) -> float:
        """Average bytes per second over the wire since the transfer started."""
        return self.wire_bytes / self.seconds if self.started_at else 0.0


def _entry(entry: FileEntry) -> dict[str, Any]:
    return {"name": entry.name, "size": entry.size, "type": entry.type}


class JsonReporter(Reporter):
    """One JSON object a line: ``{"event": ..., ...}`` (README.md, "JSON events")."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out

    def emit(self, event: str, **fields: Any) -> None:
        self.out.write(json.dumps({"event": event, **fields}) + "\n")
        self.out.flush()

    def code(self, code: str, link: str, expires_in: float) -> None:
        self.emit("code", code=code, link=link, expires_in=expires_in)

    def peer_joined(self) -> None:
        self.emit("peer-joined")

    def connected(self, route: Route) -> None:
        self.emit("connected", route=route.value, shown=route.shown)

    def offered(self, files: Sequence[FileEntry]) -> None:
        self.emit("offer", files=[_entry(f) for f in files], total_bytes=sum(f.size for f in files))

    def show_progress(self, index: int, file_bytes: int) -> None:
        self.emit(
            "progress",
            index=index,
            name=self.files[index].name,
            file_bytes=file_bytes,
            bytes=self.done_bytes,
            total_bytes=self.total,
            rate=round(self.rate),
        )

    def file_done(self, index: int, entry: FileEntry) -> None:
        self.emit("file-done", index=index, **_entry(entry))

    def reconnecting(self) -> None:
        self.emit("reconnecting", bytes=self.done_bytes, total_bytes=self.total)

    def reconnected(self) -> None:
        self.emit("reconnected", bytes=self.done_bytes, total_bytes=self.total)

    def done(self) -> None:
        self.emit(
            "done",
            files=len(self.files),
            bytes=self.total,
            wire_bytes=self.wire_bytes,
            seconds=round(self.seconds, 3),
            rate=round(self.rate),
        )

    def error(self, error: PeerError) -> None:
        fields = {} if error.error_id is None else {"error_id": error.error_id}
        self.emit("error", message=str(error), exit_code=int(error.exit_code), **fields)


class HumanReporter(Reporter):
    """Progress bars (total and current file, MB/s, ETA) on a terminal, plain lines otherwise."""

    def __init__(self, out: TextIO = sys.stderr, qr: bool = False) -> None:
        super().__init__()
        self.out = out
        self.qr = qr
        self.console = Console(file=out, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            auto_refresh=False,
            disable=not self.console.is_terminal,
        )
        self._total_task: TaskID | None = None
        self._file_task: TaskID | None = None

    def say(self, text: str, style: str = "") -> None:
        self.progress.console.print(text, style=style)

    def code(self, code: str, link: str, expires_in: float) -> None:
        minutes, seconds = divmod(int(expires_in), 60)
        self.say(f"Code: [bold]{code}[/bold]")
        self.say(f"Link: {link}")
        if self.qr:
            segno.make(link, error="m").terminal(out=self.out, compact=True)
        self.say(f"On the other side: sendit receive {code}   (the code expires in {minutes}:{seconds:02d})")
        self.say("Waiting for the receiver…")

    def peer_joined(self) -> None:
        self.say("Peer connected. Setting up the connection…")

    def connected(self, route: Route) -> None:
        self.say(f"Connected: {route.shown}")

    def offered(self, files: Sequence[FileEntry]) -> None:
        total = sum(f.size for f in files)
        self.say(f"The sender offers {len(files)} file{'s' if len(files) != 1 else ''}, {decimal(total)}:")
        for entry in files[:LISTED_FILES]:
            self.say(f"  {printable(entry.name)}  ({decimal(entry.size)})")
        if len(files) > LISTED_FILES:
            self.say(f"  … and {len(files) - LISTED_FILES} more")

    def started(self, files: Sequence[FileEntry]) -> None:
        super().started(files)
        self.progress.start()
        self._total_task = self.progress.add_task("total", total=self.total)
        self._file_task = self.progress.add_task(printable(self.files[0].name), total=self.files[0].size)

    def show_progress(self, index: int, file_bytes: int) -> None:
        assert self._total_task is not None and self._file_task is not None
        self.progress.update(
            self._file_task,
            description=printable(self.files[index].name),
            completed=file_bytes,
            total=self.files[index].size,
        )
        self.progress.update(self._total_task, completed=self.done_bytes)
        self.progress.refresh()

    def file_done(self, index: int, entry: FileEntry) -> None:
        self.say(f"✓ {printable(entry.name)} ({decimal(entry.size)}) verified")

    def reconnecting(self) -> None:
        self.say("Reconnecting…", style="yellow")

    def reconnected(self) -> None:
        self.say("Reconnected: going on from where it stopped")

    def done(self) -> None:
        # The last throttled frame may be short of the end; the bars close on the truth.
        self.done_bytes = self.total
        if self._total_task is not None:
            self.show_progress(len(self.files) - 1, self.files[-1].size)
        self.close()
        count = len(self.files)
        held = self.total - self.wire_bytes
        resumed = f" ({decimal(held)} were there already)" if held > 0 else ""
        self.say(
            f"Done: {count} file{'s' if count != 1 else ''}, {decimal(self.total)}{resumed} in {self.seconds:.1f} s"
            f" · average {decimal(int(self.rate))}/s, verified",
            style="green",
        )

    def error(self, error: PeerError) -> None:
        self.close()
        self.say(f"sendit: {printable(str(error))}", style="red")

    def close(self) -> None:
        self.progress.stop()
