"""``sendit`` whose file reads stop at byte GATE of each file (the first argument) until
a line arrives on its standard input: a sender the test paces without sleeps, so that it
can break the connection mid-transfer (tests/e2e/test_cli.py, the blips). Only the
reading of the files is held; the peer itself is the real one."""

from __future__ import annotations

import sys
import threading
from typing import Any, BinaryIO

from peer.cli import main
from peer.transfer import source

released = threading.Event()


class GatedFile:
    """A file whose reads past ``gate`` wait (in the sender's reading thread) for ``released``."""

    def __init__(self, stream: BinaryIO, gate: int) -> None:
        self.stream = stream
        self.gate = gate

    def read(self, size: int = -1) -> bytes:
        at = self.stream.tell()
        if at >= self.gate:
            released.wait()
        elif size < 0 or at + size > self.gate:
            size = self.gate - at
        return self.stream.read(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def __enter__(self) -> GatedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()


def release_on_a_line() -> None:
    sys.stdin.readline()
    released.set()


if __name__ == "__main__":
    gate = int(sys.argv.pop(1))
    opened = source.Source.open
    source.Source.open = lambda self: GatedFile(opened(self), gate)  # type: ignore[method-assign,assignment,return-value]
    threading.Thread(target=release_on_a_line, daemon=True).start()
    sys.exit(main())
