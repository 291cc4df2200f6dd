"""peer/signalling/client.py against a real server: the server's refusals reach the
person in its own words."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from helpers.certs import Authority
from helpers.server import CREATE, join_payload, running_server
from peer.errors import CodeRefused, ConnectionFailed
from peer.signalling.client import ServerRefused, SignallingClient, refusal


async def test_a_connection_past_the_address_cap_is_refused_in_the_servers_words() -> None:
    async with running_server(max_connections_per_address=1) as server:
        first, second = SignallingClient(), SignallingClient()
        await first.connect(server.url)
        try:
            with pytest.raises(ServerRefused, match="refused the connection: too many connections from your address"):
                await second.connect(server.url)
        finally:
            await first.close()


async def test_too_many_attempts_says_how_long_to_wait() -> None:
    async with running_server(max_failed_joins=1, failed_join_backoff=30.0) as server:
        client = SignallingClient()
        await client.connect(server.url)
        try:
            # Nobody holds a slot on this server: any is a wrong guess.
            with pytest.raises(CodeRefused, match="^code not found or expired$"):
                await client.request("join", join_payload("1"))
            with pytest.raises(CodeRefused, match="^too many attempts: wait 30 s before trying another code$"):
                await client.request("join", join_payload("1"))
        finally:
            await client.close()


@pytest.mark.parametrize(
    "ack, refused, words",
    [
        ({"error": "some new words", "error_id": "code-used"}, CodeRefused, "^some new words$"),
        ({"error": "code already used", "error_id": "another-id"}, ServerRefused, "refused join: code already used$"),
        ({"error": "too many attempts", "error_id": "too-many-attempts", "retry_after": 7}, CodeRefused, "wait 7 s"),
        (
            {"error": "this peer speaks an older SendIt protocol; update it", "error_id": "old-protocol"},
            ServerRefused,
            "older",
        ),
        ({"error": "no id"}, ServerRefused, "refused join: no id$"),
        ({}, ServerRefused, "the server gave no answer"),
    ],
)
def test_a_refusal_is_decided_on_its_id_and_worded_in_the_servers_words(ack: dict, refused: type, words: str) -> None:
    error = refusal("join", {"ok": False, **ack})
    assert type(error) is refused
    assert re.search(words, str(error))
    assert error.error_id == ack.get("error_id")


async def test_an_https_server_is_verified_with_the_ca_given(tmp_path: Path) -> None:
    authority = Authority.create(tmp_path)
    async with running_server(ssl_context=authority.server_context()) as server:
        assert server.url.startswith("https://")
        client = SignallingClient(authority.client_context())
        await client.connect(server.url)
        try:
            assert (await client.request("create", CREATE))["ok"] is True
        finally:
            await client.close()


@pytest.mark.parametrize("trust", ["the system's CAs", "another CA"])
async def test_a_certificate_that_fails_verification_names_the_server_and_why(tmp_path: Path, trust: str) -> None:
    authority = Authority.create(tmp_path)
    (tmp_path / "other").mkdir()
    context = None if trust == "the system's CAs" else Authority.create(tmp_path / "other").client_context()
    async with running_server(ssl_context=authority.server_context()) as server:
        client = SignallingClient(context)
        with pytest.raises(ConnectionFailed) as refused:
            await client.connect(server.url)
    assert str(refused.value) == (
        f"could not verify the SendIt server at {server.url}: unable to get local issuer certificate "
        "(if it has a certificate of a private CA, give the CA with --ca-file FILE)"
    )


async def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    authority = Authority.create(tmp_path)
    elsewhere = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.ca.issue_cert("sendit.example").configure_cert(elsewhere)
    async with running_server(ssl_context=elsewhere) as server:
        client = SignallingClient(authority.client_context())
        with pytest.raises(ConnectionFailed) as refused:
            await client.connect(server.url)
    assert str(refused.value) == (
        f"could not verify the SendIt server at {server.url}: IP address mismatch, certificate is not valid for "
        "'127.0.0.1'. (if it has a certificate of a private CA, give the CA with --ca-file FILE)"
    )
