"""peer/signalling/link.py: what open_link sets up, over real aiortc connections through a real server."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Sequence, cast

import pytest
from aioice import stun

from helpers.coturn import Coturn
from helpers.links import Pair, paired
from helpers.server import RunningServer, running_server
from peer.errors import ConnectionFailed, ExitCode, PeerError, ProtocolViolation, Untrusted, WrongCode
from peer.signalling import link as link_module
from peer.signalling.candidates import nominated, pair_route
from peer.signalling.link import (
    CHANNEL_LABEL,
    RECEIVE_BUFFER,
    Link,
    LinkSetup,
    Pairing,
    open_link,
    unavailable,
)
from peer.signalling.localip import offering
from sendit_protocol.errors import ErrorId
from sendit_protocol.ice import FAILURE_WORDS, Policy, Route
from signal_server.signalling.events import RelayHook

LOOPBACK = ["127.0.0.1"]


def receive_buffers(link: Link) -> list[int]:
    connection = link.pc.sctp.transport.transport.iceGatherer._connection
    sockets = [protocol.transport.get_extra_info("socket") for protocol in connection._protocols]
    return [sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) for sock in sockets]


async def test_the_receivers_sockets_get_the_large_receive_buffer_and_the_senders_do_not(
    links: tuple[Link, Link],
) -> None:
    # Linux caps the request at net.core.rmem_max and reports twice what it grants.
    granted = 2 * min(RECEIVE_BUFFER, int(Path("/proc/sys/net/core/rmem_max").read_text()))
    sender, receiver = links
    assert receive_buffers(receiver) and set(receive_buffers(receiver)) == {granted}
    assert receive_buffers(sender) and max(receive_buffers(sender)) < granted


async def test_a_signal_aiortc_cannot_apply_fails_the_link_at_once(server: RunningServer) -> None:
    async with paired(server.url) as pair:
        for signal in pair.sender_handshake.peer_joined(pair.peer_joined):
            await pair.sender.request("signal", signal)
        # A well-sealed offer that aiortc refuses (its data channel has no ICE credentials).
        offer = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
        await pair.sender.request("signal", pair.sender_handshake.seal("offer", {"sdp": offer}))
        # Well before OPEN_TIMEOUT, and not as the timeout's NO_PATH.
        with pytest.raises(ConnectionFailed, match="^connection setup failed: "):
            await open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK)


async def _sender_setup(pair: Pair) -> LinkSetup:
    setup = await Pairing(pair.sender, pair.created["ice_servers"], pair.sender_handshake, LOOPBACK).begin(0)
    for signal in pair.sender_handshake.peer_joined(pair.peer_joined):
        await setup.send(signal)
    return setup


async def _offer_channel(pair: Pair, **channel: Any) -> LinkSetup:
    """A sender that opens a channel of its own making (aiortc will open any)."""
    setup = await _sender_setup(pair)
    setup.watch(setup.pc.createDataChannel(channel.pop("label", CHANNEL_LABEL), **channel))
    await setup.describe(await setup.pc.createOffer())
    return setup


@pytest.mark.parametrize(
    "channel, problem",
    [
        ({"label": "other"}, "the data channel is labelled 'other', not 'sendit'"),
        ({"ordered": False}, "the data channel is unordered"),
        ({"maxRetransmits": 0}, "the data channel is unreliable"),
        ({"maxPacketLifeTime": 500}, "the data channel is unreliable"),
    ],
)
async def test_a_receiver_refuses_any_channel_but_the_one_ordered_reliable_sendit_channel(
    server: RunningServer, channel: dict[str, Any], problem: str
) -> None:
    async with paired(server.url) as pair:
        setup = await _offer_channel(pair, **channel)
        with pytest.raises(ProtocolViolation, match=f"^protocol error: {problem}$"):
            await open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK)
        await setup.abandon()


async def test_a_second_channel_is_a_fault_of_the_open_link(links: tuple[Link, Link]) -> None:
    sender, receiver = links
    faults: asyncio.Queue[PeerError] = asyncio.Queue()
    receiver.on_fault(faults.put_nowait)
    sender.pc.createDataChannel(CHANNEL_LABEL, ordered=True)
    fault = await asyncio.wait_for(faults.get(), 10)
    assert isinstance(fault, ProtocolViolation) and fault.told == "the other side opened a second data channel"


async def test_candidates_trickled_after_the_offer_are_taken(server: RunningServer) -> None:
    """A browser sends its candidates after its description, and then null: each sealed."""
    async with paired(server.url) as pair:
        setup = await _sender_setup(pair)
        setup.watch(setup.pc.createDataChannel(CHANNEL_LABEL, ordered=True))
        with offering(LOOPBACK):
            await setup.pc.setLocalDescription(await setup.pc.createOffer())
        sdp = setup.pc.localDescription.sdp
        lines = sdp.splitlines()
        candidates = [line[2:] for line in lines if line.startswith("a=candidate:")]
        ufrag = next(line.split(":", 1)[1] for line in lines if line.startswith("a=ice-ufrag:"))
        assert candidates
        bare = "".join(line + "\r\n" for line in lines if not line.startswith(("a=candidate:", "a=end-of-candidates")))
        await setup.send(pair.sender_handshake.seal("offer", {"sdp": bare}))
        for line in candidates:
            candidate = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": ufrag}
            await setup.send(pair.sender_handshake.seal("candidate", {"candidate": candidate}))
        await setup.send(pair.sender_handshake.seal("candidate", {"candidate": None}))
        receiving = await open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK)
        sending = await asyncio.wait_for(setup.opened, 10)
        assert (sending.channel.readyState, receiving.channel.readyState) == ("open", "open")
        await receiving.pc.close()
        await setup.abandon()


async def _both_opening(
    pair: Pair, local_ips: tuple[Sequence[str], Sequence[str]] = (LOOPBACK, LOOPBACK), policy: Policy = Policy.ALL
) -> list[Any]:
    """Both sides' links, or why each did not open; any that opened are closed again."""
    sender_ips, receiver_ips = local_ips
    opened = await asyncio.gather(
        open_link(
            pair.sender, pair.created["ice_servers"], pair.sender_handshake, sender_ips, pair.peer_joined, policy
        ),
        open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, receiver_ips, policy=policy),
        return_exceptions=True,
    )
    for link in opened:
        if isinstance(link, Link):
            await link.pc.close()
    return opened


async def test_wrong_words_are_found_on_both_sides_each_in_its_words(server: RunningServer) -> None:
    async with paired(server.url, receiver_code="river-fox-lunar") as pair:
        assert not pair.code.endswith("-river-fox-lunar")
        sent, received = await _both_opening(pair)
    assert (
        isinstance(sent, WrongCode) and str(sent) == "Someone tried this code with the wrong words; it no longer works."
    )
    assert isinstance(received, WrongCode) and str(received) == (
        "That code doesn't match. Check the words with the sender and ask for a new code."
    )
    assert sent.exit_code == received.exit_code == ExitCode.WRONG_CODE


def _flip(kind: str) -> RelayHook:
    """The relay changes one byte of the first sealed ``kind`` it passes on."""

    def hook(role: str, signal: dict[str, Any]) -> dict[str, Any]:
        if signal["type"] != kind:
            return signal
        data = bytearray(base64.b64decode(signal["data"]))
        data[20] ^= 1
        return {**signal, "data": base64.b64encode(bytes(data)).decode()}

    return hook


@pytest.mark.parametrize("kind, detects", [("offer", "receiver"), ("answer", "sender")])
async def test_a_relay_that_changes_a_sealed_signal_is_found_out(kind: str, detects: str) -> None:
    """The side that opens the changed signal finds it (the other hears of it from the
    server, tests/e2e/test_cli.py)."""
    async with running_server(relay_hook=_flip(kind)) as server, paired(server.url) as pair:
        opening = {
            "sender": asyncio.ensure_future(
                open_link(pair.sender, pair.created["ice_servers"], pair.sender_handshake, LOOPBACK, pair.peer_joined)
            ),
            "receiver": asyncio.ensure_future(
                open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK)
            ),
        }
        try:
            with pytest.raises(Untrusted) as found:
                await asyncio.wait_for(opening[detects], 20)
        finally:
            for task in opening.values():
                task.cancel()
            await asyncio.gather(*opening.values(), return_exceptions=True)
        assert type(found.value) is Untrusted and found.value.error_id == "tampered"
        assert str(found.value) == (
            "The connection was tampered with on the way (a signal failed its seal check); "
            "the transfer was stopped and nothing was kept."
        )


async def test_two_host_candidates_on_one_machine_are_the_same_network(links: tuple[Link, Link]) -> None:
    assert [await link.routing for link in links] == [Route.LAN, Route.LAN]


@pytest.mark.parametrize("then", ["candidates", "end", "nothing", "closed"])
async def test_a_remote_candidate_known_only_from_its_checks_is_named_by_the_signals_that_follow(
    server: RunningServer, then: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender signals its offer without its candidates: the receiver learns the
    sender's address from the sender's checks alone, a prflx candidate (3.5). The route
    waits for the sender's signals: its candidates name it the host candidate it was; its
    end marker, or ROUTE_WAIT, leave it peer reflexive, through NAT; and a connection
    closed meanwhile (a short transfer) still has the route of the pair it had."""
    monkeypatch.setattr(link_module, "ROUTE_WAIT", 1.0)
    async with paired(server.url) as pair:
        sender = await _sender_setup(pair)
        sender.watch(sender.pc.createDataChannel(CHANNEL_LABEL, ordered=True))
        with offering(LOOPBACK):
            await sender.pc.setLocalDescription(await sender.pc.createOffer())
        lines = sender.pc.localDescription.sdp.splitlines()
        candidates = [line[2:] for line in lines if line.startswith("a=candidate:")]
        ufrag = next(line.split(":", 1)[1] for line in lines if line.startswith("a=ice-ufrag:"))
        bare = "".join(line + "\r\n" for line in lines if not line.startswith(("a=candidate:", "a=end-of-candidates")))
        await sender.send(pair.sender_handshake.seal("offer", {"sdp": bare}))
        receiver = await Pairing(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK).begin(0)
        try:
            receiving, sending = await asyncio.gather(receiver.until_open(), asyncio.wait_for(sender.opened, 10))
            assert await sending.routing is Route.LAN  # the receiver's answer carried its candidates
            selected = nominated(receiving.pc)
            assert selected is not None and pair_route(selected, receiver.candidates) is Route.NAT
            assert not receiving.routing.done()  # waiting for the sender's signals
            if then == "candidates":
                for line in candidates:
                    candidate = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": ufrag}
                    await sender.send(pair.sender_handshake.seal("candidate", {"candidate": candidate}))
            elif then == "end":
                await sender.send(pair.sender_handshake.seal("candidate", {"candidate": None}))
            elif then == "closed":
                await receiving.pc.close()
            expected = Route.LAN if then == "candidates" else Route.NAT
            assert await asyncio.wait_for(receiving.routing, 5) is expected
        finally:
            await receiver.abandon()
            await sender.abandon()


def _failed_with(result: Any, error_id: ErrorId) -> bool:
    return isinstance(result, ConnectionFailed) and (result.error_id, str(result)) == (
        error_id,
        FAILURE_WORDS[error_id],
    )


@pytest.mark.parametrize("empty", ["sender", "receiver"])
async def test_a_side_with_no_address_to_offer_says_so_and_the_other_that_it_got_none(
    server: RunningServer, empty: str
) -> None:
    """At once, not after the 30 s: aiortc never starts checks without a local candidate,
    and ICE with no remote candidate fails as soon as their end is known."""
    # The test namespace holds only lo, which aioice skips unless told.
    local_ips = ((), LOOPBACK) if empty == "sender" else (LOOPBACK, ())
    started = time.monotonic()
    async with paired(server.url) as pair:
        sent, received = await _both_opening(pair, local_ips=local_ips)
    empty_side, other_side = (sent, received) if empty == "sender" else (received, sent)
    assert _failed_with(empty_side, ErrorId.NO_LOCAL_CANDIDATES), empty_side
    assert _failed_with(other_side, ErrorId.NO_REMOTE_CANDIDATES), other_side
    assert other_side.exit_code == ExitCode.CONNECTION
    assert time.monotonic() - started < 10


def _nft(command: str) -> None:
    subprocess.run(["/usr/sbin/nft", command], check=True, capture_output=True, timeout=10)


@pytest.fixture
def apart() -> Iterator[tuple[list[str], list[str]]]:
    """Two local addresses with every packet between them dropped: two hosts that
    cannot reach each other (an nft table of the test's own, in its namespace)."""
    if [name for _, name in socket.if_nameindex()] != ["lo"]:
        pytest.fail("this test changes the firewall: it runs only in the suite's own network namespace (make test)")
    table = "sendit_apart"
    _nft(f"add table ip {table}")
    try:
        _nft(f"add chain ip {table} input {{ type filter hook input priority 0 ; }}")
        _nft(f"add rule ip {table} input ip saddr 127.0.0.2 ip daddr 127.0.0.3 drop")
        _nft(f"add rule ip {table} input ip saddr 127.0.0.3 ip daddr 127.0.0.2 drop")
        yield ["127.0.0.2"], ["127.0.0.3"]
    finally:
        _nft(f"delete table ip {table}")


async def test_hosts_that_cannot_reach_each_other_without_stun_or_turn_blame_the_missing_servers(
    server: RunningServer, apart: tuple[list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checks that get no answer are retried for longer than the link waits: this is
    the 30 s limit running out, made shorter (what happens at its end is the same)."""
    monkeypatch.setattr(link_module, "OPEN_TIMEOUT", 3.0)
    async with paired(server.url) as pair:
        assert pair.created["ice_servers"] == []
        sent, received = await _both_opening(pair, local_ips=apart)
    assert _failed_with(sent, ErrorId.NO_STUN), sent
    assert _failed_with(received, ErrorId.NO_STUN), received


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_turn_relay_that_does_not_answer_is_named_as_the_reason() -> None:
    """Relay only, so that the relay is the only way: nobody serves its port."""
    silent = [{"urls": f"turn:127.0.0.1:{_free_udp_port()}", "username": "u", "credential": "p"}]
    async with running_server(ice_servers=silent) as server, paired(server.url) as pair:
        sent, received = await _both_opening(pair, policy=Policy.RELAY)
    assert _failed_with(sent, ErrorId.TURN_UNREACHABLE), sent
    assert _failed_with(received, ErrorId.TURN_UNREACHABLE), received


async def test_the_relays_answer_is_kept_for_the_connection_it_was_given_to(loopback_relay: Coturn) -> None:
    """Two connections gathering at once in one process: the relay refuses only the
    receiver's forged credential, and only the receiver says so."""
    async with (
        running_server(turn=frozenset({loopback_relay.url}), turn_secret=loopback_relay.secret) as server,
        paired(server.url) as pair,
    ):
        forged = [
            {**ice, "credential": base64.b64encode(b"not the relay's").decode()} for ice in pair.joined["ice_servers"]
        ]
        sent, received = await asyncio.gather(
            open_link(
                pair.sender,
                pair.created["ice_servers"],
                pair.sender_handshake,
                LOOPBACK,
                pair.peer_joined,
                Policy.RELAY,
            ),
            open_link(pair.receiver, forged, pair.receiver_handshake, LOOPBACK, policy=Policy.RELAY),
            return_exceptions=True,
        )
    assert _failed_with(received, ErrorId.TURN_REFUSED), received
    assert _failed_with(sent, ErrorId.NO_REMOTE_CANDIDATES), sent


class StaleNonces(asyncio.DatagramProtocol):
    """A TURN relay whose nonces are always stale: it asks an Allocate for credentials
    (401), then answers each one that brings them 438, as coturn sometimes does once."""

    def __init__(self) -> None:
        self.stale: set[bytes] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = stun.parse_message(data)
        answer = stun.Message(
            message_method=request.message_method,
            message_class=stun.Class.ERROR,
            transaction_id=request.transaction_id,
        )
        authenticated = "USERNAME" in request.attributes
        if authenticated:
            self.stale.add(request.transaction_id)
        answer.attributes["ERROR-CODE"] = (438, "Stale Nonce") if authenticated else (401, "Unauthorized")
        answer.attributes["REALM"] = "stale.test"
        answer.attributes["NONCE"] = secrets.token_hex(8).encode()
        self.transport.sendto(bytes(answer), addr)


async def test_a_relay_whose_nonces_stay_stale_is_tried_again_then_named_as_the_reason() -> None:
    """438 asks for a retry with the new nonce (RFC 8489 9.2.5), which aioice does not
    make after the 401; once tried again and still stale, the relay gave no relay."""
    loop = asyncio.get_running_loop()
    transport, relay = await loop.create_datagram_endpoint(StaleNonces, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    stale = [{"urls": f"turn:127.0.0.1:{port}", "username": "u", "credential": "p"}]
    try:
        async with running_server(ice_servers=stale) as server, paired(server.url) as pair:
            sent, received = await _both_opening(pair, policy=Policy.RELAY)
    finally:
        transport.close()
    assert _failed_with(sent, ErrorId.TURN_UNREACHABLE), sent
    assert _failed_with(received, ErrorId.TURN_UNREACHABLE), received
    assert len(relay.stale) == 4  # two Allocates with credentials on each side


@pytest.mark.parametrize("turn", [False, True])
async def test_a_receiver_that_never_gets_the_offer_blames_the_other_side_not_its_addresses(
    turn: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It gathered nothing because it had nothing to answer (and asked no relay)."""
    monkeypatch.setattr(link_module, "OPEN_TIMEOUT", 1.0)
    silent = [{"urls": f"turn:127.0.0.1:{_free_udp_port()}", "username": "u", "credential": "p"}] if turn else []
    async with running_server(ice_servers=silent) as server, paired(server.url) as pair:
        with pytest.raises(ConnectionFailed) as failed:
            await open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK)
    assert _failed_with(failed.value, ErrorId.NO_REMOTE_CANDIDATES), failed.value


@pytest.mark.parametrize(
    "ice_servers, policy, fails",
    [
        ([], Policy.RELAY, True),
        ([{"urls": "stun:127.0.0.1:3478"}], Policy.RELAY, True),
        (
            [{"urls": ["stun:127.0.0.1:3478", "turn:127.0.0.1:3478"], "username": "u", "credential": "p"}],
            Policy.RELAY,
            False,
        ),
        ([], Policy.ALL, False),
    ],
)
def test_relay_only_without_a_relay_is_known_before_any_candidate(
    ice_servers: list[dict[str, Any]], policy: Policy, fails: bool
) -> None:
    error = unavailable(ice_servers, policy)
    if fails:
        assert _failed_with(error, ErrorId.RELAY_UNAVAILABLE)
    else:
        assert error is None


async def test_relay_only_connects_through_the_turn_relay(loopback_relay: Coturn) -> None:
    async with (
        running_server(turn=frozenset({loopback_relay.url}), turn_secret=loopback_relay.secret) as server,
        paired(server.url) as pair,
    ):
        opened = await _both_opening(pair, policy=Policy.RELAY)
    assert [await link.routing if isinstance(link, Link) else link for link in opened] == [Route.RELAY, Route.RELAY]


async def test_credentials_the_relay_refuses_are_named_as_the_reason(loopback_relay: Coturn) -> None:
    """The server's TURN secret is not the relay's: coturn answers 401 (aioice alone would
    drop the relayed candidate without a word)."""
    async with (
        running_server(turn=frozenset({loopback_relay.url}), turn_secret=loopback_relay.secret + "-not") as server,
        paired(server.url) as pair,
    ):
        sent, received = await _both_opening(pair, policy=Policy.RELAY)
    assert _failed_with(sent, ErrorId.TURN_REFUSED), sent
    assert _failed_with(received, ErrorId.TURN_REFUSED), received
