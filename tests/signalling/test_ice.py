"""signal_server.signalling.ice: the ICE list each acknowledgement hands out, and the TURN
REST credentials issued for it (checked against openssl, and against coturn in
test_turn.py)."""

from __future__ import annotations

import base64
import itertools
import re
import subprocess

import pytest

from helpers.clock import FakeClock
from signal_server.signalling.ice import IceServers, TurnRest, turn_credential

STATIC = [{"urls": ["turn:other.example.org:3478"], "username": "u", "credential": "c"}]
STUN = ["stun:stun.example.org:3478", "stun:[2001:db8::1]:3478"]
TURN = TurnRest(("turn:turn.example.org:3478", "turns:turn.example.org:5349"), "the shared secret", allowance=3600)
TTL = 600.0
#: What secrets.token_urlsafe gives: URL-safe base64 without padding.
TAG = re.compile(r"[A-Za-z0-9_-]{16}")


def openssl_credential(secret: str, username: str) -> str:
    """HMAC-SHA1 as openssl computes it, base64 of its raw digest: not our code at all."""
    digest = subprocess.run(
        ["openssl", "dgst", "-sha1", "-hmac", secret, "-binary"],
        input=username.encode(),
        capture_output=True,
        check=True,
        timeout=10,
    ).stdout
    return base64.b64encode(digest).decode()


def test_without_turn_the_list_is_the_static_one_and_the_stun_urls() -> None:
    ice = IceServers(STATIC, STUN, code_ttl=TTL)
    expected = [*STATIC, {"urls": STUN}]
    assert ice.for_create() == ice.for_join() == expected
    assert IceServers(code_ttl=TTL).for_create() == []
    assert IceServers(STATIC, code_ttl=TTL).for_join() == STATIC
    # Each acknowledgement gets a list of its own: nothing handed out can change the next.
    ice.for_create().append({"urls": "stun:changed.example.org"})
    assert ice.for_join() == expected


def test_each_acknowledgement_gets_turn_credentials_of_its_own() -> None:
    clock = FakeClock(1_800_000_000.25)
    ice = IceServers(STATIC, STUN, TURN, code_ttl=TTL, clock=clock)
    created, joined = ice.for_create(), ice.for_join()
    assert created[:-1] == joined[:-1] == [*STATIC, {"urls": STUN}]
    for issued in (created[-1], joined[-1]):
        assert set(issued) == {"urls", "username", "credential"}
        assert issued["urls"] == list(TURN.urls)
        expiry, tag = issued["username"].split(":")
        assert TAG.fullmatch(tag), tag
        assert issued["credential"] == openssl_credential(TURN.secret, issued["username"])
    # A sender's credentials last while its code waits and for the transfer after it; a
    # receiver joins a code that is waiting already.
    assert created[-1]["username"].split(":")[0] == str(1_800_000_000 + 600 + 3600)
    assert joined[-1]["username"].split(":")[0] == str(1_800_000_000 + 3600)
    assert created[-1]["username"].split(":")[1] != joined[-1]["username"].split(":")[1]
    clock.advance(100)
    assert ice.for_join()[-1]["username"].startswith(f"{1_800_000_000 + 100 + 3600}:")


def test_tags_are_the_injected_ones_and_never_repeat_by_default() -> None:
    tags = (f"tag{number}" for number in itertools.count())
    ice = IceServers(turn=TURN, code_ttl=TTL, clock=FakeClock(1000.0), tag=lambda: next(tags))
    assert [ice.for_create()[-1]["username"] for _ in range(2)] == ["5200:tag0", "5200:tag1"]
    default = IceServers(turn=TURN, code_ttl=TTL)
    assert len({default.for_join()[-1]["username"] for _ in range(1000)}) == 1000


def test_the_secret_is_in_no_acknowledgement_and_no_repr() -> None:
    ice = IceServers(turn=TURN, code_ttl=TTL)
    assert TURN.secret not in repr(ice.for_create()) + repr(ice.for_join())
    assert TURN.secret not in repr(TURN)


@pytest.mark.parametrize(
    ("secret", "username"),
    [("s", "1:a"), ("the shared secret", "1800003600:abc_DEF-123"), ("ünïcødé", "0:x"), ("k" * 100, "9" * 12 + ":t")],
)
def test_the_credential_is_base64_hmac_sha1_of_the_username(secret: str, username: str) -> None:
    assert turn_credential(secret, username) == openssl_credential(secret, username)
    assert turn_credential(secret + "x", username) != turn_credential(secret, username)
