"""web/js/protocol/ice.js against docs/protocol-vectors.json ``ice`` (PROTOCOL.md 3.5),
in Chromium (the runner is tests/web/harness/ice.js), and the page's words of 3.5
against sendit_protocol.ice's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from helpers.browser import run_harness
from helpers.vectors import VECTORS
from sendit_protocol.ice import FAILURE_WORDS, ROUTE_WORDS


async def test_js_ice_matches_vectors(page: Any) -> None:
    assert await run_harness(page, "ice.js", "runIce", VECTORS["ice"]) == []


async def test_js_ice_runner_can_fail(page: Any) -> None:
    broken = copy.deepcopy(VECTORS["ice"])
    broken["routes"][0]["route"] = "relay"
    broken["failures"][0]["error_id"] = "no-path"
    broken["server_kinds"][0]["turn"] = not broken["server_kinds"][0]["turn"]
    broken["signalled"][0]["type"] = None
    failures = await run_harness(page, "ice.js", "runIce", broken)
    assert [f.split(" ")[0] for f in failures] == ["route", "failure", "server", "signalled"], failures


async def test_the_page_words_routes_and_failures_as_the_protocol_does(page: Any) -> None:
    shown = await run_harness(page, "ice.js", "words")
    assert shown["routes"] == {str(route): words for route, words in ROUTE_WORDS.items()}
    assert shown["failures"] == {str(error_id): words for error_id, words in FAILURE_WORDS.items()}
    assert set(FAILURE_WORDS) <= set(shown["ids"])


#: What Chromium and aiortc write: host (by address and by mDNS name), server and peer reflexive,
#: relayed, over UDP and TCP.
CANDIDATES = [
    "candidate:3136326511 1 udp 2122260223 127.0.0.1 60992 typ host generation 0 ufrag e3ld network-id 1",
    "candidate:842163049 1 udp 1677729535 198.51.100.1 40000 typ srflx raddr 192.0.2.10 rport 40000 generation 0",
    "candidate:2170212840 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 ufrag 3I3F",
    "candidate:1 1 udp 1853824767 203.0.113.5 5000 typ prflx raddr 0.0.0.0 rport 0",
    "candidate:9 1 udp 41885439 198.51.100.2 49152 typ relay raddr 198.51.100.1 rport 40000",
    "candidate:4 1 udp 2122260223 3f1c0a52-8e1b-4c8e-9f57-0d8f6a3c2b1e.local 40001 typ host generation 0",
    "candidate:7 1 udp 2122260223 127.0.0.1 1 typhost",
    "",
]
SDP = "\r\n".join(
    [
        "v=0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "a=mid:0",
        *(f"a={candidate}" for candidate in CANDIDATES[:5]),
        "a=end-of-candidates",
        "",
    ]
)


async def test_candidate_types_are_read_from_candidates_and_sdp(page: Any) -> None:
    read = await run_harness(page, "ice.js", "types", {"candidates": CANDIDATES, "sdp": SDP})
    assert read == {
        "candidates": ["host", "srflx", "host", "prflx", "relay", "host", None, None],
        "offered": [
            {"type": "host", "host": "127.0.0.1", "port": 60992},
            {"type": "srflx", "host": "198.51.100.1", "port": 40000},
            {"type": "host", "host": "127.0.0.1", "port": 9},
            {"type": "prflx", "host": "203.0.113.5", "port": 5000},
            {"type": "relay", "host": "198.51.100.2", "port": 49152},
            {"type": "host", "host": "3f1c0a52-8e1b-4c8e-9f57-0d8f6a3c2b1e.local", "port": 40001},
            None,
            None,
        ],
        "sdp": ["host", "srflx", "host", "prflx", "relay"],
    }


@pytest.mark.parametrize(
    "ice_servers", [[], [{"urls": "turn:127.0.0.1:9", "username": "u", "credential": "p"}]], ids=["none", "turn"]
)
async def test_a_receiver_the_offer_never_reached_blames_the_other_side_not_its_addresses(
    page: Any, ice_servers: list[dict[str, str]]
) -> None:
    """It gathered nothing because it had nothing to answer (3.5): without the rule it
    would say no-local-candidates, or turn-unreachable with a relay listed."""
    got = await run_harness(page, "ice.js", "unoffered", {"iceServers": ice_servers, "policy": "all"})
    assert got == "no-remote-candidates"
