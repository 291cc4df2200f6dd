"""Server configuration from command-line flags and ``SENDIT_*`` environment variables."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

DEFAULT_CODE_TTL = 600.0
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ServerConfig:
    """Everything the signalling server can be told at start-up."""

    host: str = "127.0.0.1"
    port: int = 8080
    code_ttl: float = DEFAULT_CODE_TTL
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    log_level: str = "info"
    trusted_proxies: frozenset[str] = frozenset()
    max_failed_joins: int = 10
    failed_join_window: float = 60.0


def parse_ice_servers(text: str) -> list[dict[str, Any]]:
    """Parse a JSON list of RTCIceServer dictionaries, as browsers and aiortc take them."""
    try:
        servers = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"ICE server list is not valid JSON: {exc}") from None
    if not isinstance(servers, list):
        raise ValueError("ICE server list must be a JSON list")
    for server in servers:
        if not isinstance(server, dict) or "urls" not in server:
            raise ValueError('each ICE server must be an object with "urls"')
        urls = server["urls"]
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
            raise ValueError('"urls" must be a URL or a non-empty list of URLs')
        if not all(u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns") for u in urls):
            raise ValueError("ICE server URLs must start with stun:, stuns:, turn: or turns:")
        for key in ("username", "credential"):
            if key in server and not isinstance(server[key], str):
                raise ValueError(f'"{key}" must be a string')
    return servers


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < math.inf:  # also refuses nan
        raise ValueError(f"must be a positive number of seconds, not {text!r}")
    return value


def _argument(parse: Any) -> Any:
    """argparse shows a ``type`` function's ValueError only as "invalid <name> value";
    an ArgumentTypeError keeps the message, so the operator learns what is wrong."""

    @functools.wraps(parse)
    def wrapper(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return wrapper


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The ``sendit-server`` argument parser; each flag defaults to its ``SENDIT_*`` variable."""
    defaults = ServerConfig()

    def env_default(name: str, fallback: Any) -> Any:
        return env.get(f"SENDIT_{name}", fallback)

    parser = argparse.ArgumentParser(
        prog="sendit-server",
        description="SendIt signalling server and web UI.",
    )
    parser.add_argument("--host", default=env_default("HOST", defaults.host),
                        help="address to listen on (SENDIT_HOST, default %(default)s)")
    parser.add_argument("--port", type=int, default=env_default("PORT", defaults.port),
                        help="TCP port (SENDIT_PORT, default %(default)s)")
    parser.add_argument("--code-ttl", type=_argument(_positive_float), metavar="SECONDS",
                        default=env_default("CODE_TTL", defaults.code_ttl),
                        help="how long an unused code lives (SENDIT_CODE_TTL, default %(default)s)")
    parser.add_argument("--ice-servers", type=_argument(parse_ice_servers), metavar="JSON",
                        default=env_default("ICE_SERVERS", "[]"),
                        help='ICE servers handed to peers, e.g. \'[{"urls": "stun:stun.example.org"}]\' '
                             "(SENDIT_ICE_SERVERS, default none: direct connections only)")
    parser.add_argument("--log-level", choices=LOG_LEVELS,
                        default=env_default("LOG_LEVEL", defaults.log_level),
                        help="(SENDIT_LOG_LEVEL, default %(default)s)")
    # No default here: with one, "append" would add the flags to the variable's list
    # instead of replacing it (see load_config).
    parser.add_argument("--trusted-proxy", action="append", metavar="IP",
                        help="a reverse proxy whose X-Forwarded-For is believed; repeatable "
                             "(SENDIT_TRUSTED_PROXIES, comma-separated)")
    parser.add_argument("--max-failed-joins", type=int,
                        default=env_default("MAX_FAILED_JOINS", defaults.max_failed_joins),
                        help="failed joins allowed per client address per window "
                             "(SENDIT_MAX_FAILED_JOINS, default %(default)s)")
    parser.add_argument("--failed-join-window", type=_argument(_positive_float), metavar="SECONDS",
                        default=env_default("FAILED_JOIN_WINDOW", defaults.failed_join_window),
                        help="(SENDIT_FAILED_JOIN_WINDOW, default %(default)s)")
    return parser


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Build a :class:`ServerConfig` from flags, falling back to the environment."""
    env = os.environ if env is None else env
    parser = build_parser(env)
    args = parser.parse_args(argv)
    # argparse checks ``choices`` for flags only, not for a default taken from the env.
    if args.log_level not in LOG_LEVELS:
        parser.error(f"argument --log-level: invalid choice: {args.log_level!r} "
                     f"(choose from {', '.join(LOG_LEVELS)})")
    proxies = args.trusted_proxy
    if proxies is None:
        proxies = env.get("SENDIT_TRUSTED_PROXIES", "").split(",")
    proxies = [proxy.strip() for proxy in proxies if proxy.strip()]
    # argparse applies ``type`` to string defaults, so env values are converted and
    # checked the same way as flags.
    return ServerConfig(
        host=args.host,
        port=args.port,
        code_ttl=args.code_ttl,
        ice_servers=args.ice_servers,
        log_level=args.log_level,
        trusted_proxies=frozenset(proxies),
        max_failed_joins=args.max_failed_joins,
        failed_join_window=args.failed_join_window,
    )
