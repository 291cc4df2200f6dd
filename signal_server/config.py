"""Server configuration, resolved in one place: flags, then ``SENDIT_*`` environment
variables, then defaults, for the options of :data:`signal_server.options.OPTIONS`."""

from __future__ import annotations

import argparse
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .options import GROUP_TITLES, OPTIONS
from .pool.quotas import QuotaLimits
from .pool.store import PoolLimits
from .signalling.ice import IceServers, TurnRest
from .signalling.ratelimit import Backoff
from .tls import TlsFileError, server_context


@dataclass(frozen=True)
class ServerConfig:
    """Everything the signalling server can be told at start-up (see :func:`load_config`;
    a variant of one is made with :func:`dataclasses.replace`)."""

    host: str
    port: int
    code_ttl: float
    ice_servers: list[dict[str, Any]]
    log_level: str
    trusted_proxies: frozenset[str]
    #: Seconds aiohttp keeps reading a refused request's body before it closes.
    refusal_linger: float
    #: Bytes the server holds for one client that does not read them.
    max_unread: int
    #: Seconds a connection may take to join the socket.io namespace.
    join_within: float
    #: Origins, besides the server's own, whose pages may open a socket; "*" for any.
    allowed_origins: frozenset[str]
    max_connections_per_address: int
    max_open_codes_per_address: int
    max_failed_joins: int
    failed_join_window: float
    #: The wait after the last failed join allowed, doubled per further one, at most ``_max``.
    failed_join_backoff: float
    failed_join_backoff_max: float
    #: The certificate and key of HTTPS, both or neither (checked by :func:`load_config`).
    tls_cert: Path | None
    tls_key: Path | None
    #: STUN URLs, and TURN URLs whose credentials are issued under ``turn_secret``.
    stun: frozenset[str]
    turn: frozenset[str]
    turn_secret: str = field(repr=False)
    turn_allowance: float
    #: Where the exchange pool keeps its files and tokens.
    pool_dir: Path
    pool_max_file_size: int
    pool_max_files: int
    pool_max_bytes: int
    #: Seconds a pool upload or download may take to move each 256 KiB.
    pool_stall_timeout: float
    #: Origins whose pages may call the pool's /api/ routes; "*" for any.
    pool_cors_origins: frozenset[str]
    #: What one client address may have of the pool (see QuotaLimits).
    pool_held_per_address: int
    pool_in_flight_per_address: int
    pool_uploads_per_minute: int

    @property
    def join_backoff(self) -> Backoff:
        return Backoff(
            allowance=self.max_failed_joins,
            window=self.failed_join_window,
            first=self.failed_join_backoff,
            longest=self.failed_join_backoff_max,
        )

    def ice(self) -> IceServers:
        """What the acknowledgements hand out (sorted: a set has no order to keep)."""
        turn = TurnRest(tuple(sorted(self.turn)), self.turn_secret, self.turn_allowance) if self.turn else None
        return IceServers(self.ice_servers, sorted(self.stun), turn, code_ttl=self.code_ttl)

    def tls_context(self) -> ssl.SSLContext | None:
        """The context HTTPS is served with; None for plain HTTP."""
        if self.tls_cert is None or self.tls_key is None:
            return None
        return server_context(self.tls_cert, self.tls_key)

    @property
    def pool_limits(self) -> PoolLimits:
        return PoolLimits(
            max_file_size=self.pool_max_file_size, max_files=self.pool_max_files, max_bytes=self.pool_max_bytes
        )

    @property
    def pool_quotas(self) -> QuotaLimits:
        return QuotaLimits(
            held=self.pool_held_per_address,
            in_flight=self.pool_in_flight_per_address,
            per_minute=self.pool_uploads_per_minute,
        )


def default_pool_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/sendit/pool``, by default ``~/.local/share/sendit/pool``: the pool
    and its tokens are data to keep across restarts and reboots, not temporary files."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sendit" / "pool"


def build_parser() -> argparse.ArgumentParser:
    """The ``sendit-server`` argument parser. Flags default to None, so that
    :func:`load_config` can tell a flag not given from one given its default."""
    parser = argparse.ArgumentParser(prog="sendit-server", description="SendIt signalling server and web UI.")
    groups = {
        group: parser if title is None else parser.add_argument_group(title) for group, title in GROUP_TITLES.items()
    }
    for option in OPTIONS:
        groups[option.group].add_argument(
            option.flag,
            dest=option.field,
            metavar=option.metavar,
            # A list option's flag replaces the variable's list, it does not add to it.
            action="append" if option.many else "store",
            help=option.help_line(),
        )
    return parser


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Build a :class:`ServerConfig` from flags, falling back to the environment, then to
    the defaults; a bad value ends the program the argparse way, naming its flag."""
    env = os.environ if env is None else env
    parser = build_parser()
    given = vars(parser.parse_args(argv))
    values: dict[str, Any] = {}
    for option in OPTIONS:
        try:
            values[option.field] = option.value(given[option.field], env)
        except ValueError as exc:
            source = "" if given[option.field] is not None else f" (from {option.env})"
            parser.error(f"argument {option.flag}{source}: {exc}")
    if values["pool_dir"] is None:
        values["pool_dir"] = default_pool_dir(env)
    config = ServerConfig(**values)
    if config.pool_max_file_size > config.pool_max_bytes:
        parser.error(
            f"argument --pool-max-file-size: {config.pool_max_file_size} bytes is more than "
            f"--pool-max-bytes ({config.pool_max_bytes} bytes): no file that large would fit"
        )
    _check_tls(parser, config)
    _check_turn(parser, config)
    return config


def _check_turn(parser: argparse.ArgumentParser, config: ServerConfig) -> None:
    if config.turn and not config.turn_secret:
        parser.error(
            "argument --turn: the server issues TURN credentials only with --turn-secret; "
            "for a TURN server with static credentials, put them in --ice-servers instead"
        )
    if config.turn_secret and not config.turn:
        parser.error("argument --turn-secret: no --turn server to issue credentials for")


def _check_tls(parser: argparse.ArgumentParser, config: ServerConfig) -> None:
    """Refuse, before anything listens, a certificate without its key or files the
    server could not serve HTTPS with."""
    if (config.tls_cert is None) != (config.tls_key is None):
        given, missing = ("--tls-cert", "--tls-key") if config.tls_key is None else ("--tls-key", "--tls-cert")
        parser.error(f"argument {given}: HTTPS needs both --tls-cert and --tls-key; {missing} is missing")
    try:
        config.tls_context()
    except TlsFileError as exc:
        parser.error(f"argument --tls-{exc.which}: {exc}")
