"""The ``sendit`` command, Python to Python: real processes, a real server, loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any, Callable

import aiohttp
import pytest

from helpers.certs import Authority
from helpers.coturn import Coturn
from helpers.peers import (
    CANCELLED,
    CODE,
    CONNECTION,
    ERROR,
    OK,
    UNTRUSTED,
    USAGE,
    WRONG_CODE,
    Sendit,
    make_tree,
    run,
    start,
    tree_of,
)
from helpers.server import RunningServer, free_port, running_server, server_process
from sendit_protocol.ice import FAILURE_WORDS
from sendit_protocol.words import WORDS
from signal_server.app import SIGNALLING_KEY

pytestmark = pytest.mark.process
# What a dead peer takes to notice: STALL_SECONDS, and time to exit.
STALLED = 30.0
MIB = 1024 * 1024
SERVER_NEWS = [
    ("peer_left", {"role": "receiver"}),
    ("cancelled", {"by": "receiver", "reason": "the server says so", "error_id": "cancelled"}),
    ("done", {}),
    ("expired", {"slot": "1"}),
]


async def send_and_receive(
    server: str, send_args: list[str], receive_args: list[str], measure: bool = False
) -> tuple[Sendit, Sendit]:
    sender = await start("send", "--json", *send_args, server=server, measure=measure)
    code = await sender.code()
    receiver = await start("receive", "--json", "--yes", *receive_args, code, server=server, measure=measure)
    await asyncio.gather(sender.finish(), receiver.finish())
    return sender, receiver


async def test_files_and_a_directory_arrive_identical(server: RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    album = make_tree(source)
    single = source / "single.bin"
    single.write_bytes(os.urandom(123_457))
    out = tmp_path / "out"
    sender, receiver = await send_and_receive(server.url, [str(single), str(album)], ["-o", str(out)])
    assert (sender.process.returncode, receiver.process.returncode) == (OK, OK), (sender.stderr, receiver.stderr)
    assert tree_of(out) == tree_of(source)
    assert [e["name"] for e in receiver.events if e["event"] == "file-done"] == [
        "single.bin",
        "album/empty",
        "album/2025/notes.txt",
        "album/2025/summer/beach.raw",
    ]
    assert sender.names[:3] == ["code", "peer-joined", "connected"] and sender.names[-1] == "done"
    assert receiver.names[:3] == ["peer-joined", "connected", "offer"] and receiver.names[-1] == "done"
    assert not list(out.rglob("*.part"))


async def test_memory_stays_flat_in_the_file_size(server: RunningServer, tmp_path: Path) -> None:
    """Peak memory for 256 MB against 1 byte: chunks are read, hashed and written as they go."""
    peaks = []
    for size in (1, 256 * 1024 * 1024):
        path = tmp_path / f"{size}.bin"
        with path.open("wb") as out:
            out.truncate(size)
        sender, receiver = await send_and_receive(server.url, [str(path)], ["-o", str(tmp_path / "out")], measure=True)
        assert (sender.process.returncode, receiver.process.returncode) == (OK, OK)
        peaks.append((sender.peak_rss, receiver.peak_rss))
    (small_send, small_receive), (big_send, big_receive) = peaks
    assert big_send - small_send < 64 * 1024 * 1024, peaks
    assert big_receive - small_receive < 64 * 1024 * 1024, peaks


async def test_without_uvloop_on_both_sides(server: RunningServer, tmp_path: Path) -> None:
    data = os.urandom(2_000_000)
    (tmp_path / "a.bin").write_bytes(data)
    sender = await start("send", "--json", str(tmp_path / "a.bin"), server=server.url, plain_asyncio=True)
    receiver = await start(
        "receive",
        "--json",
        "--yes",
        "-o",
        str(tmp_path / "out"),
        await sender.code(),
        server=server.url,
        plain_asyncio=True,
    )
    assert await asyncio.gather(sender.finish(), receiver.finish()) == [OK, OK]
    assert (tmp_path / "out" / "a.bin").read_bytes() == data


async def test_standard_input_to_standard_output(server: RunningServer) -> None:
    data = os.urandom(3_000_000)
    sender = await start("send", "--json", "-", "--name", "piped.bin", server=server.url, stdin=asyncio.subprocess.PIPE)
    assert sender.process.stdin is not None
    sender.process.stdin.write(data)
    await sender.process.stdin.drain()
    sender.process.stdin.close()
    receiver = await start("receive", "--json", "--yes", "-o", "-", await sender.code(), server=server.url)
    assert await receiver.finish() == OK, receiver.stderr
    assert await sender.finish() == OK
    assert receiver.stdout == data
    offer = next(e for e in receiver.events if e["event"] == "offer")
    assert offer["files"] == [{"name": "piped.bin", "size": len(data), "type": "application/octet-stream"}]


async def test_share_link_names_the_server(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("via link")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    link = (await sender.event("code"))["link"]
    assert link.startswith(f"{server.url}/#")
    receiver = await start("receive", "--yes", "-o", str(tmp_path / "out"), link)
    assert await receiver.finish() == OK, receiver.stderr
    assert await sender.finish() == OK
    assert (tmp_path / "out" / "a.txt").read_text() == "via link"


async def test_unknown_code_is_one_plain_line(server: RunningServer, tmp_path: Path) -> None:
    receiver = await run("receive", "--yes", "-o", str(tmp_path), "4821-river-fox-lunar", server=server.url)
    assert receiver.process.returncode == CODE
    assert receiver.stderr.decode().strip() == "sendit: code not found or expired"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "code, problem",
    [
        ("4821-river-fox", "a code is a number and three words"),
        ("4821-river-fox-fpx", '"fpx" is not one of the code words'),
        ("4821-river-fox-lu", '"lu" is not one of the code words'),
        ("0-river-fox-lunar", '"0" is not a code number: a code begins with a number from 1 to 9999'),
        ("4821-" + "river-" * 20 + "fox", "a code is at most 100 characters"),
        ("http://127.0.0.1:9/#", "a code is a number and three words"),
    ],
)
async def test_malformed_code_is_refused_before_going_online(tmp_path: Path, code: str, problem: str) -> None:
    receiver = await run("receive", "--yes", "-o", str(tmp_path), code, server="http://127.0.0.1:9")
    assert receiver.process.returncode == USAGE
    assert receiver.stderr.decode().strip() == f"sendit: not a SendIt code: {problem}"


async def test_used_code_and_a_declined_offer(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    code = await sender.code()
    first = await start(
        "receive", "--json", "-o", str(tmp_path / "first"), code, server=server.url, stdin=asyncio.subprocess.PIPE
    )
    await first.event("offer")
    second = await run("receive", "--yes", "-o", str(tmp_path / "second"), code, server=server.url)
    assert second.process.returncode == CODE
    assert "code already used" in second.stderr.decode()
    assert await first.finish(stdin=b"n\n") == CANCELLED
    assert await sender.finish() == CANCELLED
    assert sender.error == "the receiver declined the files"
    assert not (tmp_path / "first").exists() or list((tmp_path / "first").iterdir()) == []


async def test_answering_yes_at_the_prompt_accepts(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("asked")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    receiver = await start(
        "receive", "-o", str(tmp_path / "out"), await sender.code(), server=server.url, stdin=asyncio.subprocess.PIPE
    )
    assert await receiver.finish(stdin=b"y\n") == OK, receiver.stderr
    assert await sender.finish() == OK
    assert "Accept? [y/N]" in receiver.stderr.decode()
    assert (tmp_path / "out" / "a.txt").read_text() == "asked"


async def test_code_expires_while_the_sender_waits(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    async with running_server(code_ttl=1) as short:
        sender = await run("send", str(tmp_path / "a.txt"), server=short.url)
    assert sender.process.returncode == CODE
    assert "the code expired before anyone used it" in sender.stderr.decode()


async def big_transfer(server: str, tmp_path: Path, *receive_args: str) -> tuple[Sendit, Sendit, Path]:
    """A sender and a receiver 1 MB into a 300 MB file."""
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        out.truncate(300_000_000)
    sender = await start("send", "--json", str(big), server=server)
    out_dir = tmp_path / "out"
    receiver = await start(
        "receive", "--json", "--yes", "-o", str(out_dir), *receive_args, await sender.code(), server=server
    )
    while (await receiver.event("progress"))["bytes"] < 1_000_000:
        pass
    return sender, receiver, out_dir


async def test_killed_sender_ends_the_receiver_which_keeps_what_came(server: RunningServer, tmp_path: Path) -> None:
    """Once connected only the channel decides: it stalls, and since the server said the
    sender left, no reconnection is waited for."""
    sender, receiver, out = await big_transfer(server.url, tmp_path)
    sender.signal(signal.SIGKILL)
    assert await receiver.finish(timeout=STALLED) == CONNECTION
    assert receiver.error == "the sender left before the transfer finished"
    assert "reconnecting" in receiver.names
    assert sorted(p.name for p in out.iterdir()) == ["big.bin.part", "big.bin.part.sendit"]
    await sender.finish()


async def test_a_broken_transfer_resumes_with_a_new_code_and_sends_only_the_rest(
    server: RunningServer, tmp_path: Path
) -> None:
    data = os.urandom(24 * MIB + 12_345)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "small.txt").write_text("whole")
    out = tmp_path / "out"
    paths = [str(tmp_path / "small.txt"), str(tmp_path / "a.bin")]
    sender = await start("send", "--json", *paths, server=server.url)
    receiver = await start("receive", "--json", "--yes", "-o", str(out), await sender.code(), server=server.url)
    while (await receiver.event("progress"))["file_bytes"] < 2 * MIB:
        pass
    sender.signal(signal.SIGKILL)
    assert await receiver.finish(timeout=STALLED) == CONNECTION
    await sender.finish()
    held = len(json.loads((out / "a.bin.part.sendit").read_text())["blocks"])
    assert 1 <= held < 24 and (out / "small.txt").read_text() == "whole"

    sender, receiver = await send_and_receive(server.url, paths, ["-o", str(out)])
    assert (sender.process.returncode, receiver.process.returncode) == (OK, OK), (sender.events, receiver.events)
    assert (out / "a.bin").read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["a.bin", "small.txt"]
    # Only the rest went on the wire: the file already there (small.txt) was skipped too.
    for side in (sender, receiver):
        assert side.events[-1]["wire_bytes"] == len(data) - held * MIB, side.events[-1]


@pytest.mark.parametrize("how", ["--no-resume", "a partial of other bytes"])
async def test_a_partial_not_resumed_gets_the_whole_file(server: RunningServer, tmp_path: Path, how: str) -> None:
    data = os.urandom(3 * MIB + 5)
    (tmp_path / "a.bin").write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    other = bytearray(data[: 2 * MIB])
    other[-1] ^= 1 if how != "--no-resume" else 0
    (out / "a.bin.part").write_bytes(other)
    hashes = [hashlib.sha256(other[i : i + MIB]).hexdigest() for i in (0, MIB)]
    (out / "a.bin.part.sendit").write_text(json.dumps({"version": 1, "size": len(data), "type": "", "blocks": hashes}))
    args = ["--no-resume"] if how == "--no-resume" else []
    sender, receiver = await send_and_receive(server.url, [str(tmp_path / "a.bin")], ["-o", str(out), *args])
    assert (sender.process.returncode, receiver.process.returncode) == (OK, OK), receiver.stderr
    assert (out / "a.bin").read_bytes() == data
    assert [p.name for p in out.iterdir()] == ["a.bin"]
    assert receiver.events[-1]["wire_bytes"] == len(data)


async def test_killed_receiver_ends_the_sender(server: RunningServer, tmp_path: Path) -> None:
    sender, receiver, out = await big_transfer(server.url, tmp_path)
    receiver.signal(signal.SIGKILL)
    assert await sender.finish(timeout=STALLED) == CONNECTION
    # The stall would be reconnected, but the server said the receiver left.
    assert sender.error == "the receiver left before the transfer finished"
    assert "reconnecting" in sender.names
    await receiver.finish()


async def test_ctrl_c_on_the_receiver_tells_the_sender(server: RunningServer, tmp_path: Path) -> None:
    sender, receiver, out = await big_transfer(server.url, tmp_path)
    receiver.signal(signal.SIGINT)
    assert await receiver.finish(timeout=10) == CANCELLED
    assert await sender.finish(timeout=10) == CANCELLED
    assert sender.error == "the receiver cancelled"
    # A break, not a damaged file: what came is kept for resuming.
    assert sorted(p.name for p in out.iterdir()) == ["big.bin.part", "big.bin.part.sendit"]


async def test_ctrl_c_on_a_waiting_sender_withdraws_the_code(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    code = await sender.code()
    sender.signal(signal.SIGINT)
    assert await sender.finish() == CANCELLED
    receiver = await run("receive", "--yes", "-o", str(tmp_path / "out"), code, server=server.url)
    assert receiver.process.returncode == CODE


async def test_transfer_survives_the_server_going_away(tmp_path: Path) -> None:
    """The server only introduces the peers; once they are connected it is not needed."""
    async with server_process("--pool-dir", str(tmp_path / "pool")) as server:
        sender, receiver, out = await big_transfer(server.url, tmp_path)
        server.process.kill()
    assert await receiver.finish() == OK, receiver.stderr
    assert await sender.finish() == OK
    assert (out / "big.bin").stat().st_size == 300_000_000
    assert (out / "big.bin").read_bytes() == bytes(300_000_000)


async def test_once_connected_the_servers_news_is_ignored(server: RunningServer, tmp_path: Path) -> None:
    """peer_left, cancelled, done, expired and a lost socket: the transfer goes on without the server."""
    sender, receiver, out = await big_transfer(server.url, tmp_path)
    sio = server.app[SIGNALLING_KEY].sio
    peers = [sid for sid, _ in sio.manager.get_participants("/", None)]
    assert len(peers) == 2
    for sid in peers:
        for event, data in SERVER_NEWS:
            await sio.emit(event, data, to=sid)
        await sio.disconnect(sid)
    assert await receiver.finish() == OK, receiver.stderr
    assert await sender.finish() == OK, sender.stderr
    assert (out / "big.bin").read_bytes() == bytes(300_000_000)


async def test_existing_file_is_not_overwritten(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("new")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("old")
    sender, receiver = await send_and_receive(server.url, [str(tmp_path / "a.txt")], ["-o", str(out)])
    assert receiver.process.returncode == ERROR
    # Of the offered size, it is offered for resuming, and found to differ: kept as it is.
    assert receiver.error == (
        f"{out / 'a.txt'} already exists and differs from the offered file (use --overwrite to replace it)"
    )
    assert sender.process.returncode == CANCELLED
    assert (out / "a.txt").read_text() == "old"
    sender, receiver = await send_and_receive(server.url, [str(tmp_path / "a.txt")], ["-o", str(out), "--overwrite"])
    assert (sender.process.returncode, receiver.process.returncode) == (OK, OK)
    assert (out / "a.txt").read_text() == "new"


async def test_a_name_too_long_for_the_disk_is_one_plain_line_on_both_sides(
    server: RunningServer, tmp_path: Path
) -> None:
    """252 bytes fit ext4's 255 on the sending side, not with the receiver's .part."""
    name = "x" * 248 + ".bin"
    (tmp_path / name).write_text("long")
    out = tmp_path / "out"
    sender = await start("send", "--json", str(tmp_path / name), server=server.url)
    receiver = await start("receive", "--json", "--yes", "-o", str(out), await sender.code(), server=server.url)
    assert await receiver.finish() == ERROR
    assert receiver.error == (
        f"{name}: a name part is 257 bytes (with .part while receiving), longer than the 255 "
        f"the file system of {out} allows; refused"
    )
    assert receiver.stderr == b""  # no traceback
    assert await sender.finish() == CANCELLED
    assert sender.error.startswith("the receiver cannot save these files: a name part of 257 bytes is longer")
    assert str(tmp_path) not in sender.error
    assert not out.exists()  # refused before even the folder was made


async def test_standard_output_takes_one_file_only(server: RunningServer, tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).write_text(name)
    sender, receiver = await send_and_receive(server.url, [str(tmp_path / "a"), str(tmp_path / "b")], ["-o", "-"])
    assert receiver.process.returncode == USAGE
    assert receiver.error == "-o - takes exactly one file; the sender offers 2"
    assert receiver.stdout == b""
    assert sender.process.returncode == CANCELLED


@pytest.mark.parametrize(
    "args, message",
    [
        (["send", "/nonexistent/file"], "cannot send /nonexistent/file: No such file or directory"),
        (["send", "-"], "sending standard input (-) needs --name"),
        (["send", "--local-ip", "192.0.2.7", "/dev/null"], "--local-ip 192.0.2.7: not an address of this machine"),
        (["send", "--local-ip", "localhost", "/dev/null"], "--local-ip localhost: not an IP address"),
        (["send", "/dev/null"], "cannot send /dev/null: not a regular file or directory"),
        (["send", "--name", "x", "/etc/hostname"], "--name names standard input (-), which is not being sent"),
        (["receive", "-o", "/etc/hostname", "4821-river-fox-lunar"], "-o /etc/hostname: not a directory"),
        (
            ["send", "--ca-file", "/nonexistent/ca.pem", "/etc/hostname"],
            "--ca-file /nonexistent/ca.pem: No such file or directory",
        ),
        (
            ["send", "--ca-file", "/etc/hostname", "/etc/hostname"],
            "--ca-file /etc/hostname: not a PEM file of CA certificates",
        ),
    ],
)
async def test_usage_errors(args: list[str], message: str) -> None:
    process = await run(*args, server="http://127.0.0.1:9", loopback=False)
    assert process.process.returncode == USAGE
    assert process.stderr.decode().strip() == f"sendit: {message}"


async def test_python_dash_m_peer_is_the_same_command() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "peer", "receive", "--help", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == OK
    assert b"usage: sendit receive" in out and b"--keep-partial" in out


async def test_a_server_url_of_another_kind_is_a_usage_error() -> None:
    process = await run("send", "/etc/hostname", server="ftp://127.0.0.1:9", loopback=False)
    assert process.process.returncode == USAGE
    assert (
        process.stderr.decode().strip()
        == "sendit: ftp://127.0.0.1:9: not an http:// or https:// URL of a SendIt server"
    )


async def test_unreachable_server(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    process = await run("send", str(tmp_path / "a"), server=f"http://127.0.0.1:{free_port()}")
    assert process.process.returncode == CONNECTION
    assert "could not reach the SendIt server" in process.stderr.decode()


async def test_qr_code_of_the_link_in_the_terminal(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    sender = await start("send", "--qr", str(tmp_path / "a"), server=server.url)
    lines = []
    while not lines or not lines[-1].startswith("Waiting for the receiver"):
        lines.append((await asyncio.wait_for(sender.process.stderr.readline(), 30)).decode())
    sender.signal(signal.SIGINT)
    assert await sender.finish() == CANCELLED
    assert lines[0].startswith("Code: ") and lines[1].startswith(f"Link: {server.url}/#")
    drawing = [line for line in lines if set(line.strip()) <= set("█▀▄ ") and line.strip()]
    assert len(drawing) >= 10, lines


# Protocol v2: the code, the handshake, and what the server never sees.


def typed_sloppily(code: str) -> list[str]:
    """``4821-river-fox-lunar`` as a person might type it: ``4821 RIVE Fox lunar``, one
    argument a part, a word by its first four letters."""
    slot, first, second, third = code.split("-")
    return [slot, first[:4].upper(), second.capitalize(), third]


def other_words(code: str) -> str:
    """The code with three other words: the slot is right, the secret is not."""
    slot, *words = code.split("-")
    others = [word for word in WORDS[:4] if word not in words][:3]
    return "-".join([slot, *others])


async def test_cli_to_cli_with_a_code_typed_loosely(
    server: RunningServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The code is SLOT-word-word-word; the server sees the slot and nothing of the words."""
    data = os.urandom(500_000)
    (tmp_path / "a.bin").write_bytes(data)
    with caplog.at_level(logging.DEBUG):
        sender = await start("send", "--json", str(tmp_path / "a.bin"), server=server.url)
        code = await sender.code()
        assert re.fullmatch(r"[1-9][0-9]{0,3}(-[a-z]+){3}", code)
        assert all(word in WORDS for word in code.split("-")[1:])
        receiver = await start(
            "receive", "--json", "--yes", "-o", str(tmp_path / "out"), *typed_sloppily(code), server=server.url
        )
        assert await asyncio.gather(sender.finish(), receiver.finish()) == [OK, OK], (sender.stderr, receiver.stderr)
    assert (tmp_path / "out" / "a.bin").read_bytes() == data
    words = code.split("-", 1)[1]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged and words not in logged and words.replace("-", " ") not in logged


async def test_wrong_words_tell_both_sides_and_use_up_the_slot(server: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("secret")
    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    code = await sender.code()
    wrong = await start("receive", "--json", "--yes", "-o", str(tmp_path / "out"), other_words(code), server=server.url)
    assert await wrong.finish() == WRONG_CODE
    assert wrong.error == "That code doesn't match. Check the words with the sender and ask for a new code."
    assert await sender.finish() == WRONG_CODE
    assert sender.error == "Someone tried this code with the wrong words; it no longer works."
    assert error_event(wrong)["error_id"] == error_event(sender)["error_id"] == "wrong-code"
    assert not (tmp_path / "out").exists()
    # The slot is gone: the right words now come too late.
    right = await run("receive", "--yes", "-o", str(tmp_path / "out"), code, server=server.url)
    assert right.process.returncode == CODE
    assert not (tmp_path / "out").exists()


def _flip_first(kind: str) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    def hook(role: str, signal: dict[str, Any]) -> dict[str, Any]:
        if signal["type"] != kind:
            return signal
        data = bytearray(base64.b64decode(signal["data"]))
        data[-1] ^= 0x80  # the tag
        return {**signal, "data": base64.b64encode(bytes(data)).decode()}

    return hook


@pytest.mark.parametrize("kind", ["offer", "answer"])
async def test_a_relay_that_tampers_stops_both_sides_and_nothing_is_kept(tmp_path: Path, kind: str) -> None:
    (tmp_path / "a.txt").write_text("secret")
    async with running_server(relay_hook=_flip_first(kind)) as tampering:
        sender = await start("send", "--json", str(tmp_path / "a.txt"), server=tampering.url)
        receiver = await start(
            "receive", "--json", "--yes", "-o", str(tmp_path / "out"), await sender.code(), server=tampering.url
        )
        assert await asyncio.gather(sender.finish(), receiver.finish()) == [UNTRUSTED, UNTRUSTED]
    words = (
        "The connection was tampered with on the way (a signal failed its seal check); "
        "the transfer was stopped and nothing was kept."
    )
    assert (sender.error, receiver.error) == (words, words)
    assert not (tmp_path / "out").exists()


async def test_an_offer_whose_manifest_is_larger_than_one_message(server: RunningServer, tmp_path: Path) -> None:
    """4,000 files of ordinary names: a manifest of some 400 KB, sent in parts."""
    source = tmp_path / "many"
    source.mkdir()
    for index in range(4_000):
        (source / f"holiday photo {index:04d} from the long summer trip.jpg").write_bytes(index.to_bytes(2, "big"))
    out = tmp_path / "out"
    sender, receiver = await send_and_receive(server.url, [str(source)], ["-o", str(out)])
    assert (sender.process.returncode, receiver.process.returncode) == (OK, OK), (sender.stderr, receiver.stderr)
    assert tree_of(out / "many") == tree_of(source)
    assert len([e for e in sender.events if e["event"] == "file-done"]) == 4_000


def error_event(process: Sendit) -> dict[str, Any]:
    (event,) = [event for event in process.events if event["event"] == "error"]
    return event


async def transfers_by_route(server: RunningServer) -> dict[str, float]:
    """What the server counted of the routes the peers reported with ``done`` (the
    routes counted at least once)."""
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
        text = await response.text()
    counted = re.findall(r'^sendit_transfers_total\{route="(\w+)"\} (\S+)$', text, re.M)
    return {route: float(count) for route, count in counted if float(count)}


async def test_both_sides_say_how_they_are_connected_and_tell_the_server(server: RunningServer, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    (tmp_path / "a.bin").write_bytes(data)
    sender = await start("send", "--json", str(tmp_path / "a.bin"), server=server.url)
    receiver = await start("receive", "--yes", "-o", str(tmp_path / "out"), await sender.code(), server=server.url)
    assert await asyncio.gather(sender.finish(), receiver.finish()) == [OK, OK], (sender.stderr, receiver.stderr)
    assert (tmp_path / "out" / "a.bin").read_bytes() == data
    assert sender.names[:3] == ["code", "peer-joined", "connected"]
    assert sender.events[2] == {"event": "connected", "route": "lan", "shown": "direct (same network)"}
    assert "Connected: direct (same network)\n" in receiver.stderr.decode()
    assert await transfers_by_route(server) == {"lan": 1.0}


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    (tmp_path / "ca").mkdir()
    return Authority.create(tmp_path / "ca")


async def test_https_with_the_private_ca_given_by_option_and_by_variable(authority: Authority, tmp_path: Path) -> None:
    """The receiver takes the https:// share link alone, and the CA from SENDIT_CA_FILE."""
    (tmp_path / "a.txt").write_text("over https")
    async with running_server(ssl_context=authority.server_context()) as secure:
        sender = await start(
            "send", "--json", "--ca-file", str(authority.ca_file), str(tmp_path / "a.txt"), server=secure.url
        )
        link = (await sender.event("code"))["link"]
        assert link.startswith(f"https://127.0.0.1:{secure.url.rsplit(':', 1)[1]}/#")
        trusting = {"SENDIT_CA_FILE": str(authority.ca_file)}
        receiver = await start("receive", "--json", "--yes", "-o", str(tmp_path / "out"), link, env=trusting)
        assert await asyncio.gather(sender.finish(), receiver.finish()) == [OK, OK], (sender.stderr, receiver.stderr)
    assert (tmp_path / "out" / "a.txt").read_text() == "over https"


async def test_https_without_the_ca_is_refused_naming_the_server_and_why(authority: Authority, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    async with running_server(ssl_context=authority.server_context()) as secure:
        human = await run("send", str(tmp_path / "a.txt"), server=secure.url)
        scripted = await run("send", "--json", str(tmp_path / "a.txt"), server=secure.url)
    words = (
        f"could not verify the SendIt server at {secure.url}: unable to get local issuer certificate "
        "(if it has a certificate of a private CA, give the CA with --ca-file FILE)"
    )
    assert human.process.returncode == scripted.process.returncode == CONNECTION
    assert " ".join(human.stderr.decode().split()) == f"sendit: {words}"  # wrapped at 100 columns
    assert scripted.events == [{"event": "error", "message": words, "exit_code": CONNECTION}]


async def test_relay_only_without_a_relay_fails_at_once_and_the_sender_hears_why(
    server: RunningServer, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("x")
    unavailable = {
        "event": "error",
        "message": FAILURE_WORDS["relay-unavailable"],
        "exit_code": CONNECTION,
        "error_id": "relay-unavailable",
    }
    alone = await run("send", "--json", "--relay-only", str(tmp_path / "a.txt"), server=server.url)
    assert alone.events == [unavailable]  # before any code is shown: none would work

    sender = await start("send", "--json", str(tmp_path / "a.txt"), server=server.url)
    code = await sender.code()
    receiver = await start(
        "receive", "--json", "--yes", "--relay-only", "-o", str(tmp_path / "out"), code, server=server.url
    )
    assert await asyncio.wait_for(asyncio.gather(receiver.finish(), sender.finish()), 10) == [CONNECTION, CONNECTION]
    assert error_event(receiver) == unavailable
    # The sender gives up too, with what it saw itself (PROTOCOL.md 3.5), and the
    # receiver's words beside it; never the receiver's id.
    assert error_event(sender) == {
        "event": "error",
        "message": FAILURE_WORDS["no-remote-candidates"] + " The receiver says: the receiver asked to connect "
        "through a relay only, and this server offers no TURN relay",
        "exit_code": CONNECTION,
        "error_id": "no-remote-candidates",
    }
    assert not (tmp_path / "out").exists()


async def test_relay_only_on_both_sides_goes_through_turn(loopback_relay: Coturn, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    album = make_tree(source)
    out = tmp_path / "out"
    async with running_server(turn=frozenset({loopback_relay.url}), turn_secret=loopback_relay.secret) as through_turn:
        sender, receiver = await send_and_receive(
            through_turn.url, ["--relay-only", str(album)], ["--relay-only", "-o", str(out)]
        )
        assert (sender.process.returncode, receiver.process.returncode) == (OK, OK), (sender.stderr, receiver.stderr)
        assert await transfers_by_route(through_turn) == {"relay": 1.0}
    assert tree_of(out) == tree_of(source)
    for side in (sender, receiver):
        (connected,) = [event for event in side.events if event["event"] == "connected"]
        assert connected == {"event": "connected", "route": "relay", "shown": "relayed via TURN"}
