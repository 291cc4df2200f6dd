"""The aiohttp application: web UI, security headers, the socket.io endpoint and the
file exchange pool."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from aiohttp import web

from sendit_protocol.words import WORDS

from .config import ServerConfig
from .metrics import ServerCollector, healthz, metrics_handler
from .pool.cors import CorsPolicy
from .pool.quotas import UploadQuotas
from .pool.routes import PoolRoutes, add_pool
from .pool.store import PoolStore
from .signalling.events import RelayHook, SignallingEvents
from .signalling.joins import JoinPolicy
from .signalling.outcomes import Outcomes
from .signalling.quotas import Quota
from .signalling.ratelimit import FailureLimiter
from .signalling.registry import SlotRegistry
from .signalling.transport import GuardedServer, OriginPolicy, TransportLimits

# Nothing but this server may supply script, style, images or connections: no inline
# script, no third-party origin. ``blob:`` images/links are the received files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(self)",
}

SIGNALLING_KEY = web.AppKey("signalling", SignallingEvents)
#: The code words for the pages (docs/PROTOCOL.md 1), from the installed package: a page
#: has no package to read them from, and the repository keeps no copy.
WORDS_JSON = json.dumps(WORDS, separators=(",", ":")).encode()
WORDS_CACHE = "public, max-age=86400"


def web_root() -> Path:
    """Where the web UI is: inside the installed package, or ``web/`` in a source checkout."""
    packaged = Path(str(resources.files("signal_server"))) / "web"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "web"


async def words(_request: web.Request) -> web.Response:
    return web.Response(body=WORDS_JSON, content_type="application/json", headers={"Cache-Control": WORDS_CACHE})


async def add_security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def create_app(config: ServerConfig, *, relay_hook: RelayHook | None = None) -> web.Application:
    """Build the application; the caller runs it (``web.run_app`` or an ``AppRunner``).

    The composition root: the plain objects (registry, join policy, pool store) are
    built here from ``config`` and handed to the adapters that serve them.
    ``relay_hook`` is for tests alone (see :data:`RelayHook`)."""
    app = web.Application()
    # on_response_prepare sees every response, error pages and static files included.
    app.on_response_prepare.append(add_security_headers)

    sio = GuardedServer(
        TransportLimits(max_queued=config.max_unread, join_within=config.join_within),
        OriginPolicy(config.allowed_origins, config.trusted_proxies),
    )
    sio.attach(app)
    registry = SlotRegistry(config.code_ttl, open_codes=Quota(config.max_open_codes_per_address, "open codes"))
    joins = JoinPolicy(registry, FailureLimiter(config.join_backoff))
    signalling = SignallingEvents(
        sio,
        registry,
        joins,
        Quota(config.max_connections_per_address, "connections"),
        ice=config.ice(),
        outcomes=Outcomes(),
        trusted_proxies=config.trusted_proxies,
        relay_hook=relay_hook,
    )
    app[SIGNALLING_KEY] = signalling

    async def start_signalling(_app: web.Application) -> None:
        signalling.start()

    async def stop_signalling(_app: web.Application) -> None:
        await signalling.close()

    app.on_startup.append(start_signalling)
    app.on_cleanup.append(stop_signalling)

    root = web_root()

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(root / "index.html")

    app.router.add_get("/", index)
    app.router.add_get("/words.json", words)
    store = PoolStore(config.pool_dir, config.pool_limits, UploadQuotas(config.pool_quotas))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler(ServerCollector(signalling, store)))
    routes = PoolRoutes(
        store, CorsPolicy(config.pool_cors_origins), config.pool_stall_timeout, trusted_proxies=config.trusted_proxies
    )
    add_pool(app, routes, root)
    app.router.add_static("/", root, append_version=False)
    return app
