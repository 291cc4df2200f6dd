"""Running the installed ``sendit`` command as a real process, reading its JSON events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

SENDIT = Path(sys.executable).with_name("sendit")
# aioice skips loopback unless told; the test namespace has no other address.
LOOPBACK = ("--local-ip", "127.0.0.1")
# Runs a command and appends its peak resident set size (KiB) to standard error.
PEAK_RSS = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(f'peak-rss-kib {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
    "sys.exit(code)"
)
EVENT_TIMEOUT = 30.0
# The exit codes of README.md, written out again: the tests check the documented contract.
OK, ERROR, USAGE, CODE, CONNECTION, VERIFICATION, CANCELLED, WRONG_CODE, UNTRUSTED = range(9)
# A guard, never a synchronisation: the largest transfers in the suite (256-300 MB) must
# finish even at 2 MB/s on a loaded machine, within pytest's own 300 s.
EXIT_TIMEOUT = 150.0


class Sendit:
    """One ``sendit`` process. With ``--json`` its events are read from standard output,
    or from standard error when standard output carries the file (``-o -``)."""

    def __init__(self, process: asyncio.subprocess.Process, events_on_stderr: bool) -> None:
        self.process = process
        self._events_stream = process.stderr if events_on_stderr else process.stdout
        self.events: list[dict[str, Any]] = []
        self.stdout = b""
        self.stderr = b""

    @property
    def pid(self) -> int:
        return self.process.pid

    async def event(self, name: str, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        """The next event called ``name`` (earlier events are recorded in ``events``)."""
        assert self._events_stream is not None
        while True:
            line = await asyncio.wait_for(self._events_stream.readline(), timeout)
            if not line:
                raise AssertionError(f"sendit ended before {name!r}; events: {self.events}")
            event = json.loads(line)
            self.events.append(event)
            if event["event"] == name:
                return event

    async def code(self) -> str:
        """The sender's code, ``SLOT-word-word-word``."""
        return (await self.event("code"))["code"]

    async def release(self) -> None:
        """Let a sender started with ``gate`` read on."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"\n")
        await self.process.stdin.drain()

    def signal(self, signum: int = signal.SIGINT) -> None:
        self.process.send_signal(signum)

    async def finish(self, stdin: bytes | None = None, timeout: float = EXIT_TIMEOUT) -> int:
        """Wait for the exit; keeps the remaining output and the JSON events in it."""
        if stdin is None and self.process.stdin is not None:
            # A piped standard input ends here: a gated sender's reads then go on, so
            # that it can exit.
            self.process.stdin.close()
        out, err = await asyncio.wait_for(self.process.communicate(stdin), timeout)
        self.stdout += out or b""
        self.stderr += err or b""
        rest = out if self._events_stream is self.process.stdout else err
        self.events += [json.loads(line) for line in (rest or b"").splitlines() if line.startswith(b"{")]
        return self.process.returncode

    @property
    def peak_rss(self) -> int:
        """Bytes, for a process started with ``measure=True``."""
        last = self.stderr.decode().strip().splitlines()[-1]
        assert last.startswith("peak-rss-kib "), self.stderr
        return int(last.split()[1]) * 1024

    @property
    def names(self) -> list[str]:
        return [event["event"] for event in self.events]

    @property
    def error(self) -> str:
        """The message of the ``error`` event."""
        return next(event["message"] for event in self.events if event["event"] == "error")


async def start(
    *args: str,
    server: str | None = None,
    stdin: int | None = asyncio.subprocess.DEVNULL,
    cwd: Path | None = None,
    loopback: bool = True,
    measure: bool = False,
    plain_asyncio: bool = False,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
    gate: int | None = None,
) -> Sendit:
    """``sendit ARGS`` against ``server``, with loopback candidates and piped output;
    ``measure`` records its peak memory (:attr:`Sendit.peak_rss`); ``env`` adds variables;
    ``prefix`` runs it through another command (``nsenter``, into a lab host:
    tests/helpers/lab.py); ``gate`` holds a sender's reads of each file at that byte until
    :meth:`Sendit.release` (tests/helpers/gated_send.py)."""
    command = [*prefix]
    command += [sys.executable, "-c", PEAK_RSS] if measure else []
    if gate is not None:
        # Run as a path, not a script: a script's folder (tests/helpers) would come first on sys.path.
        command += [sys.executable, "-c", f"import runpy; runpy.run_path({str(GATED_SEND)!r}, run_name='__main__')"]
        command += [str(gate)]
        stdin = asyncio.subprocess.PIPE
    else:
        command += [sys.executable, *PLAIN_ASYNCIO] if plain_asyncio else [str(SENDIT)]
    command += args
    if server is not None:
        command += ["--server", server]
    if loopback:
        command += LOOPBACK
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
    )
    return Sendit(process, events_on_stderr="-o" in args and args[args.index("-o") + 1] == "-")


async def run(*args: str, **kwargs: Any) -> Sendit:
    """``start`` and ``finish``: for runs that need nothing in between."""
    process = await start(*args, **kwargs)
    await process.finish()
    return process


GATED_SEND = Path(__file__).with_name("gated_send.py")

# sendit on plain asyncio: an import of uvloop fails as if it were not installed.
PLAIN_ASYNCIO = ("-c", "import sys; sys.modules['uvloop'] = None; from peer.cli import main; sys.exit(main())")


def tree_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_tree(root: Path, big: int = 20_000_000) -> Path:
    """A directory to send: nested folders, an empty file, a random file of ``big`` bytes."""
    (root / "album" / "2025" / "summer").mkdir(parents=True)
    (root / "album" / "2025" / "summer" / "beach.raw").write_bytes(os.urandom(big))
    (root / "album" / "2025" / "notes.txt").write_text("sunny\n")
    (root / "album" / "empty").write_bytes(b"")
    return root / "album"


def make_nested(root: Path, count: int, most: int = 3000) -> Path:
    """A folder ``root`` of ``count`` small random files (0 to ``most`` bytes) in folders
    nested three deep: ``root/d0/e1/f2.bin`` and the like, some right in ``root``."""
    for i in range(count):
        parts = [f"d{i % 7}", f"e{i % 5}"][: i % 3]
        folder = root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.bin").write_bytes(os.urandom(i * 7919 % (most + 1)))
    return root
