"""sendit_protocol.ice against the ``ice`` vectors (docs/PROTOCOL.md 3.5)."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.vectors import VECTORS
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import (
    FAILURE_WORDS,
    Offered,
    Policy,
    Route,
    Seen,
    TurnError,
    diagnose,
    route,
    server_kinds,
    signalled_type,
)

ICE = VECTORS["ice"]


@pytest.mark.parametrize("case", ICE["routes"], ids=lambda c: f"{c['local']}-{c['remote']}-{c['remote_signalled']}")
def test_route(case: dict[str, Any]) -> None:
    assert route(case["local"], case["remote"], case["remote_signalled"]) == Route(case["route"])


@pytest.mark.parametrize("case", ICE["failures"], ids=lambda c: c["name"])
def test_failure(case: dict[str, Any]) -> None:
    seen = case["seen"]
    facts = Seen(
        policy=Policy(seen["policy"]),
        stun=seen["stun"],
        turn=seen["turn"],
        local=frozenset(seen["local"]),
        remote=frozenset(seen["remote"]),
        turn_error=None if seen["turn_error"] is None else TurnError(seen["turn_error"]),
    )
    assert diagnose(facts) == ErrorId(case["error_id"])


@pytest.mark.parametrize("case", ICE["server_kinds"], ids=repr)
def test_server_kinds(case: dict[str, Any]) -> None:
    assert server_kinds(case["ice_servers"]) == (case["stun"], case["turn"])


@pytest.mark.parametrize("case", ICE["signalled"], ids=lambda c: f"{c['host']}:{c['port']}")
def test_signalled_type(case: dict[str, Any]) -> None:
    offered = [Offered(type=kind, host=host, port=port) for kind, host, port in case["signalled"]]
    assert signalled_type(case["host"], case["port"], offered) == case["type"]


def test_every_reason_has_a_vector_and_words() -> None:
    reasons = {ErrorId(case["error_id"]) for case in ICE["failures"]}
    assert reasons == set(FAILURE_WORDS)
    assert {Route(case["route"]) for case in ICE["routes"]} == set(Route)
