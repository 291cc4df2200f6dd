"""web/js/transfer/{send,receive}-session.js, the runs of a transfer without the pages:
two Chromium pages, each driving one real session (tests/web/harness/sessions.js)
against the real server, and the phases each goes through."""

from __future__ import annotations

import hashlib
from typing import Any, Awaitable, Callable

from helpers.browser import run_harness
from helpers.server import RunningServer, running_server
from signal_server.app import SIGNALLING_KEY
from signal_server.signalling.codes import normalize_code

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


def sha256(spec: dict[str, Any]) -> str:
    """The digest of the bytes the harness builds for ``spec``."""
    return hashlib.sha256(bytes((i + spec["seed"]) % 251 for i in range(spec["size"]))).hexdigest()


async def session_page(new_person: Person, server: RunningServer) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    return page


async def call(page: Any, function: str, args: Any = None) -> Any:
    return await run_harness(page, "sessions.js", function, args)


async def until(page: Any, phase: str, count: int = 1) -> dict[str, Any]:
    """What the page's session reported, once it entered ``phase`` (checked) ``count`` times."""
    seen = await call(page, "until", {"phase": phase, "count": count})
    assert seen["phase"] == phase, seen
    return seen


async def offering(
    server: RunningServer, new_person: Person, files: list[dict[str, Any]]
) -> tuple[Any, dict[str, Any]]:
    """A page whose SendSession waits for a receiver; and the code it got ({code, link, expiresIn})."""
    sender = await session_page(new_person, server)
    assert await call(sender, "send", files) is True
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


async def test_files_move_and_each_side_walks_its_phases(server: RunningServer, new_person: Person) -> None:
    sender, waiting = await offering(server, new_person, FILES[:2])
    code = waiting["code"]
    assert waiting["link"] == f"{server.url}/#{code}"
    assert 0 < waiting["expiresIn"] <= server.config.code_ttl
    # Until the receiver turns up, more files join the same offer.
    assert await call(sender, "add", FILES[2:]) is True
    # Typed loosely, as people do.
    receiver = await joining(server, new_person, code.lower().replace("-", " "))
    offer = (await until(receiver, "offered"))["details"]["offered"]
    assert offer["files"] == [{"name": f["name"], "size": f["size"], "type": ""} for f in FILES]
    assert offer["totalBytes"] == sum(f["size"] for f in FILES)
    assert await call(sender, "add", [{"name": "late.txt", "size": 1, "seed": 3}]) is False
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
    assert delivered["details"]["sending"] == {"totalBytes": offer["totalBytes"]}
    assert [f["name"] for f in delivered["details"]["delivered"]["files"]] == [f["name"] for f in FILES]
    assert received["progress"] > 0 and delivered["progress"] > 0


async def test_refused_codes_give_the_servers_words_and_the_receiver_can_try_again(
    server: RunningServer, new_person: Person
) -> None:
    sender, offer = await offering(server, new_person, FILES[1:2])
    receiver = await joining(server, new_person, "ABC")
    malformed = await until(receiver, "refused")
    assert malformed["details"]["refused"]["by"] == "code"
    await call(receiver, "act", ["join", "00000-00000"])
    unknown = await until(receiver, "refused", count=2)
    assert unknown["details"]["refused"] == {"reason": "code not found or expired", "by": "server", "retryAfter": None}
    await call(receiver, "act", ["join", offer["code"]])
    await until(receiver, "offered")
    await call(receiver, "act", ["accept"])
    received = await until(receiver, "received")
    assert received["phases"] == ["refused", "joining", "refused", *RECEIVE]
    assert received["files"] == [{"index": 0, "name": "one.txt", "size": 1, "sha256": sha256(FILES[1])}]
    assert (await until(sender, "delivered"))["phases"] == SEND


async def test_a_used_code_is_refused_to_a_second_receiver(server: RunningServer, new_person: Person) -> None:
    _, offer = await offering(server, new_person, FILES[1:2])
    await until(await joining(server, new_person, offer["code"]), "offered")
    second = await joining(server, new_person, offer["code"])
    refused = await until(second, "refused")
    assert refused["details"]["refused"] == {"reason": "code already used", "by": "server", "retryAfter": None}


async def test_sender_cancelling_ends_both_sides(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await one_file_offered(server, new_person)
    await call(sender, "act", ["cancel"])
    cancelled = await until(sender, "cancelled")
    assert cancelled["phases"] == [*AWAITING_ACCEPT, "cancelled"]
    told = await until(receiver, "cancelled")
    assert told["phases"] == [*OFFERED, "cancelled"]
    assert told["details"]["cancelled"] == {"reason": "the sender cancelled"}
    assert told["files"] == []


async def test_receiver_declining_fails_the_sender(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await one_file_offered(server, new_person)
    await call(receiver, "act", ["decline"])
    declined = await until(receiver, "declined")
    assert declined["phases"] == [*OFFERED, "declined"]
    failed = await until(sender, "failed")
    assert failed["phases"] == [*AWAITING_ACCEPT, "failed"]
    # The decline goes out twice, on the channel and through the server; which reaches
    # the sender first is a race, as on the page (tests/e2e/test_pages.py).
    assert failed["details"]["failed"]["reason"] in {
        "the receiver declined the files",
        "the receiver cancelled: the receiver declined",
    }


async def test_sender_leaving_fails_the_receiver(server: RunningServer, new_person: Person) -> None:
    sender, receiver = await one_file_offered(server, new_person)
    await sender.close()
    failed = await until(receiver, "failed")
    assert failed["phases"] == [*OFFERED, "failed"]
    assert failed["details"]["failed"] == {"reason": "the sender left before the transfer finished"}


async def test_an_unused_code_expires(new_person: Person) -> None:
    async with running_server(code_ttl=1.0) as server:
        sender, offer = await offering(server, new_person, FILES[1:2])
        expired = await until(sender, "expired")
        assert expired["phases"] == ["requesting-code", "waiting-for-receiver", "expired"]
        assert await call(sender, "add", FILES[:1]) is False
        refused = await until(await joining(server, new_person, offer["code"]), "refused")
        assert refused["details"]["refused"] == {
            "reason": "code not found or expired",
            "by": "server",
            "retryAfter": None,
        }


async def test_sender_losing_the_server_before_the_receiver_fails(server: RunningServer, new_person: Person) -> None:
    sender, waiting = await offering(server, new_person, FILES[1:2])
    signalling = server.app[SIGNALLING_KEY]
    pairing = signalling.registry.lookup(normalize_code(waiting["code"]))
    assert pairing is not None and pairing.sender is not None
    await signalling.sio.disconnect(pairing.sender)
    failed = await until(sender, "failed")
    assert failed["phases"] == ["requesting-code", "waiting-for-receiver", "failed"]
    assert failed["details"]["failed"] == {"reason": "lost the connection to the server"}
