"""peer/signalling/link.py: what open_link sets up, over real aiortc connections through a real server."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection

from helpers.links import Pair, paired
from helpers.server import RunningServer, running_server
from peer.errors import ConnectionFailed, ExitCode, PeerError, ProtocolViolation, Untrusted, WrongCode
from peer.signalling.link import CHANNEL_LABEL, RECEIVE_BUFFER, Link, LinkSetup, ice_configuration, open_link
from peer.signalling.localip import offering
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
    setup = LinkSetup(
        pair.sender, RTCPeerConnection(ice_configuration(pair.created["ice_servers"])), pair.sender_handshake, LOOPBACK
    )
    setup.start_applying_signals()
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


async def _both_opening(pair: Pair) -> list[Any]:
    return await asyncio.gather(
        open_link(pair.sender, pair.created["ice_servers"], pair.sender_handshake, LOOPBACK, pair.peer_joined),
        open_link(pair.receiver, pair.joined["ice_servers"], pair.receiver_handshake, LOOPBACK),
        return_exceptions=True,
    )


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
