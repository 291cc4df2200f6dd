"""Server configuration from command-line flags and ``SENDIT_*`` environment variables."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from .pool.store import PoolLimits

DEFAULT_CODE_TTL = 600.0
#: Seconds a pool upload or download may take to move each 256 KiB.
DEFAULT_POOL_STALL_TIMEOUT = 60.0
LOG_LEVELS = ("debug", "info", "warning", "error")
SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


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
    #: Where the exchange pool keeps its files; None: :func:`default_pool_dir`.
    pool_dir: Path | None = None
    pool_max_file_size: int = PoolLimits.max_file_size
    pool_max_files: int = PoolLimits.max_files
    pool_max_bytes: int = PoolLimits.max_bytes
    pool_stall_timeout: float = DEFAULT_POOL_STALL_TIMEOUT
    #: Origins whose pages may call the pool's /api/ routes; "*" for any.
    pool_cors_origins: frozenset[str] = frozenset()

    @property
    def pool_limits(self) -> PoolLimits:
        return PoolLimits(
            max_file_size=self.pool_max_file_size, max_files=self.pool_max_files, max_bytes=self.pool_max_bytes
        )


def default_pool_dir(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/sendit/pool``, by default ``~/.local/share/sendit/pool``: the pool
    and its tokens are data to keep across restarts and reboots, not temporary files."""
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sendit" / "pool"


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


def parse_size(text: str) -> int:
    """A positive number of bytes: ``52428800``, ``50MiB``, ``2 GiB`` or ``500kB``."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", text.lower())
    if match is None or match.group(2) not in SIZE_UNITS:
        raise ValueError(f"must be a size such as 52428800, 50MiB or 2GB, not {text!r}")
    size = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if size <= 0:
        raise ValueError(f"must be more than 0 bytes, not {text!r}")
    return size


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be a positive whole number, not {text!r}")
    return value


def parse_origin(text: str) -> str:
    """A web origin as browsers send it (``https://example.org:8443``), or ``*``."""
    origin = text.strip().lower()
    if origin != "*" and not re.fullmatch(r"https?://[a-z0-9.\-\[\]:]+", origin):
        raise ValueError(
            f"{text!r} is not an origin: write scheme://host[:port], without a path or trailing slash, or *"
        )
    return origin


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
    parser.add_argument(
        "--host",
        default=env_default("HOST", defaults.host),
        help="address to listen on (SENDIT_HOST, default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=env_default("PORT", defaults.port),
        help="TCP port (SENDIT_PORT, default %(default)s)",
    )
    parser.add_argument(
        "--code-ttl",
        type=_argument(_positive_float),
        metavar="SECONDS",
        default=env_default("CODE_TTL", defaults.code_ttl),
        help="how long an unused code lives (SENDIT_CODE_TTL, default %(default)s)",
    )
    parser.add_argument(
        "--ice-servers",
        type=_argument(parse_ice_servers),
        metavar="JSON",
        default=env_default("ICE_SERVERS", "[]"),
        help='ICE servers handed to peers, e.g. \'[{"urls": "stun:stun.example.org"}]\' '
        "(SENDIT_ICE_SERVERS, default none: direct connections only)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=env_default("LOG_LEVEL", defaults.log_level),
        help="(SENDIT_LOG_LEVEL, default %(default)s)",
    )
    # No default here: with one, "append" would add the flags to the variable's list
    # instead of replacing it (see load_config).
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        metavar="IP",
        help="a reverse proxy whose X-Forwarded-For is believed; repeatable (SENDIT_TRUSTED_PROXIES, comma-separated)",
    )
    parser.add_argument(
        "--max-failed-joins",
        type=int,
        default=env_default("MAX_FAILED_JOINS", defaults.max_failed_joins),
        help="failed joins allowed per client address per window (SENDIT_MAX_FAILED_JOINS, default %(default)s)",
    )
    parser.add_argument(
        "--failed-join-window",
        type=_argument(_positive_float),
        metavar="SECONDS",
        default=env_default("FAILED_JOIN_WINDOW", defaults.failed_join_window),
        help="(SENDIT_FAILED_JOIN_WINDOW, default %(default)s)",
    )
    pool = parser.add_argument_group("file exchange pool")
    pool.add_argument(
        "--pool-dir",
        type=Path,
        metavar="DIR",
        default=env.get("SENDIT_POOL_DIR") or None,
        help="where the pool keeps files and tokens (SENDIT_POOL_DIR, default $XDG_DATA_HOME/sendit/pool)",
    )
    pool.add_argument(
        "--pool-max-file-size",
        type=_argument(parse_size),
        metavar="SIZE",
        default=env_default("POOL_MAX_FILE_SIZE", defaults.pool_max_file_size),
        help="largest file taken, e.g. 50MiB (SENDIT_POOL_MAX_FILE_SIZE, default %(default)s bytes)",
    )
    pool.add_argument(
        "--pool-max-files",
        type=_argument(_positive_int),
        metavar="N",
        default=env_default("POOL_MAX_FILES", defaults.pool_max_files),
        help="files the pool holds at most (SENDIT_POOL_MAX_FILES, default %(default)s)",
    )
    pool.add_argument(
        "--pool-max-bytes",
        type=_argument(parse_size),
        metavar="SIZE",
        default=env_default("POOL_MAX_BYTES", defaults.pool_max_bytes),
        help="bytes the pool holds at most, uploads and downloads in progress included "
        "(SENDIT_POOL_MAX_BYTES, default %(default)s)",
    )
    pool.add_argument(
        "--pool-stall-timeout",
        type=_argument(_positive_float),
        metavar="SECONDS",
        default=env_default("POOL_STALL_TIMEOUT", defaults.pool_stall_timeout),
        help="an upload or download that moves less than 256 KiB in this time is cut "
        "off (SENDIT_POOL_STALL_TIMEOUT, default %(default)s)",
    )
    # No default, as for --trusted-proxy.
    pool.add_argument(
        "--pool-cors-origin",
        action="append",
        metavar="ORIGIN",
        help="an origin whose pages may call /api/, or *; repeatable "
        "(SENDIT_POOL_CORS_ORIGINS, comma-separated; default none: same origin only)",
    )
    return parser


def load_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ServerConfig:
    """Build a :class:`ServerConfig` from flags, falling back to the environment."""
    env = os.environ if env is None else env
    parser = build_parser(env)
    args = parser.parse_args(argv)
    # argparse checks ``choices`` for flags only, not for a default taken from the env.
    if args.log_level not in LOG_LEVELS:
        parser.error(f"argument --log-level: invalid choice: {args.log_level!r} (choose from {', '.join(LOG_LEVELS)})")
    proxies = args.trusted_proxy
    if proxies is None:
        proxies = env.get("SENDIT_TRUSTED_PROXIES", "").split(",")
    proxies = [proxy.strip() for proxy in proxies if proxy.strip()]
    origins = args.pool_cors_origin
    if origins is None:
        origins = env.get("SENDIT_POOL_CORS_ORIGINS", "").split(",")
    try:
        cors_origins = frozenset(parse_origin(origin) for origin in origins if origin.strip())
    except ValueError as exc:
        parser.error(f"argument --pool-cors-origin: {exc}")
    if args.pool_max_file_size > args.pool_max_bytes:
        parser.error(
            f"argument --pool-max-file-size: {args.pool_max_file_size} bytes is more than "
            f"--pool-max-bytes ({args.pool_max_bytes} bytes): no file that large would fit"
        )
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
        pool_dir=args.pool_dir,
        pool_max_file_size=args.pool_max_file_size,
        pool_max_files=args.pool_max_files,
        pool_max_bytes=args.pool_max_bytes,
        pool_stall_timeout=args.pool_stall_timeout,
        pool_cors_origins=cors_origins,
    )
