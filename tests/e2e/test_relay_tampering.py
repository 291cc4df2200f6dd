"""A server that tampers with what it relays (docs/PROTOCOL.md 3.4 and 5): a sealed signal
it changes, replaces or replays is found out by the side it reaches, which stops, tells
the other side, and keeps nothing. Through the real server's relay (its test-only hook),
with ``sendit`` processes and Chromium pages on either end.

Once the channel is open a late signal changes nothing (docs/PROTOCOL.md 4.2), so every
change hits a signal its side takes before the channel can open: an offer or an answer;
or a first candidate, which a page sends right behind its description: a sending
page's before the receiver can answer, a receiving page's while a ``sendit`` sender is
still connecting (its DTLS and SCTP handshakes are Python's, and many round trips)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from playwright.async_api import expect

from helpers.browser import UI_TIMEOUT, make_files, open_link, start_sending
from helpers.peers import OK, UNTRUSTED, Sendit, start
from helpers.relay import Relay, flip_byte, replaced_by, resealed
from helpers.server import running_server

pytestmark = pytest.mark.process

Person = Callable[[], Awaitable[Any]]

TAMPERED = (
    "The connection was tampered with on the way (a signal failed its seal check); "
    "the transfer was stopped and nothing was kept."
)
STATUS = {"sender": "#send-status", "receiver": "#receive-status"}


async def start_sender(stack: str, url: str, path: Path, new_person: Person) -> tuple[Any, str]:
    """A ``sendit send`` or a send page offering ``path``; it and its code."""
    if stack == "cli":
        sender = await start("send", "--json", str(path), server=url)
        return sender, await sender.code()
    return await start_sending(await new_person(), url, [path])


async def start_receiver(stack: str, url: str, code: str, out: Path, new_person: Person) -> Any:
    """A ``sendit receive --yes`` into ``out``, or a page that opened the share link and
    was told to receive."""
    if stack == "cli":
        return await start("receive", "--json", "--yes", "-o", str(out), code, server=url)
    page = await open_link(await new_person(), url, code)
    await page.click("#receive-button")
    return page


async def assert_told(side: Any, role: str, words: str) -> None:
    """``side`` ended with ``words``: a process with them as its error (and the exit code
    of an untrusted run), a page with them as its status."""
    if isinstance(side, Sendit):
        assert await side.finish() == UNTRUSTED, side.stderr
        assert side.error == words
    else:
        await expect(side.locator(STATUS[role])).to_have_text(words, timeout=UI_TIMEOUT)


async def assert_kept_nothing(receiver: Any, out: Path) -> None:
    if isinstance(receiver, Sendit):
        assert not out.exists(), list(out.rglob("*"))
    else:
        await expect(receiver.locator("#offer")).to_be_hidden()
        assert await receiver.locator("#receive-files a.save").count() == 0


# Each side's stack (cli | page), and whose signal of which type the relay flips: every
# signal type a side receives, on each stack, is refused by that side at least once,
# but for a receiving page's candidate to a sending page: Chromium opens the channel
# about as soon as that candidate arrives, so it may come late and change nothing. A
# sendit never trickles (its descriptions carry its candidates), so candidates come from
# pages only; CLI to CLI flips are in tests/e2e/test_cli.py.
CASES = [
    pytest.param("cli", "page", "sender", "offer", id="cli-to-page-offer"),
    pytest.param("cli", "page", "receiver", "answer", id="cli-to-page-answer"),
    pytest.param("cli", "page", "receiver", "candidate", id="cli-to-page-receivers-candidate"),
    pytest.param("page", "cli", "sender", "offer", id="page-to-cli-offer"),
    pytest.param("page", "cli", "receiver", "answer", id="page-to-cli-answer"),
    pytest.param("page", "cli", "sender", "candidate", id="page-to-cli-senders-candidate"),
    pytest.param("page", "page", "sender", "candidate", id="page-to-page-senders-candidate"),
]


@pytest.mark.parametrize("sending, receiving, role, kind", CASES)
async def test_a_flipped_byte_in_a_sealed_signal_stops_both_sides(
    new_person: Person, tmp_path: Path, sending: str, receiving: str, role: str, kind: str
) -> None:
    [path] = make_files(tmp_path, {"secret.bin": 100_000})
    out = tmp_path / "out"
    relay = Relay(role, kind, flip_byte)
    async with running_server(relay_hook=relay) as server:
        sender, code = await start_sender(sending, server.url, path, new_person)
        receiver = await start_receiver(receiving, server.url, code, out, new_person)
        detector, told = (receiver, sender) if role == "sender" else (sender, receiver)
        await assert_told(detector, "receiver" if role == "sender" else "sender", TAMPERED)
        await assert_told(told, role, TAMPERED)
    assert relay.changed
    await assert_kept_nothing(receiver, out)


async def cli_run(url: str, path: Path, out: Path) -> tuple[Sendit, Sendit]:
    """``sendit send path`` and ``sendit receive`` of its code into ``out``, both started."""
    sender = await start("send", "--json", str(path), server=url)
    receiver = await start("receive", "--json", "--yes", "-o", str(out), await sender.code(), server=url)
    return sender, receiver


async def assert_cli_run_stopped(relay: Relay, path: Path, out: Path) -> None:
    """``sendit`` to ``sendit`` through a server relaying with ``relay``: both told of
    tampering, nothing kept."""
    async with running_server(relay_hook=relay) as server:
        sender, receiver = await cli_run(server.url, path, out)
        await assert_told(receiver, "receiver", TAMPERED)
        await assert_told(sender, "sender", TAMPERED)
    assert relay.changed
    assert not out.exists()


async def test_an_offer_resealed_under_another_key_stops_both_sides(tmp_path: Path) -> None:
    """The server makes up an offer of its own (an SDP with its fingerprint) and seals it
    as the protocol does: it has no key of the pair's, so the seal does not open."""
    [path] = make_files(tmp_path, {"secret.bin": 1000})
    forged = {"n": 0, "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
    relay = Relay("sender", "offer", resealed("offer", forged))
    await assert_cli_run_stopped(relay, path, tmp_path / "out")


async def test_an_earlier_runs_offer_replayed_stops_both_sides(tmp_path: Path) -> None:
    """A server that kept a genuine sealed offer hands it to a later pair: it was sealed
    under another code's key."""
    [path] = make_files(tmp_path, {"secret.bin": 1000})
    recorder = Relay()
    async with running_server(relay_hook=recorder) as server:
        sender, receiver = await cli_run(server.url, path, tmp_path / "first")
        assert await asyncio.gather(sender.finish(), receiver.finish()) == [OK, OK], (sender.stderr, receiver.stderr)
    # The hook is a faithful relay when it changes nothing; and the order is the document's (3.3).
    assert (tmp_path / "first" / "secret.bin").read_bytes() == path.read_bytes()
    assert recorder.kinds("sender") == ["pake", "confirm", "offer"]
    assert recorder.kinds("receiver") == ["confirm", "answer"]

    relay = Relay("sender", "offer", replaced_by(recorder.data("sender", "offer")))
    await assert_cli_run_stopped(relay, path, tmp_path / "out")
