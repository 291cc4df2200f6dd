"""The cases of the network lab: each with the ``sendit`` CLI on both ends and, at the
same time, the page in a lab host's Chromium on one end (tests/lab/pairs.py). How each
end says it connected, or why it could not (docs/PROTOCOL.md 3.5), with the bytes
compared; coturn's own log shows what it relayed and what it refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from playwright.async_api import expect

from helpers.browser import open_app, pick_files
from helpers.lab import Lab, Turn
from helpers.peers import CONNECTION
from helpers.server import wait_until
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS, Route

from .conftest import Serve
from .pairs import SIZE, Ends, OnHost, PersonOn, assert_cli_failed

#: A guard on coturn's usage lines, which it writes every second.
COUNTED = 5.0


async def test_two_hosts_on_one_lan_go_direct(port_keeping: Lab, serve: Serve, ends: Ends, tmp_path: Path) -> None:
    server = await serve()
    [a1, a2] = port_keeping.homes[0].hosts
    cli, page = await ends.both(server.url, a1, a2, tmp_path, page_sends=True)
    cli.assert_went(Route.LAN)
    await page.assert_went(Route.LAN)


async def test_port_keeping_nats_go_direct_with_stun_only(
    port_keeping: Lab, turn: Turn, serve: Serve, ends: Ends, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url)
    a1, b1 = port_keeping.homes[0].hosts[0], port_keeping.homes[1].hosts[0]
    cli, page = await ends.both(server.url, a1, b1, tmp_path, page_sends=False)
    cli.assert_went(Route.NAT)
    await page.assert_went(Route.NAT)


async def test_symmetric_nats_need_turn(symmetric: Lab, turn: Turn, serve: Serve, ends: Ends, tmp_path: Path) -> None:
    server = await serve("--stun", turn.stun_url)
    a1, b1 = symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0]
    cli, page = await ends.both(server.url, a1, b1, tmp_path, page_sends=True)
    cli.assert_failed(ErrorId.NEEDS_TURN)
    await page.assert_failed(ErrorId.NEEDS_TURN)


async def test_symmetric_nats_go_through_turn_with_the_servers_credentials(
    symmetric: Lab, turn: Turn, serve: Serve, ends: Ends, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url, "--turn", turn.url, "--turn-secret", turn.secret)
    a1, b1 = symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0]
    mark = turn.mark()
    cli, page = await ends.both(server.url, a1, b1, tmp_path, page_sends=False)
    cli.assert_went(Route.RELAY)
    await page.assert_went(Route.RELAY)
    # Both transfers crossed coturn, under credentials it had never seen before.
    await wait_until(lambda: turn.relayed_since(mark) >= 2 * SIZE, "coturn to count the relayed bytes", COUNTED)


async def test_forged_and_expired_turn_credentials_are_refused(
    symmetric: Lab, turn: Turn, serve: Serve, ends: Ends, tmp_path: Path
) -> None:
    # A server whose secret is not the relay's forges every credential it gives out; one
    # given a REST credential as a static setting hands it out after it has expired.
    forging = await serve("--turn", turn.url, "--turn-secret", "not-" + turn.secret)
    stale = turn.credentials(-60)
    expired = await serve("--ice-servers", json.dumps([stale]))
    a1, b1 = symmetric.homes[0].hosts[0], symmetric.homes[1].hosts[0]
    mark = turn.mark()
    (forged_cli, forged_page), (expired_cli, expired_page) = await asyncio.gather(
        ends.both(forging.url, a1, b1, tmp_path / "forged", page_sends=True),
        ends.both(expired.url, a1, b1, tmp_path / "expired", page_sends=True),
    )
    for cli in (forged_cli, expired_cli):
        cli.assert_failed(ErrorId.TURN_REFUSED)
    for page in (forged_page, expired_page):
        await page.assert_failed(ErrorId.TURN_REFUSED)
    # coturn itself refused them: the stale one, and the forged one of each of the
    # forging server's four acks.
    refused = turn.refused_since(mark)
    assert stale["username"] in refused
    assert len(refused - {stale["username"]}) == 4, refused


async def test_relay_only_on_one_lan_goes_through_turn(
    port_keeping: Lab, turn: Turn, serve: Serve, ends: Ends, tmp_path: Path
) -> None:
    server = await serve("--turn", turn.url, "--turn-secret", turn.secret)
    [a1, a2] = port_keeping.homes[0].hosts
    mark = turn.mark()
    # The CLIs both hide their addresses; the page alone does, and the CLI's pair with
    # it is relayed all the same.
    cli, page = await ends.both(
        server.url, a1, a2, tmp_path, page_sends=False, cli_flags=("--relay-only",), relay_only=True
    )
    cli.assert_went(Route.RELAY)
    await page.assert_went(Route.RELAY)
    await wait_until(lambda: turn.relayed_since(mark) >= 2 * SIZE, "coturn to count the relayed bytes", COUNTED)


async def test_relay_only_without_turn_fails_at_once(
    port_keeping: Lab, turn: Turn, serve: Serve, on_host: OnHost, person_on: PersonOn, tmp_path: Path
) -> None:
    server = await serve("--stun", turn.stun_url)
    host = port_keeping.homes[0].hosts[0]
    (tmp_path / "a.txt").write_text("hidden")
    sender = await on_host(host, "send", "--json", "--relay-only", str(tmp_path / "a.txt"), server=server.url)
    # Known from the server's list alone: no code is given out that could never connect.
    assert await sender.finish(timeout=10) == CONNECTION
    assert "code" not in sender.names
    assert_cli_failed(sender, ErrorId.RELAY_UNAVAILABLE)
    page = await open_app(await person_on(host), server.url)
    await page.check("#send-relay-only")
    await pick_files(page, [tmp_path / "a.txt"])
    await expect(page.locator("#send-status")).to_have_text(FAILURE_WORDS[ErrorId.RELAY_UNAVAILABLE])


async def test_the_page_over_plain_http_on_a_lab_address_says_it_needs_https(
    port_keeping: Lab, serve: Serve, person_on: PersonOn
) -> None:
    server = await serve(tls=False)
    page = await open_app(await person_on(port_keeping.homes[0].hosts[0]), server.url)
    await expect(page.locator("#insecure-title")).to_have_text("This page needs a secure connection")
    await expect(page.locator("#send-view")).to_be_hidden()
    await expect(page.locator("#receive-view")).to_be_hidden()


async def test_the_page_over_https_is_a_secure_context(port_keeping: Lab, serve: Serve, person_on: PersonOn) -> None:
    # The lab's CA is trusted as an installed one: no certificate error is ignored.
    server = await serve()
    page = await open_app(await person_on(port_keeping.homes[0].hosts[0]), server.url)
    assert await page.evaluate("isSecureContext")
    await expect(page.locator("#insecure-view")).to_be_hidden()
    await expect(page.locator("#send-view")).to_be_visible()
