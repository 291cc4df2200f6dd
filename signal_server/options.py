"""Every setting of ``sendit-server``, once: its flag, environment variable, default, help,
and how its text is read.

:func:`signal_server.config.load_config` builds the command line from :data:`OPTIONS`
and resolves each setting there; :func:`markdown_table` renders README.md's option
tables from it, and a test keeps the README equal to what it renders.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Sequence

from .pool.quotas import QuotaLimits
from .pool.store import PoolLimits

Group = Literal["server", "https", "ice", "pool"]
#: The ``--help`` section of each group; the server's options have none of their own.
GROUP_TITLES: dict[Group, str | None] = {
    "server": None,
    "https": "HTTPS",
    "ice": "STUN and TURN",
    "pool": "file exchange pool",
}
LOG_LEVELS = ("debug", "info", "warning", "error")
ENV_PREFIX = "SENDIT_"
SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


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


def ice_url_parser(*schemes: str, transport: bool = False) -> Callable[[str], str]:
    """Reads one URL of one of ``schemes``: ``scheme:host[:port]`` (RFC 7064), and with
    ``transport`` (TURN, RFC 7065) optionally ``?transport=udp`` or ``tcp``."""
    query = r"(\?transport=(udp|tcp))?" if transport else ""
    shape = re.compile(rf"({'|'.join(schemes)}):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-]+)(:\d{{1,5}})?{query}")

    def parse(text: str) -> str:
        if not shape.fullmatch(text):
            raise ValueError(
                f"{text!r} is not a {' or '.join(f'{scheme}:' for scheme in schemes)} URL "
                f"(write {schemes[0]}:host or {schemes[0]}:host:port)"
            )
        return text

    return parse


def parse_size(text: str) -> int:
    """A positive number of bytes: ``52428800``, ``50MiB``, ``2 GiB`` or ``500kB``."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", text.lower())
    if match is None or match.group(2) not in SIZE_UNITS:
        raise ValueError(f"must be a size such as 52428800, 50MiB or 2GB, not {text!r}")
    size = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if size <= 0:
        raise ValueError(f"must be more than 0 bytes, not {text!r}")
    return size


def format_size(size: int) -> str:
    """``size`` bytes as :func:`parse_size` reads them, in the largest decimal unit that
    divides them: ``50MB``."""
    for unit in ("GB", "MB", "kB"):
        if size % SIZE_UNITS[unit.lower()] == 0:
            return f"{size // SIZE_UNITS[unit.lower()]}{unit}"
    return str(size)


def parse_origin(text: str) -> str:
    """A web origin as browsers send it (``https://example.org:8443``), or ``*``."""
    origin = text.strip().lower()
    if origin != "*" and not re.fullmatch(r"https?://[a-z0-9.\-\[\]:]+", origin):
        raise ValueError(
            f"{text!r} is not an origin: write scheme://host[:port], without a path or trailing slash, or *"
        )
    return origin


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:  # also refuses nan
        raise ValueError(f"must be a positive number of seconds, not {text!r}")
    return value


def parse_whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"must be a whole number, not {text!r}") from None


def parse_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"must be a positive whole number, not {text!r}")
    return value


def parse_log_level(text: str) -> str:
    if text not in LOG_LEVELS:
        raise ValueError(f"invalid choice: {text!r} (choose from {', '.join(LOG_LEVELS)})")
    return text


def parse_path(text: str) -> Path | None:
    """A file or directory; None for an empty text, which leaves the choice to the default."""
    return Path(text) if text else None


@dataclass(frozen=True)
class Option:
    """One setting: ``--flag`` beats the variable ``env``, which beats ``default``.

    The setting's name in :class:`~signal_server.config.ServerConfig` is ``env`` without
    its ``SENDIT_`` prefix, in lower case.
    """

    flag: str
    env: str
    #: Read like a value given; README shows it, empty as "none".
    default: str
    #: Markdown: README's "meaning"; ``--help`` shows it without the backticks.
    help: str
    #: Reads a value (each item of a list), raising ValueError with what is wrong.
    parse: Callable[[str], Any] = str
    metavar: str = "VALUE"
    group: Group = "server"
    #: A set of values: the flag is repeatable, the variable comma-separated.
    many: bool = False
    #: How README shows a default that ``load_config`` works out (when ``default`` is empty).
    shown_default: str | None = None

    @property
    def field(self) -> str:
        return self.env.removeprefix(ENV_PREFIX).lower()

    def value(self, given: str | list[str] | None, env: Mapping[str, str]) -> Any:
        """The setting's value from the flag's text (None if not given), else from the
        environment, else from the default."""
        text = given if given is not None else env.get(self.env, self.default)
        if isinstance(text, list):  # a repeated flag
            items = text
        elif self.many:
            items = text.split(",")
        else:
            return self.parse(text)
        return frozenset(self.parse(item.strip()) for item in items if item.strip())

    def help_line(self) -> str:
        """What ``--help`` says, naming the variable and the default."""
        default = self.shown_default or self.default or "none"
        where = f"repeatable; {self.env}, comma-separated" if self.many else self.env
        return f"{self.help} ({where}; default {default})".replace("`", "").replace("%", "%%")

    def table_row(self) -> str:
        env = f"`{self.env}`" + (" (comma-separated)" if self.many else "")
        default = self.shown_default or self.default
        return f"| `{self.flag} {self.metavar}` | {env} | {f'`{default}`' if default else 'none'} | {self.help} |"


OPTIONS: tuple[Option, ...] = (
    Option("--host", "SENDIT_HOST", "127.0.0.1", "address to listen on", metavar="HOST"),
    Option("--port", "SENDIT_PORT", "8080", "TCP port", parse=parse_whole_number, metavar="PORT"),
    Option(
        "--code-ttl",
        "SENDIT_CODE_TTL",
        "600",
        "how long a code waits for its receiver",
        parse=parse_seconds,
        metavar="SECONDS",
    ),
    Option(
        "--log-level",
        "SENDIT_LOG_LEVEL",
        "info",
        "how much the server logs: " + ", ".join(f"`{level}`" for level in LOG_LEVELS),
        parse=parse_log_level,
        metavar="LEVEL",
    ),
    Option(
        "--trusted-proxy",
        "SENDIT_TRUSTED_PROXIES",
        "",
        "reverse proxies whose `X-Forwarded-For` is believed",
        metavar="IP",
        many=True,
    ),
    Option(
        "--refusal-linger",
        "SENDIT_REFUSAL_LINGER",
        "1",
        "how long the server goes on reading a request it refused before reading its body "
        "(a pool upload over a quota or too large), so the client sees the answer rather than "
        "a reset; each such refusal holds its connection that long",
        parse=parse_seconds,
        metavar="SECONDS",
    ),
    Option(
        "--max-unread",
        "SENDIT_MAX_UNREAD",
        "1MiB",
        "what the server holds for one signalling client that is not reading it; past that the client is cut "
        "(a pairing owes its client a few kilobytes)",
        parse=parse_size,
        metavar="SIZE",
    ),
    Option(
        "--join-within",
        "SENDIT_JOIN_WITHIN",
        "10",
        "a connection that has not joined the signalling namespace within this time is closed, "
        "so idle half-open sessions cannot hold the server's sockets",
        parse=parse_seconds,
        metavar="SECONDS",
    ),
    Option(
        "--allowed-origin",
        "SENDIT_ALLOWED_ORIGINS",
        "",
        "web origins, besides the server's own, whose pages may open a signalling socket "
        "(a page of another site could otherwise drive its visitors' browsers to create and join codes); "
        "`*` for any",
        parse=parse_origin,
        metavar="ORIGIN",
        many=True,
    ),
    Option(
        "--max-connections-per-address",
        "SENDIT_MAX_CONNECTIONS_PER_ADDRESS",
        "100",
        "signalling connections one client address may hold at once (a network behind one NAT shares it)",
        parse=parse_count,
        metavar="N",
    ),
    Option(
        "--max-open-codes-per-address",
        "SENDIT_MAX_OPEN_CODES_PER_ADDRESS",
        "20",
        "codes one client address may have waiting for a receiver at once",
        parse=parse_count,
        metavar="N",
    ),
    Option(
        "--max-failed-joins",
        "SENDIT_MAX_FAILED_JOINS",
        "20",
        "wrong codes allowed per client address per window before it must wait",
        parse=parse_whole_number,
        metavar="N",
    ),
    Option(
        "--failed-join-window",
        "SENDIT_FAILED_JOIN_WINDOW",
        "60",
        "the window in which wrong codes are counted",
        parse=parse_seconds,
        metavar="SECONDS",
    ),
    Option(
        "--failed-join-backoff",
        "SENDIT_FAILED_JOIN_BACKOFF",
        "1",
        "the wait after the last wrong code allowed; it doubles with each further one in the window",
        parse=parse_seconds,
        metavar="SECONDS",
    ),
    Option(
        "--failed-join-backoff-max",
        "SENDIT_FAILED_JOIN_BACKOFF_MAX",
        "60",
        "the longest wait a wrong code can cause",
        parse=parse_seconds,
        metavar="SECONDS",
    ),
    Option(
        "--tls-cert",
        "SENDIT_TLS_CERT",
        "",
        "serve HTTPS and WSS with this certificate (PEM, intermediates after it); with `--tls-key`. "
        "Without both the server speaks plain HTTP, for a reverse proxy that does TLS in front of it",
        parse=parse_path,
        metavar="FILE",
        group="https",
    ),
    Option(
        "--tls-key",
        "SENDIT_TLS_KEY",
        "",
        "the private key of `--tls-cert` (PEM, without a passphrase)",
        parse=parse_path,
        metavar="FILE",
        group="https",
    ),
    Option(
        "--stun",
        "SENDIT_STUN",
        "",
        "a STUN server handed to both peers (`stun:host:port`), so peers behind NATs can find their public address",
        parse=ice_url_parser("stun", "stuns"),
        metavar="URL",
        group="ice",
        many=True,
    ),
    Option(
        "--turn",
        "SENDIT_TURN",
        "",
        "a TURN server handed to both peers with credentials issued for each pairing (`turn:host:port`, "
        "`turns:host:port`, `?transport=tcp`), which relays when no direct path exists; needs `--turn-secret`",
        parse=ice_url_parser("turn", "turns", transport=True),
        metavar="URL",
        group="ice",
        many=True,
    ),
    Option(
        "--turn-secret",
        "SENDIT_TURN_SECRET",
        "",
        "the secret the `--turn` servers check credentials with (coturn's `static-auth-secret`); "
        "it never leaves the server. Prefer the variable: a flag shows in the process list",
        metavar="SECRET",
        group="ice",
    ),
    Option(
        "--turn-allowance",
        "SENDIT_TURN_ALLOWANCE",
        "21600",
        "how long issued TURN credentials stay valid after the peers have met (a sender's also "
        "while its code waits), so a relayed transfer can run that long",
        parse=parse_seconds,
        metavar="SECONDS",
        group="ice",
    ),
    Option(
        "--ice-servers",
        "SENDIT_ICE_SERVERS",
        "[]",
        "further STUN/TURN servers handed to both peers as they are, static TURN credentials included, e.g. "
        '`[{"urls": "turn:turn.example.org", "username": "u", "credential": "p"}]`; with none of these options '
        "peers connect directly only (same network)",
        parse=parse_ice_servers,
        metavar="JSON",
        group="ice",
    ),
    Option(
        "--pool-dir",
        "SENDIT_POOL_DIR",
        "",
        "where files and tokens are kept (created on the first upload)",
        parse=parse_path,
        metavar="DIR",
        group="pool",
        shown_default="$XDG_DATA_HOME/sendit/pool",
    ),
    Option(
        "--pool-max-file-size",
        "SENDIT_POOL_MAX_FILE_SIZE",
        format_size(PoolLimits.max_file_size),
        "the largest file taken",
        parse=parse_size,
        metavar="SIZE",
        group="pool",
    ),
    Option(
        "--pool-max-files",
        "SENDIT_POOL_MAX_FILES",
        str(PoolLimits.max_files),
        "how many files the pool holds at most",
        parse=parse_count,
        metavar="N",
        group="pool",
    ),
    Option(
        "--pool-max-bytes",
        "SENDIT_POOL_MAX_BYTES",
        format_size(PoolLimits.max_bytes),
        "how many bytes the pool holds at most, uploads and downloads in progress included; "
        "not less than `--pool-max-file-size`",
        parse=parse_size,
        metavar="SIZE",
        group="pool",
    ),
    Option(
        "--pool-stall-timeout",
        "SENDIT_POOL_STALL_TIMEOUT",
        "60",
        "an upload or download that moves less than 256 KiB in this time is cut off, "
        "so a stalled client cannot hold space",
        parse=parse_seconds,
        metavar="SECONDS",
        group="pool",
    ),
    Option(
        "--pool-cors-origin",
        "SENDIT_POOL_CORS_ORIGINS",
        "",
        "origins whose pages may call `/api/`; `*` for any",
        parse=parse_origin,
        metavar="ORIGIN",
        group="pool",
        many=True,
    ),
    Option(
        "--pool-held-per-address",
        "SENDIT_POOL_HELD_PER_ADDRESS",
        str(QuotaLimits.held),
        "files one client address may have in the pool that nobody has taken yet, its uploads in progress "
        "included, so it takes `--pool-max-files` / N addresses to fill the pool",
        parse=parse_count,
        metavar="N",
        group="pool",
    ),
    Option(
        "--pool-in-flight-per-address",
        "SENDIT_POOL_IN_FLIGHT_PER_ADDRESS",
        str(QuotaLimits.in_flight),
        "uploads one client address may have in progress at once, counted from their request's headers, "
        "so uploads that stall hold places of their own address only",
        parse=parse_count,
        metavar="N",
        group="pool",
    ),
    Option(
        "--pool-uploads-per-minute",
        "SENDIT_POOL_UPLOADS_PER_MINUTE",
        str(QuotaLimits.per_minute),
        "uploads one client address may start in any 60 s (those its quotas refuse are not counted)",
        parse=parse_count,
        metavar="N",
        group="pool",
    ),
)


TABLE_HEAD = "| flag | environment | default | meaning |"


def markdown_table(group: Group, options: Sequence[Option] = OPTIONS) -> str:
    """README.md's table of the options in ``group``."""
    rows = [option.table_row() for option in options if option.group == group]
    return "\n".join([TABLE_HEAD, "|---|---|---|---|", *rows])


def with_tables(markdown: str, options: Sequence[Option] = OPTIONS) -> str:
    """``markdown`` with each option table (a block opening with TABLE_HEAD) rendered
    anew for the group of the option its first row names."""
    groups = {option.flag: option.group for option in options}
    blocks = markdown.split("\n\n")
    for number, block in enumerate(blocks):
        lines = block.split("\n")
        if lines[0] == TABLE_HEAD and len(lines) > 2:
            flag = lines[2].split("`")[1].split(" ")[0]
            blocks[number] = markdown_table(groups[flag], options)
    return "\n\n".join(blocks)


if __name__ == "__main__":
    # ``python -m signal_server.options README.md``: after changing OPTIONS.
    import sys

    readme = Path(sys.argv[1])
    readme.write_text(with_tables(readme.read_text()))
