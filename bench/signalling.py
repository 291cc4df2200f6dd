"""Signalling: N concurrent pairings through one server process, ours against a bare relay.

For each N in ``config.pairings`` (100 and 1,000 by default) the same load generator
drives two servers, each a fresh subprocess on a free loopback port:

- ours: ``python -m signal_server`` as deployed (default options, log level info; its
  pool in the scratch directory);
- baseline: ``python -m bench.bare_relay``, a python-socketio relay with the same
  ``AsyncServer`` settings and acknowledgements of the same shape, but no validation,
  no registry, no limits and no logging.

The load generator runs in its own process (``python -m bench.signalling``, see
``GENERATORS``), on uvloop, with 2N python-socketio ``AsyncClient``s (WebSocket
transport only): one sender and one receiver per pairing, all connected before anything
is timed, since the connection costs the same on both servers.

A round, for each server:

1. RSS of the idle server; connect the 2N clients; RSS again ("connected").
2. Every sender ``create``s a slot and the N slots wait; RSS again ("codes"). RSS per
   open code is (codes - connected) / N; RSS per client is (connected - idle) / 2N.
   The senders then ``leave``, withdrawing the slots.
3. The timed pairings, their starts spread evenly over ``config.spread`` seconds.

Each N runs ``ROUNDS`` rounds per server, alternating bare and ours; the table shows
the medians and ``Result.runs`` every round.

**Pairing latency** spans, for one pairing, from the moment the sender emits ``create``
until nothing is outstanding, in protocol 2 (docs/PROTOCOL.md 2 and 3.3): the receiver
has joined the slot with its PAKE message (the slot handed over in-process, as if read
out instantly), the sender has had ``peer_joined`` carrying it, the sender has sent its
``pake``, its ``confirm``, its sealed offer and three sealed ICE candidates and the
sealed null end-of-candidates without waiting (trickle, as a browser does), the
receiver has sent its ``confirm`` once the sender's ``pake`` arrived and, once the
offer arrived, its sealed answer and candidates likewise, every one of those requests
is acknowledged ``ok``, and each side holds every signal of the other, unchanged. The
signals are those of one real handshake (``EXCHANGE``: sendit_protocol.handshake run in
memory at start-up, SDPs of ~3 KB shaped like a browser's, sealed to ~4 KB of base64),
replayed by every pairing: the server checks only their envelope.

**Pairings per second** is the number completed over the time from the first
``create`` to the last completion, so it cannot exceed N / spread by much. Percentiles
are over all N pairings (``statistics.quantiles``, inclusive); any failed pairing is
reported and fails the target.

Also reported: server CPU per pairing (the server's CPU time over the timed phase / N),
the least noisy view of what our code adds; in ``Result.detail`` each server's
``server_busy_pct`` (near 100 % the server, not the generator, sets the pace) and
``capacity_per_s`` (N / server CPU), with the create and join steps' own percentiles.

Targets at 1,000 pairings (issue 6): our p99 at most 1.5 times the bare relay's and
under 100 ms; RSS per open code under 20 KB. At other N the figures are reported only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Sequence

import aiohttp
import psutil
import socketio

from sendit_protocol.handshake import Handshake
from sendit_protocol.signals import PROTOCOL_VERSION
from signal_server.__main__ import event_loop

from .config import BenchConfig
from .results import Result, median

SECTION = "signalling"
KB = 1000
ROOT = Path(__file__).resolve().parent.parent
#: Load generator processes. Measured at 1,000 pairings on the idle 2-core machine: one
#: generator on uvloop needs 0.8 CPU-s per 1,000 pairings (its garbage collector held
#: off while timing) and starts pairings on time to within 2 ms at p99. Two generators
#: used the same CPU in total, gave the same latencies, and add a third process to share
#: the two cores.
GENERATORS = 1
#: Rounds per server and N, alternating; the table shows the medians. With 2,000 clients
#: a full garbage collection takes 100-150 ms (ours tunes collection, the bare relay
#: does not), and whether one lands in the timed second moves one round's p99 a lot.
ROUNDS = 3
#: How many clients a generator connects at once: well under the listen backlog.
CONNECT_CONCURRENCY = 64
#: Seconds between the "go" and the first start, for the message to reach every generator.
START_MARGIN = 0.25
REQUEST_TIMEOUT = 30.0
P99_FACTOR = 1.5
P99_LIMIT_MS = 100.0
RSS_PER_CODE_LIMIT_KB = 20.0
#: The N at which the issue's targets apply.
TARGET_PAIRINGS = 1000


# --- What the peers send ------------------------------------------------------------


def _sdp(kind: str, ufrag: str) -> str:
    """An SDP the size and shape of a desktop browser's (audio plus data channel, ~3 KB);
    the server never parses it, so only its size and characters matter."""
    setup = "actpass" if kind == "offer" else "active"
    fingerprint = ":".join(f"{(i * 37 + len(ufrag)) % 256:02X}" for i in range(32))
    lines = [
        "v=0",
        f"o=- {4611731400430051336 + len(kind)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS stream",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}",
        "a=ice-pwd:Wq6Ue1Hf0m3Fv3Mk0Jx8Lq2Zr9Tb",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {fingerprint}",
        f"a=setup:{setup}",
        "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=sendrecv",
        "a=msid:stream track-audio-0",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=rtpmap:63 red/48000/2",
        "a=fmtp:63 111/111",
        "a=rtpmap:9 G722/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:13 CN/8000",
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
        "a=ssrc:1001 cname:benchbenchbench0",
        "a=ssrc:1001 msid:stream track-audio-0",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}",
        "a=ice-pwd:Wq6Ue1Hf0m3Fv3Mk0Jx8Lq2Zr9Tb",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {fingerprint}",
        f"a=setup:{setup}",
        "a=mid:1",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
    ]
    text = "\r\n".join(lines) + "\r\n"
    # Browsers add codec and extension lines that vary by version; pad with more of the
    # same kind to the size of a typical offer.
    extra = 0
    while len(text) < 3000:
        text += f"a=extmap:{14 + extra} urn:example:bench:padding-header-extension-{extra:02d}\r\n"
        extra += 1
    return text


def _candidates(ufrag: str, port: int) -> list[dict[str, Any] | None]:
    """Three trickled candidates (PROTOCOL.md 2.3) and the null end-of-candidates."""
    lines = [
        f"candidate:1 1 udp 2122260223 127.0.0.1 {port} typ host generation 0 ufrag {ufrag} network-id 1",
        f"candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 ufrag {ufrag} network-id 1",
        f"candidate:3 1 udp 1686052607 198.51.100.7 {port + 1} typ srflx raddr 127.0.0.1 rport {port} "
        f"generation 0 ufrag {ufrag} network-id 1",
    ]
    candidates: list[dict[str, Any] | None] = [
        {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": ufrag} for line in lines
    ]
    return [*candidates, None]


@dataclass(frozen=True)
class Exchange:
    """Every signal of one real handshake, in the order each side sends it."""

    #: The receiver's PAKE message, as ``join`` carries it.
    join_pake: str
    #: The sender's: ``pake``, ``confirm``, the sealed offer, candidates and end of candidates.
    sender: list[dict[str, str]]
    #: The receiver's ``confirm`` (sent as soon as the sender's ``pake`` arrives).
    confirm: dict[str, str]
    #: The receiver's sealed answer, candidates and end of candidates (once the offer arrived).
    answer: list[dict[str, str]]

    @property
    def receiver(self) -> list[dict[str, str]]:
        return [self.confirm, *self.answer]


def _exchange() -> Exchange:
    """One handshake of sendit_protocol.handshake, run in memory with a code of the bench's
    own, each side opening what the other sealed. Every pairing replays these signals: the
    server checks only their envelope, and one SPAKE2 per side and pairing would cost the
    load generator more CPU than the server spends on the pairing."""
    code = "4821-river-fox-lunar"
    sender, receiver = Handshake("sender", code), Handshake("receiver", code)
    pake, sender_confirm = sender.peer_joined(receiver.pake)
    sent = [pake, sender_confirm, sender.seal("offer", {"sdp": _sdp("offer", "sNdR")})]
    sent += [sender.seal("candidate", {"candidate": c}) for c in _candidates("sNdR", 54321)]
    [confirm] = receiver.receive(pake)[0]
    for signal in sent[1:]:
        receiver.receive(signal)
    answer = [receiver.seal("answer", {"sdp": _sdp("answer", "rCvR")})]
    answer += [receiver.seal("candidate", {"candidate": c}) for c in _candidates("rCvR", 54400)]
    for signal in [confirm, *answer]:
        sender.receive(signal)
    assert sender.trusted and receiver.trusted
    return Exchange(join_pake=receiver.pake, sender=sent, confirm=confirm, answer=answer)


EXCHANGE = _exchange()


# --- The load generator (runs in its own process) --------------------------------------


class Member:
    """One socket.io client: a sender or a receiver, counting what it gets."""

    def __init__(self, session: aiohttp.ClientSession, expected: int) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=session)
        #: How many signals the other side sends in a pairing.
        self.expected = expected
        self.signals: list[dict[str, Any]] = []
        self.joined: dict[str, Any] | None = None
        #: The first signal of each type that someone waits for: ``pake`` and ``offer``.
        self.arrived: dict[str, asyncio.Future[None]] = {}
        self.complete: asyncio.Future[None] | None = None
        self.peer_joined: asyncio.Future[None] | None = None
        self.sio.on("signal", self._on_signal)
        self.sio.on("peer_joined", self._on_peer_joined)

    def expect(self) -> None:
        loop = asyncio.get_running_loop()
        self.signals = []
        self.joined = None
        self.arrived = {kind: loop.create_future() for kind in ("pake", "offer")}
        self.complete, self.peer_joined = loop.create_future(), loop.create_future()

    async def _on_signal(self, data: Any = None) -> None:
        self.signals.append(data)
        if isinstance(data, dict) and data.get("type") in self.arrived:
            _settle(self.arrived[data["type"]])
        if len(self.signals) == self.expected:
            _settle(self.complete)

    async def _on_peer_joined(self, data: Any = None) -> None:
        self.joined = data
        _settle(self.peer_joined)

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack = await self.sio.call(event, payload, timeout=REQUEST_TIMEOUT)
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            raise RuntimeError(f"{event} refused: {ack!r}")
        return ack

    async def trickle(self, signals: Sequence[dict[str, Any]]) -> list[asyncio.Future[Any]]:
        """Emit every signal back to back, as a browser trickles; the acks come later."""
        loop = asyncio.get_running_loop()
        acks: list[asyncio.Future[Any]] = []
        for signal in signals:
            ack: asyncio.Future[Any] = loop.create_future()
            acks.append(ack)
            await self.sio.emit("signal", signal, callback=lambda data=None, ack=ack: _settle(ack, data))
        return acks


def _settle(future: asyncio.Future[Any] | None, value: Any = None) -> None:
    if future is not None and not future.done():
        future.set_result(value)


async def _pairing(sender: Member, receiver: Member, start_at: float) -> dict[str, float]:
    """One timed pairing; times in seconds from the ``create``."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    sender.expect()
    receiver.expect()
    assert sender.peer_joined is not None and sender.complete is not None and receiver.complete is not None
    began = time.monotonic()
    created = await sender.request("create", {"version": PROTOCOL_VERSION})
    created_at = time.monotonic()
    await receiver.request("join", {"version": PROTOCOL_VERSION, "slot": created["slot"], "pake": EXCHANGE.join_pake})
    await sender.peer_joined
    paired_at = time.monotonic()
    # As the peers do (PROTOCOL.md 3.3): the sender sends everything at once; the
    # receiver confirms on the sender's pake and answers once the offer is there.
    acks = await sender.trickle(EXCHANGE.sender)
    await receiver.arrived["pake"]
    acks += await receiver.trickle([EXCHANGE.confirm])
    await receiver.arrived["offer"]
    acks += await receiver.trickle(EXCHANGE.answer)
    answers = await asyncio.wait_for(asyncio.gather(*acks), REQUEST_TIMEOUT)
    await asyncio.wait_for(asyncio.gather(sender.complete, receiver.complete), REQUEST_TIMEOUT)
    ended = time.monotonic()
    refused = [a for a in answers if not isinstance(a, dict) or a.get("ok") is not True]
    if refused:
        raise RuntimeError(f"signal refused: {refused[0]!r}")
    if sender.joined != {"pake": EXCHANGE.join_pake}:
        raise RuntimeError(f"peer_joined did not carry the receiver's pake: {sender.joined!r:.200}")
    # Relayed verbatim and in order (each handler task records its signal before its
    # first await, and tasks start in arrival order).
    if sender.signals != EXCHANGE.receiver or receiver.signals != EXCHANGE.sender:
        raise RuntimeError("signals arrived altered or out of order")
    return {
        "began": began,
        "ended": ended,
        "late": began - start_at,
        "create": created_at - began,
        "paired": paired_at - began,
        "latency": ended - began,
    }


async def _generate(url: str, indices: list[int], total: int, spread: float) -> None:
    """The generator's side of the conversation with :func:`_round`, over stdin/stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def tell(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    # One session for all clients; its connector must not cap the open WebSockets.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        senders = [Member(session, expected=len(EXCHANGE.receiver)) for _ in indices]
        receivers = [Member(session, expected=len(EXCHANGE.sender)) for _ in indices]
        members = senders + receivers
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def connect(member: Member) -> None:
            async with gate:
                await member.sio.connect(url, transports=["websocket"], wait_timeout=REQUEST_TIMEOUT)

        await asyncio.gather(*(connect(m) for m in members))
        tell({"connected": len(members)})
        while line := (await reader.readline()).decode().split():
            command = line[0]
            if command == "codes":
                await asyncio.gather(*(s.request("create", {"version": PROTOCOL_VERSION}) for s in senders))
                tell({"codes": len(senders)})
            elif command == "withdraw":
                await asyncio.gather(*(s.request("leave", {}) for s in senders))
                tell({"withdrawn": len(senders)})
            elif command == "go":
                first = float(line[1])
                # The generator's own full collections (2,000 clients) would stall every
                # pairing in flight, whichever server it drives; it is not what is
                # measured, so it does not collect while timing (it grows by a few MB).
                gc.collect()
                gc.freeze()
                gc.disable()
                cpu = time.process_time()
                starts = (first + i * spread / total for i in indices)
                outcomes = await asyncio.gather(
                    *(_pairing(s, r, at) for s, r, at in zip(senders, receivers, starts, strict=True)),
                    return_exceptions=True,
                )
                timings = [o for o in outcomes if isinstance(o, dict)]
                failures = [repr(o) for o in outcomes if not isinstance(o, dict)]
                cpu = time.process_time() - cpu
                gc.enable()
                tell({"timings": timings, "failures": failures, "cpu": cpu})
            elif command == "quit":
                break
        await asyncio.gather(*(m.sio.disconnect() for m in members))


def generator_main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench.signalling``: one load generator process."""
    parser = argparse.ArgumentParser(prog="python -m bench.signalling")
    parser.add_argument("--url", required=True)
    parser.add_argument("--total", type=int, required=True, help="pairings across all generators")
    parser.add_argument("--first", type=int, required=True, help="this generator's first pairing")
    parser.add_argument("--stride", type=int, required=True, help="pairings between two of ours")
    parser.add_argument("--spread", type=float, required=True)
    args = parser.parse_args(argv)
    indices = list(range(args.first, args.total, args.stride))
    # The generator is not what is measured: the cheaper its loop (the server's choice,
    # uvloop when installed), the less it takes from the server's share of the cores.
    with asyncio.Runner(loop_factory=event_loop) as runner:
        runner.run(_generate(args.url, indices, args.total, args.spread))


# --- The bench process --------------------------------------------------------------


@dataclass
class Measured:
    """What one round against one server measured."""

    server: str
    pairings: int
    latencies: list[float] = field(default_factory=list)  # seconds
    creates: list[float] = field(default_factory=list)
    paired: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0
    rss_idle: int = 0
    rss_connected: int = 0
    rss_codes: int = 0
    server_cpu: float = 0.0
    generator_cpu: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.latencies)

    def percentile(self, values: list[float], p: int) -> float:
        """The p-th percentile in milliseconds."""
        if len(values) == 1:
            return values[0] * 1000
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000

    @property
    def p50(self) -> float:
        return self.percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return self.percentile(self.latencies, 99)

    @property
    def rate(self) -> float:
        return self.completed / self.wall if self.wall else 0.0

    @property
    def rss_per_code(self) -> float:
        """Bytes per open code."""
        return (self.rss_codes - self.rss_connected) / self.pairings

    @property
    def rss_per_client(self) -> float:
        return (self.rss_connected - self.rss_idle) / (2 * self.pairings)

    def summary(self) -> dict[str, Any]:
        """The figures behind the table, for Result.detail."""

        def ms(values: list[float], p: int) -> float | None:
            return round(self.percentile(values, p), 2) if values else None

        return {
            "completed": self.completed,
            "failures": self.failures[:5],
            "failed": len(self.failures),
            "p50_ms": ms(self.latencies, 50),
            "p99_ms": ms(self.latencies, 99),
            "max_ms": round(max(self.latencies) * 1000, 2) if self.latencies else None,
            "create_ack_p50_ms": ms(self.creates, 50),
            "create_ack_p99_ms": ms(self.creates, 99),
            "paired_p50_ms": ms(self.paired, 50),
            "paired_p99_ms": ms(self.paired, 99),
            "start_lateness_p99_ms": ms(self.lateness, 99),
            "wall_s": round(self.wall, 3),
            "rss_idle_mb": round(self.rss_idle / 1e6, 1),
            "rss_connected_mb": round(self.rss_connected / 1e6, 1),
            "rss_codes_mb": round(self.rss_codes / 1e6, 1),
            "rss_per_client_kb": round(self.rss_per_client / KB, 2),
            "rss_per_code_kb": round(self.rss_per_code / KB, 3),
            "server_cpu_s": round(self.server_cpu, 3),
            "generator_cpu_s": round(self.generator_cpu, 3),
            # Near 100 % the server, not the generator, sets the pace.
            "server_busy_pct": round(100 * self.server_cpu / self.wall, 1) if self.wall else None,
            # The most pairings per second this server could take, were it never idle.
            "capacity_per_s": round(self.pairings / self.server_cpu) if self.server_cpu else None,
        }


@dataclass
class Served:
    url: str
    pid: int


@contextlib.asynccontextmanager
async def _bare_relay() -> AsyncIterator[Served]:
    """``python -m bench.bare_relay`` on a free loopback port, started the way ours is."""
    # Imported here: the generator process imports this module and needs none of it.
    from tests.helpers.server import server_process

    async with server_process(module="bench.bare_relay") as server:
        yield Served(url=server.url, pid=server.process.pid)


@contextlib.asynccontextmanager
async def _ours(scratch: Path) -> AsyncIterator[Served]:
    """``python -m signal_server`` with its defaults, but for the per-address caps: every
    client of the load generator comes from 127.0.0.1, which the caps would count as one
    person. Only the pool goes to the scratch directory."""
    from tests.helpers.server import server_process  # see _bare_relay

    uncapped = ("--max-connections-per-address", "1000000", "--max-open-codes-per-address", "1000000")
    async with server_process("--pool-dir", str(scratch / "signalling-pool"), *uncapped) as server:
        yield Served(url=server.url, pid=server.process.pid)


class Generator:
    """A load generator process, spoken to line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, url: str, total: int, first: int, stride: int, spread: float) -> "Generator":
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.signalling",
            "--url",
            url,
            "--total",
            str(total),
            "--first",
            str(first),
            "--stride",
            str(stride),
            "--spread",
            str(spread),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            limit=16 * 1024 * 1024,
        )
        return cls(process)

    async def ask(self, command: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
        """Send ``command`` (if any) and return the generator's next answer."""
        assert self.process.stdin is not None and self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(command.encode() + b"\n")
            await self.process.stdin.drain()
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"the load generator ended (exit status {await self.process.wait()})")
        return json.loads(line)

    async def close(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            with contextlib.suppress(ConnectionError):
                self.process.stdin.write(b"quit\n")
                await self.process.stdin.drain()
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def _round(server: str, n: int, config: BenchConfig) -> Measured:
    """One server, N pairings: memory first, then the timed pairings."""
    served = _ours(config.scratch) if server == "ours" else _bare_relay()
    measured = Measured(server=server, pairings=n)
    async with served as s:
        proc = psutil.Process(s.pid)
        measured.rss_idle = proc.memory_info().rss
        count = min(GENERATORS, n)
        generators = await asyncio.gather(*(Generator.start(s.url, n, k, count, config.spread) for k in range(count)))
        try:
            await asyncio.gather(*(g.ask() for g in generators))  # connected
            measured.rss_connected = proc.memory_info().rss
            await asyncio.gather(*(g.ask("codes") for g in generators))
            measured.rss_codes = proc.memory_info().rss
            await asyncio.gather(*(g.ask("withdraw") for g in generators))
            cpu = sum(proc.cpu_times()[:2])
            first = time.monotonic() + START_MARGIN
            answers = await asyncio.gather(*(g.ask(f"go {first!r}") for g in generators))
            measured.server_cpu = sum(proc.cpu_times()[:2]) - cpu
        finally:
            await asyncio.gather(*(g.close() for g in generators))
    timings = [t for a in answers for t in a["timings"]]
    measured.failures = [f for a in answers for f in a["failures"]]
    measured.generator_cpu = sum(a["cpu"] for a in answers)
    measured.latencies = [t["latency"] for t in timings]
    measured.creates = [t["create"] for t in timings]
    measured.paired = [t["paired"] for t in timings]
    measured.lateness = [t["late"] for t in timings]
    if timings:
        measured.wall = max(t["ended"] for t in timings) - min(t["began"] for t in timings)
    return measured


def _figures(rounds: list[Measured], figure: Callable[[Measured], float]) -> list[float]:
    return [figure(m) if m.latencies else math.nan for m in rounds]


def _rows(n: int, spread: float, ours: list[Measured], bare: list[Measured]) -> list[Result]:
    """The table rows for one N: medians over the rounds; targets only at the issue's N."""
    targeted = n == TARGET_PAIRINGS
    ok = all(not m.failures and m.completed == n for m in ours + bare)
    detail = {
        "ours": [m.summary() for m in ours],
        "bare_relay": [m.summary() for m in bare],
        "rounds": len(ours),
        "generators": min(GENERATORS, n),
        "spread_s": spread,
        # What each side sends, in order: each signal's type and the length of its data.
        "signals": {
            "sender": [f"{s['type']} {len(s['data'])}" for s in EXCHANGE.sender],
            "receiver": [f"{s['type']} {len(s['data'])}" for s in EXCHANGE.receiver],
        },
    }

    def row(
        name: str,
        unit: str,
        figure: Callable[[Measured], float],
        target: str = "",
        met: Callable[[float, float], bool] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Result:
        ours_runs, bare_runs = _figures(ours, figure), _figures(bare, figure)
        result = Result(
            SECTION,
            name,
            unit,
            median(ours_runs),
            median(bare_runs),
            runs=ours_runs,
            baseline_runs=bare_runs,
            detail=extra or detail,
        )
        if targeted and met is not None:
            result.target = target
            result.met = ok and met(result.ours, median(bare_runs))
        return result

    rss = {
        "rss_per_client_kb": {
            "ours": [round(m.rss_per_client / KB, 2) for m in ours],
            "bare_relay": [round(m.rss_per_client / KB, 2) for m in bare],
        },
        "ours": [{k: v for k, v in m.summary().items() if k.startswith("rss")} for m in ours],
        "bare_relay": [{k: v for k, v in m.summary().items() if k.startswith("rss")} for m in bare],
    }
    return [
        row(f"pairing latency p50, {n:,} pairings", "ms", lambda m: m.p50),
        row(
            f"pairing latency p99, {n:,} pairings",
            "ms",
            lambda m: m.p99,
            f"≤ {P99_FACTOR}× baseline and < {P99_LIMIT_MS:.0f} ms",
            lambda ours_p99, bare_p99: ours_p99 <= P99_FACTOR * bare_p99 and ours_p99 < P99_LIMIT_MS,
        ),
        row(f"pairings per second, {n:,} pairings", "/s", lambda m: m.rate),
        # Not a target: the least noisy view of what our code adds per pairing, where
        # latency near saturation magnifies small differences.
        row(f"server CPU per pairing, {n:,} pairings", "ms", lambda m: m.server_cpu / n * 1000),
        row(
            f"server RSS per open code, {n:,} codes",
            "KB",
            lambda m: m.rss_per_code / KB,
            f"< {RSS_PER_CODE_LIMIT_KB:.0f} KB",
            lambda ours_kb, _bare: ours_kb < RSS_PER_CODE_LIMIT_KB,
            rss,
        ),
    ]


def _enough_descriptors(n: int) -> None:
    """The server holds 2N sockets and inherits our limit; raise the soft limit if needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * n + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


def _line(m: Measured) -> str:
    failed = f", {len(m.failures)} FAILED" if m.failures else ""
    if not m.latencies:
        return f"  {m.server:<5} no pairing completed{failed}"
    return (
        f"  {m.server:<5} p50 {m.p50:.1f} ms, p99 {m.p99:.1f} ms, {m.rate:.0f} pairings/s, "
        f"{m.rss_per_code / KB:.2f} KB/code, {m.rss_per_client / KB:.1f} KB/client; "
        f"cpu server {m.server_cpu:.2f} s ({m.summary()['server_busy_pct']} % of {m.wall:.2f} s), "
        f"generator {m.generator_cpu:.2f} s{failed}"
    )


async def run(config: BenchConfig) -> list[Result]:
    """Ours and the bare relay, for each N in ``config.pairings``."""
    results: list[Result] = []
    for n in config.pairings:
        _enough_descriptors(n)
        config.say(
            f"{n} pairings over {config.spread:g} s, {ROUNDS} rounds each, {min(GENERATORS, n)} generator process(es)"
        )
        measured: dict[str, list[Measured]] = {"bare": [], "ours": []}
        # Alternating, each round with a fresh server and fresh clients, so a disturbance
        # of the machine lands on both servers alike.
        for _ in range(ROUNDS):
            for server in ("bare", "ours"):
                m = await _round(server, n, config)
                measured[server].append(m)
                config.say(_line(m))
                for failure in m.failures[:3]:
                    config.say(f"    failure: {failure}")
        results += _rows(n, config.spread, measured["ours"], measured["bare"])
    return results


if __name__ == "__main__":
    generator_main()
