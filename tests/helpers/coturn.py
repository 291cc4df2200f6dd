"""A real coturn ``turnserver`` that checks TURN REST credentials (``use-auth-secret``),
started by the test with a configuration of its own, never the system's service.

It listens on one address of the caller's namespace (by default 127.0.0.1) and relays
from the same address; ``run`` puts it in another namespace (``nsenter ...``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import socket
from pathlib import Path
from typing import AsyncContextManager, AsyncIterator, Sequence

TURNSERVER = "/usr/bin/turnserver"
REALM = "sendit.test"
READY_TIMEOUT = 20.0


@dataclasses.dataclass
class Coturn:
    host: str
    port: int
    #: What ``--turn-secret`` must be for the server's credentials to be accepted here.
    secret: str
    process: asyncio.subprocess.Process
    #: Everything turnserver has logged so far.
    log: list[str] = dataclasses.field(default_factory=list)

    @property
    def url(self) -> str:
        """The ``--turn`` URL of this relay (UDP)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"turn:{host}:{self.port}"


def free_udp_and_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` (turnserver listens on both)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port


def relay_settings(host: str, port: int, secret: str) -> list[str]:
    """The settings of a relay that checks REST credentials under ``secret``, plain UDP
    and TCP on one address."""
    return [
        f"listening-ip={host}",
        f"relay-ip={host}",
        f"listening-port={port}",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={REALM}",
        "fingerprint",
        "no-cli",
        "no-tls",
        "no-dtls",
        "no-multicast-peers",
        # With a UDP thread per core (the default), coturn 4.6.1 answered 438 (stale nonce)
        # to the authenticated retry of 5 in 200 fresh allocations here; with one relay
        # thread, none in 200. The peer asks once more (peer/signalling/allocation.py), but
        # a relay test must not depend on that one retry.
        "relay-threads=1",
    ]


def fixture_settings(directory: Path) -> list[str]:
    """What every fixture's relay adds: its log on stdout, nothing written outside ``directory``."""
    return [
        "log-file=stdout",
        "simple-log",
        # The "listener opened" lines that say it is ready are logged only when verbose.
        "verbose",
        f"pidfile={directory / 'turnserver.pid'}",
        f"userdb={directory / 'turndb'}",
    ]


@contextlib.asynccontextmanager
async def coturn(
    directory: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    secret: str | None = None,
    settings: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    run: Sequence[str] = (),
) -> AsyncIterator[Coturn]:
    """turnserver on ``host``:``port`` (a free one by default) with ``secret`` (a random
    one by default; pass ``port`` when ``run`` puts it in another namespace, where this
    one cannot see what is free). Its configuration is ``settings`` (by default :func:`relay_settings`;
    they must listen on ``host``:``port`` with ``secret``) and ``extra``, then the fixture's
    own lines; ``run`` goes before its command line. Ready (listening on UDP and TCP) when
    it yields."""
    secret = secrets.token_urlsafe(24) if secret is None else secret
    port = free_udp_and_tcp_port(host) if port is None else port
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "turnserver.conf"
    lines = [*(relay_settings(host, port, secret) if settings is None else settings), *extra]
    config.write_text("\n".join([*lines, *fixture_settings(directory)]) + "\n")
    process = await asyncio.create_subprocess_exec(
        *run, TURNSERVER, "-c", str(config), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert process.stdout is not None
    relay = Coturn(host=host, port=port, secret=secret, process=process)
    listening = {f"UDP listener opened on: {host}:{port}", f"TCP listener opened on : {host}:{port}"}

    async def ready() -> None:
        assert process.stdout is not None
        while listening:
            line = await process.stdout.readline()
            if not line:
                raise AssertionError("turnserver ended before it listened:\n" + "".join(relay.log))
            relay.log.append(line.decode(errors="replace"))
            listening.difference_update({opened for opened in listening if opened in relay.log[-1]})

    async def drain() -> None:
        # A full pipe would stop turnserver in the middle of a log line.
        assert process.stdout is not None
        while line := await process.stdout.readline():
            relay.log.append(line.decode(errors="replace"))

    try:
        await asyncio.wait_for(ready(), READY_TIMEOUT)
        drainer = asyncio.create_task(drain())
        try:
            yield relay
        finally:
            if process.returncode is None:
                process.terminate()
            await asyncio.wait_for(process.wait(), READY_TIMEOUT)
            await drainer
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def for_loopback_peers(directory: Path) -> AsyncContextManager[Coturn]:
    """A relay for two peers on this machine: both relayed addresses are on 127.0.0.1,
    which coturn refuses to relay to unless told."""
    return coturn(directory, extra=["allow-loopback-peers"])
