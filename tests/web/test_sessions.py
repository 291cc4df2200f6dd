"""web/js/transfer/{send,receive}-session.js, the runs of a transfer without the pages:
two Chromium pages, each driving one real session (tests/web/harness/sessions.js)
against the real server, and the phases each goes through."""

from __future__ import annotations

import base64
import re
import time
from typing import Any, Awaitable, Callable

from helpers.loopback import NO_UDP, nft_rules
from helpers.server import RunningServer, running_server
from helpers.sessions import accepting, call, sha256, until
from helpers.sessions import offering as offering_in
from helpers.sessions import session_page as page_of
from signal_server.app import SIGNALLING_KEY

Person = Callable[[], Awaitable[Any]]

FILES = [
    {"name": "empty.bin", "size": 0, "seed": 0},
    {"name": "one.txt", "size": 1, "seed": 1},
    # Over a block (1 MiB) and many chunks.
    {"name": "blocks.bin", "size": 2 * 1024 * 1024 + 3, "seed": 2},
]
SEND = ["requesting-code", "waiting-for-receiver", "connecting", "awaiting-accept", "sending", "delivered"]
RECEIVE = ["joining", "connecting", "waiting-for-offer", "offered", "receiving", "received"]
OFFERED = RECEIVE[: RECEIVE.index("offered") + 1]
AWAITING_ACCEPT = SEND[: SEND.index("awaiting-accept") + 1]
CONNECTING = ["requesting-code", "waiting-for-receiver", "connecting"]
CODE = re.compile(r"[1-9][0-9]{0,3}(-[a-z]+){3}")


def ending(reason: str, error_id: str | None = None, source: str = "here", said: str | None = None) -> dict[str, Any]:
    """A failed or cancelled phase's detail, as transfer/run.js's ``ending`` makes it."""
    return {
        "reason": reason,
        "errorId": error_id,
        "source": source,
        "said": said,
        "file": None,
        "retryAfter": None,
        "peer": None,
    }


def other_words(code: str) -> str:
    """``code`` with its last word swapped for another code word."""
    slot, first, second, last = code.split("-")
    return "-".join([slot, first, second, "zoo" if last != "zoo" else "abandon"])


async def session_page(new_person: Person, server: RunningServer) -> Any:
    """A page of a person of its own."""
    return await page_of(await new_person(), server.url)


async def offering(
    server: RunningServer, new_person: Person, files: list[dict[str, Any]]
) -> tuple[Any, dict[str, Any]]:
    """A page whose SendSession waits for a receiver; and the code it got ({code, link, expiresIn})."""
    sender = await session_page(new_person, server)
    assert await call(sender, "send", files) == [f["name"] for f in files]
    waiting = await until(sender, "waiting-for-receiver")
    return sender, waiting["details"]["waiting-for-receiver"]


async def joining(server: RunningServer, new_person: Person, code: str) -> Any:
    """A page whose ReceiveSession was told to join ``code``."""
    receiver = await session_page(new_person, server)
    await call(receiver, "receive")
    await call(receiver, "act", ["join", code])
    return receiver


async def one_file_offered(server: RunningServer, new_person: Person) -> tuple[Any, Any]:
    """A sender of one file, and a receiver whose session shows its offer."""
    sender, waiting = await offering(server, new_person, FILES[1:2])
    receiver = await joining(server, new_person, waiting["code"])
    await until(receiver, "offered")
    return sender, receiver


def slot_of(code: str) -> int:
    return int(code.split("-")[0])


async def test_files_move_and_each_side_walks_its_phases(server: RunningServer, new_person: Person) -> None:
    sender, waiting = await offering(server, new_person, FILES[:2])
    code = waiting["code"]
    assert CODE.fullmatch(code)
    assert waiting["link"] == f"{server.url}/#{code}"
    assert 0 < waiting["expiresIn"] <= server.config.code_ttl
    # Until the receiver turns up, more files join the same offer; a name twice does not,
    # nor anything that came with it.
    assert await call(sender, "add", [FILES[2], {"name": "one.txt", "size": 5, "seed": 9}]) == (
        'Nothing was added: two files are named "one.txt". Each file needs a name of its own, '
        "and no file the name of a folder."
    )
    assert await call(sender, "add", [FILES[2]]) == [f["name"] for f in FILES]
    # Typed loosely, as people do: capitals, spaces, words by their first four letters.
    slot, *words = code.split("-")
    receiver = await joining(server, new_person, f"  {slot} {' '.join(w[:4].upper() for w in words)} ")
    offer = (await until(receiver, "offered"))["details"]["offered"]
    assert offer["files"] == [{"name": f["name"], "size": f["size"], "type": ""} for f in FILES]
    assert offer["totalBytes"] == sum(f["size"] for f in FILES)
    assert await call(sender, "add", [{"name": "late.txt", "size": 1, "seed": 3}]) == (
        "The list can no longer change: the receiver has connected, or the send has ended."
    )
    await call(receiver, "act", ["accept"])
    received = await until(receiver, "received")
    delivered = await until(sender, "delivered")
    assert received["phases"] == RECEIVE
    assert delivered["phases"] == SEND
    assert received["details"]["joining"] == {"code": code}
    assert received["files"] == [
        {"index": i, "name": f["name"], "size": f["size"], "sha256": sha256(f)} for i, f in enumerate(FILES)
    ]
    assert delivered["delivered"] == [0, 1, 2]
    assert delivered["details"]["sending"] == {"totalBytes": offer["totalBytes"], "resumed": False}
    assert [f["name"] for f in delivered["details"]["delivered"]["files"]] == [f["name"] for f in FILES]
    assert received["progress"] > 0 and delivered["progress"] > 0


async def test_codes_refused_before_anything_is_sent_leave_the_code_usable(
    server: RunningServer, new_person: Person
) -> None:
    sender, offer = await offering(server, new_person, FILES[1:2])
    code = offer["code"]
    slot, first, second, _ = code.split("-")
    receiver = await joining(server, new_person, "ABC")
    malformed = await until(receiver, "refused")
    assert malformed["details"]["refused"] == {
        "reason": "a code is a number and three words",
        "by": "code",
        "errorId": None,
        "retryAfter": None,
    }
    # A word not in the list is named, and refused here: the server never hears of it.
    await call(receiver, "act", ["join", f"{slot}-{first}-{second}-fpx"])
    typo = await until(receiver, "refused", count=2)
    assert typo["details"]["refused"]["reason"] == '"fpx" is not one of the code words'
    assert server.app[SIGNALLING_KEY].registry.lookup(slot_of(code)).used is False
    other = 1 + slot_of(code) % 9999
    await call(receiver, "act", ["join", f"{other}-{first}-{second}-zoo"])
    unknown = await until(receiver, "refused", count=3)
    assert unknown["details"]["refused"] == {
        "reason": "code not found or expired",
        "by": "server",
        "errorId": "code-not-found",
        "retryAfter": None,
    }
    await call(receiver, "act", ["join", code])
    await until(receiver, "offered")
    await call(receiver, "act", ["accept"])
    received = await until(receiver, "received")
    assert received["phases"] == ["refused", "refused", "joining", "refused", *RECEIVE]
    assert received["files"] == [{"index": 0, "name": "one.txt", "size": 1, "sha256": sha256(FILES[1])}]
    assert (await until(sender, "delivered"))["phases"] == SEND


async def test_a_used_code_is_refused_to_a_second_receiver(server: RunningServer, new_person: Person) -> None:
    _, offer = await offering(server, new_person, FILES[1:2])
    await until(await joining(server, new_person, offer["code"]), "offered")
    second = await joining(server, new_person, offer["code"])
    refused = await until(second, "refused")
    assert refused["details"]["refused"] == {
        "reason": "code already used",
        "by": "server",
        "errorId": "code-used",
        "retryAfter": None,
    }


async def test_wrong_words_tell_both_sides_and_use_up_the_code(server: RunningServer, new_person: Person) -> None:
    sender, offer = await offering(server, new_person, FILES[1:2])
    receiver = await joining(server, new_person, other_words(offer["code"]))
    told = await until(receiver, "failed")
    assert told["phases"] == ["joining", "connecting", "failed"]
    assert told["details"]["failed"]["errorId"] == "wrong-code"
    found = await until(sender, "failed")
    assert found["phases"] == [*CONNECTING, "failed"]
    assert found["details"]["failed"]["errorId"] == "wrong-code"
    # The slot went with the wrong words: the right ones no longer find it.
    late = await joining(server, new_person, offer["code"])
    assert (await until(late, "refused"))["details"]["refused"]["by"] == "server"
    assert told["files"] == [] and found["delivered"] == []


async def test_a_relay_that_tampers_stops_both_sides(new_person: Person) -> None:
    def flip_the_offer(role: str, signal: dict[str, Any]) -> dict[str, Any]:
        if signal["type"] != "offer":
            return signal
        data = bytearray(base64.b64decode(signal["data"]))
        data[-1] ^= 1
        return {**signal, "data": base64.b64encode(bytes(data)).decode()}

    async with running_server(relay_hook=flip_the_offer) as server:
        sender, offer = await offering(server, new_person, FILES[1:2])
        receiver = await joining(server, new_person, offer["code"])
        found = await until(receiver, "failed")
        assert found["details"]["failed"]["errorId"] == "tampered"
        told = await until(sender, "failed")
        assert told["details"]["failed"]["errorId"] == "tampered"
        assert found["files"] == []


async def test_once_the_channel_is_open_the_server_does_not_matter(server: RunningServer, new_person: Person) -> None:
    """The server drops both: each then gets peer_left or loses its socket, and the
    transfer goes on over the channel regardless."""
    sender, receiver = await one_file_offered(server, new_person)
    signalling = server.app[SIGNALLING_KEY]
    connected = [sid for sid, _ in signalling.sio.manager.get_participants("/", None)]
    assert len(connected) == 2
    # One at a time: the other hears peer_left, then loses its own socket.
    for sid in connected:
        await signalling.sio.disconnect(sid)
    await call(receiver, "act", ["accept"])
    received = await until(receiver, "received")
    assert received["files"] == [{"index": 0, "name": "one.txt", "size": 1, "sha256": sha256(FILES[1])}]
    assert (await until(sender, "delivered"))["phases"] == SEND


async def test_sender_cancelling_ends_both_sides(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await one_file_offered(server, new_person)
    await call(sender, "act", ["cancel"])
    cancelled = await until(sender, "cancelled")
    assert cancelled["phases"] == [*AWAITING_ACCEPT, "cancelled"]
    told = await until(receiver, "cancelled")
    assert told["phases"] == [*OFFERED, "cancelled"]
    assert told["details"]["cancelled"] == {
        **ending("cancelled by the other side: the sender cancelled", "cancelled", "peer", "the sender cancelled"),
        "file": "one.txt",
    }
    assert told["files"] == []


async def test_receiver_declining_ends_the_sender_declined(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await one_file_offered(server, new_person)
    await call(receiver, "act", ["decline"])
    declined = await until(receiver, "declined")
    assert declined["phases"] == [*OFFERED, "declined"]
    told = await until(sender, "declined")
    assert told["phases"] == [*AWAITING_ACCEPT, "declined"]


async def test_sender_leaving_fails_the_receiver(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await one_file_offered(server, new_person)
    await call(sender, "act", ["leave"])
    failed = await until(receiver, "failed")
    assert failed["phases"] == [*OFFERED, "failed"]
    assert failed["details"]["failed"] == {
        **ending("the sender left before the transfer finished", "peer-left"),
        "file": "one.txt",
    }


async def test_an_unused_code_expires(new_person: Person) -> None:
    async with running_server(code_ttl=1.0) as server:
        sender, offer = await offering(server, new_person, FILES[1:2])
        expired = await until(sender, "expired")
        assert expired["phases"] == ["requesting-code", "waiting-for-receiver", "expired"]
        assert await call(sender, "add", FILES[:1]) == (
            "The list can no longer change: the receiver has connected, or the send has ended."
        )
        refused = await until(await joining(server, new_person, offer["code"]), "refused")
        assert refused["details"]["refused"]["errorId"] == "code-not-found"


async def test_sender_losing_the_server_before_the_receiver_fails(server: RunningServer, new_person: Person) -> None:
    sender, waiting = await offering(server, new_person, FILES[1:2])
    signalling = server.app[SIGNALLING_KEY]
    pairing = signalling.registry.lookup(slot_of(waiting["code"]))
    assert pairing is not None and pairing.sender is not None
    await signalling.sio.disconnect(pairing.sender)
    failed = await until(sender, "failed")
    assert failed["phases"] == ["requesting-code", "waiting-for-receiver", "failed"]
    assert failed["details"]["failed"] == ending("lost the connection to the server")


# --- a blip, and the receiver calling it off: the sender paced by its files (reads past
# a gate wait for the test), the blip real (an nft rule in the test's own namespace drops
# every UDP packet, the peers' ICE and data, while the signalling, over TCP, stays up)

MiB = 1024 * 1024
#: Two whole blocks before the gate, and a short last block after it.
FILE = {"name": "big.bin", "size": 5 * MiB + 123, "seed": 7}
GATE = 2 * MiB
#: Chromium calls a connection whose packets are all dropped failed after some 30 s
#: (measured here: see the report of issue 15); waits leave room for it.
FAILED_MS = 90_000


async def gated_transfer(server: RunningServer, new_person: Person, **options: Any) -> tuple[Any, Any]:
    """A sender of FILE whose reads stop at GATE, and a receiver that accepted it and holds
    everything before the gate."""
    sender, code = await offering_in(await new_person(), server.url, [FILE], gateAt=GATE, **options)
    receiver = await accepting(await new_person(), server.url, code, **options)
    held = await call(receiver, "untilBytes", {"key": "fileBytes", "bytes": GATE})
    assert held["last"]["fileBytes"] == GATE, held
    return sender, receiver


async def test_a_blip_heals_itself_and_nothing_is_sent_twice(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await gated_transfer(server, new_person)
    with nft_rules(NO_UDP):
        blocked = time.time() * 1000
        lost = await call(sender, "until", {"phase": "reconnecting", "ms": FAILED_MS})
        assert lost["phase"] == "reconnecting", lost
        told = await call(receiver, "until", {"phase": "reconnecting", "ms": FAILED_MS})
        assert told["phase"] == "reconnecting", told
        lifted = time.time() * 1000
    await call(sender, "release")
    received = await call(receiver, "until", {"phase": "received", "ms": FAILED_MS})
    delivered = await call(sender, "until", {"phase": "delivered", "ms": FAILED_MS})
    why = (received["details"].get("failed"), delivered["details"].get("failed"), received["times"], delivered["times"])
    assert (received["phase"], delivered["phase"]) == ("received", "delivered"), (blocked, lifted, why)
    assert received["files"] == [{"index": 0, "name": FILE["name"], "size": FILE["size"], "sha256": sha256(FILE)}]
    assert delivered["phases"][-4:] == ["sending", "reconnecting", "sending", "delivered"]
    assert received["phases"][-4:] == ["receiving", "reconnecting", "receiving", "received"]
    assert delivered["details"]["sending"] == {"totalBytes": FILE["size"], "resumed": True}
    # The receiver went on from the two blocks it held: every byte crossed once.
    assert delivered["last"]["sentBytes"] == FILE["size"]
    assert received["last"]["receivedBytes"] == FILE["size"]
    print(
        f"\nblip: sender reconnecting {lost['times']['reconnecting'] - blocked:.0f} ms after the drop, "
        f"receiver {told['times']['reconnecting'] - blocked:.0f} ms; "
        f"going on {delivered['times']['sending'] - lifted:.0f} ms after the lift"
    )


async def test_a_peer_really_gone_fails_within_the_grace(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await gated_transfer(server, new_person, graceMs=3000)
    with nft_rules(NO_UDP):
        reasons = []
        for page in (sender, receiver):
            failed = await call(page, "until", {"phase": "failed", "ms": FAILED_MS})
            assert failed["phases"][-2:] == ["reconnecting", "failed"], failed
            assert failed["details"]["failed"]["errorId"] == "peer-left", failed["details"]["failed"]
            reasons.append(failed["details"]["failed"]["reason"])
    # The first to give up says why; the other may hear first, from the server, that it left.
    grace = "the connection was lost and could not be restored within 3 s"
    assert grace in reasons, reasons
    assert set(reasons) <= {
        grace,
        "the receiver left before the transfer finished",
        "the sender left before the transfer finished",
    }


async def test_the_receiver_cancels_mid_transfer_and_the_sender_is_told(
    server: RunningServer, new_person: Person
) -> None:
    sender, receiver = await gated_transfer(server, new_person)
    await call(receiver, "act", ["cancel"])
    cancelled = await until(receiver, "cancelled")
    assert cancelled["details"]["cancelled"]["errorId"] == "cancelled"
    assert cancelled["details"]["cancelled"]["source"] == "here"
    told = await until(sender, "failed")
    assert told["details"]["failed"]["errorId"] == "cancelled"
    assert told["details"]["failed"]["source"] == "peer"
    assert told["details"]["failed"]["said"] == "the receiver cancelled"
    assert cancelled["files"] == [] and told["delivered"] == []
