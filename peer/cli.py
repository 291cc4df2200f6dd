"""``sendit send`` / ``sendit receive``: the command line (README.md, "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Sequence, TextIO

from sendit_protocol.codes import Code, InvalidCode, parse_code
from sendit_protocol.ice import Policy
from sendit_protocol.messages import FileEntry

from .ending import set_once
from .errors import Cancelled, ExitCode, PeerError, UsageError
from .progress import HumanReporter, JsonReporter, Reporter
from .signalling.localip import check_local_ip
from .signalling.tls import check_server, trusting
from .transfer.session import PeerOptions, receive, send
from .transfer.sink import STDOUT, DirectorySink, Sink, StreamSink
from .transfer.source import STDIN, collect

DEFAULT_SERVER = "http://127.0.0.1:8080"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        help=f"the SendIt server's URL (default: $SENDIT_SERVER, else {DEFAULT_SERVER}; "
        "for receive, the server of a share link)",
    )
    common.add_argument(
        "--local-ip",
        action="append",
        metavar="IP",
        help="offer only this local address to the peer (repeatable; default: every address but loopback)",
    )
    common.add_argument(
        "--ca-file",
        metavar="FILE",
        help="trust only the certificate authorities in this PEM file to vouch for an https:// server "
        "(a private CA; default: $SENDIT_CA_FILE, else the system's)",
    )
    common.add_argument(
        "--relay-only",
        action="store_true",
        help="connect only through the server's TURN relay, so the peer never learns this computer's addresses",
    )
    common.add_argument("--json", action="store_true", help="print one JSON event a line instead of progress")

    parser = argparse.ArgumentParser(prog="sendit", description="SendIt: send files peer to peer with a short code.")
    commands = parser.add_subparsers(dest="command", required=True)
    send_parser = commands.add_parser("send", parents=[common], help="offer files and print a code for the receiver")
    send_parser.add_argument(
        "paths", nargs="+", metavar="FILE_OR_DIR", help="files and directories; - reads standard input"
    )
    send_parser.add_argument("--name", help="the file name for data read from standard input (-)")
    send_parser.add_argument("--qr", action="store_true", help="also show the share link as a QR code")

    receive_parser = commands.add_parser("receive", parents=[common], help="receive the files offered under a code")
    receive_parser.add_argument(
        "code",
        nargs="+",
        metavar="CODE",
        help="the code (4821-river-fox-lunar; a word may be its first four letters), or the share link",
    )
    receive_parser.add_argument(
        "-o",
        "--output",
        default=".",
        metavar="DIR",
        help="where to save (default: .); - writes one file to standard output",
    )
    receive_parser.add_argument("-y", "--yes", action="store_true", help="accept without asking")
    receive_parser.add_argument("--overwrite", action="store_true", help="replace files that already exist")
    receive_parser.add_argument(
        "--no-resume",
        action="store_true",
        help="start every file over, even where an earlier run left part of it (NAME.part)",
    )
    receive_parser.add_argument(
        "--keep-partial",
        action="store_true",
        help="keep NAME.part even when it arrived damaged (a break always keeps it, for resuming)",
    )
    return parser


def _server_and_code(args: argparse.Namespace) -> tuple[str, Code | None]:
    """The server to use, and the code, checked here: a typo is refused before anything
    is sent, so it never burns a slot (and the words never leave this machine)."""
    words = getattr(args, "code", None)
    server = args.server
    code = None
    if words is not None:
        text = " ".join(words)
        if "#" in text:
            link, text = text.split("#", 1)
            server = server or link
        try:
            code = parse_code(text)
        except InvalidCode as error:
            raise UsageError(f"not a SendIt code: {error}") from None
    return check_server(server or os.environ.get("SENDIT_SERVER") or DEFAULT_SERVER), code


def _ask(out: TextIO) -> Callable[[list[FileEntry]], Awaitable[bool]]:
    async def decide(files: list[FileEntry]) -> bool:
        out.write("Accept? [y/N] ")
        out.flush()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()

        def read() -> None:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(set_once, answer, line)

        # A daemon thread: if the run ends while the person is still deciding, nothing
        # waits for the pending read.
        threading.Thread(target=read, daemon=True).start()
        try:
            return (await answer).strip().lower() in ("y", "yes")
        except asyncio.CancelledError:
            out.write("\n")  # whatever is said next starts on a line of its own
            raise

    return decide


async def _accept(files: list[FileEntry]) -> bool:
    return True


async def _cancellable(coroutine: Awaitable[None]) -> None:
    """Run ``coroutine`` so that Ctrl-C or SIGTERM cancels it, and it can tell the other side."""
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, task.cancel)
    await coroutine


def _session(args: argparse.Namespace, report: Reporter) -> Awaitable[None]:
    """Everything that can be checked before going online is checked here, so a mistake
    costs no code on the server."""
    server, code = _server_and_code(args)
    local_ips = [check_local_ip(ip) for ip in args.local_ip] if args.local_ip else None
    ca_file = args.ca_file or os.environ.get("SENDIT_CA_FILE")
    options = PeerOptions(
        server=server,
        local_ips=local_ips,
        tls=trusting(ca_file) if ca_file else None,
        policy=Policy.RELAY if args.relay_only else Policy.ALL,
    )
    if args.command == "send":
        if args.paths.count(STDIN) > 1:
            raise UsageError("standard input (-) can be sent only once")
        if args.name and STDIN not in args.paths:
            raise UsageError("--name names standard input (-), which is not being sent")
        return send(options, collect(args.paths, args.name), report)
    assert code is not None
    sink: Sink
    if args.output == STDOUT:
        sink = StreamSink(sys.stdout.buffer)
    else:
        output = Path(args.output)
        if output.exists() and not output.is_dir():
            raise UsageError(f"-o {output}: not a directory")
        sink = DirectorySink(output, overwrite=args.overwrite, keep_damaged=args.keep_partial)
    decide = _accept if args.yes else _ask(sys.stderr)
    return receive(options, code, sink, decide, report, resume=not args.no_resume)


def _run(coroutine: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    to_stdout = getattr(args, "output", None) == STDOUT
    report: Reporter
    if args.json:
        report = JsonReporter(sys.stderr if to_stdout else sys.stdout)
    else:
        report = HumanReporter(sys.stderr, qr=getattr(args, "qr", False))
    try:
        _run(_cancellable(_session(args, report)))
    except PeerError as error:
        report.error(error)
        return int(error.exit_code)
    except (KeyboardInterrupt, asyncio.CancelledError):
        # Interrupted before anything was under way, or while spooling standard input.
        report.error(Cancelled("cancelled"))
        return int(ExitCode.CANCELLED)
    finally:
        report.close()
    return int(ExitCode.OK)
