"""web/js/signalling/socketio.js, the browser's Socket.IO client, in Chromium against real servers.

Most tests run it against python-socketio; a few against a scripted Engine.IO endpoint
(``raw_endpoint``) that checks the exact frames and can misbehave on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
import socketio
from aiohttp import WSMsgType, web
from playwright.async_api import expect

from helpers.browser import run_harness
from helpers.server import EVENT_TIMEOUT, RunningServer
from signal_server.app import web_root


def new_sio(**options: Any) -> socketio.AsyncServer:
    """A server configured like the real one (see signal_server.app)."""
    return socketio.AsyncServer(async_mode="aiohttp", transports=["websocket"], async_handlers=False, **options)


@contextlib.asynccontextmanager
async def serving(
    sio: socketio.AsyncServer | None = None,
    websockets: dict[str, Callable[[web.Request], Awaitable[Any]]] | None = None,
) -> AsyncIterator[str]:
    """An app serving web/ (so the page and the module are same-origin) and ``sio``."""
    app = web.Application()
    if sio is not None:
        sio.attach(app)
    for path, handler in (websockets or {}).items():
        app.router.add_get(path, handler)
    root = web_root()

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(root / "index.html")

    app.router.add_get("/", index)
    app.router.add_static("/", root)
    # A failing test may leave a WebSocket open: give up on it quickly at cleanup.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class RawEndpoint:
    """A WebSocket route whose accepted sockets the test drives frame by frame."""

    def __init__(self) -> None:
        self.sockets: asyncio.Queue[web.WebSocketResponse] = asyncio.Queue()
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.put_nowait(ws)
        await self.release.wait()
        return ws

    async def accept(self) -> web.WebSocketResponse:
        return await asyncio.wait_for(self.sockets.get(), EVENT_TIMEOUT)


async def next_frame(ws: web.WebSocketResponse) -> str:
    message = await ws.receive(timeout=EVENT_TIMEOUT)
    assert message.type == WSMsgType.TEXT, message
    return message.data


async def closed_by_client(ws: web.WebSocketResponse) -> None:
    message = await ws.receive(timeout=EVENT_TIMEOUT)
    assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED), message


@pytest.fixture
async def browse(
    new_person: Callable[[], Awaitable[Any]],
) -> AsyncIterator[Callable[[str], Awaitable[tuple[Any, list[Any]]]]]:
    """Factory: a page on ``url`` and its uncaught errors, which must end up empty."""
    errors_by_page: list[list[Any]] = []

    async def open_page(url: str) -> tuple[Any, list[Any]]:
        page = await (await new_person()).new_page()
        errors: list[Any] = []
        page.on("pageerror", lambda error: errors.append(error))
        await page.goto(url + "/")
        # The page loads its tabs with an import of its own, after the load event: a test
        # that ends its server first would see that import fail.
        await expect(page.locator("body")).to_have_attribute("data-ready", "true")
        errors_by_page.append(errors)
        return page, errors

    yield open_page
    for errors in errors_by_page:
        assert not errors, f"uncaught errors in the page: {errors}"


async def test_request_is_answered_with_the_ack(server: RunningServer, browse) -> None:
    page, _ = await browse(server.url)
    result = await run_harness(page, "socketio.js", "requestAndClose")
    assert isinstance(result["id"], str) and result["id"]
    assert result["connected"] is True and result["after"] is False
    assert result["created"]["ok"] is True
    assert 1 <= int(result["created"]["slot"]) <= 9999
    assert result["invalid"]["ok"] is False
    assert result["invalid"]["error_id"] == "invalid-payload"
    assert result["invalid"]["error"].startswith("invalid payload")


async def test_server_events_reach_handlers_until_off(browse) -> None:
    sio = new_sio()

    @sio.on("poke")
    async def poke(sid: str, data: Any) -> dict[str, Any]:
        await sio.emit("news", data, to=sid)
        await sio.emit("pair", ("left", 2), to=sid)
        return {"poked": data["n"]}

    async with serving(sio) as url:
        page, _ = await browse(url)
        result = await run_harness(page, "socketio.js", "eventsUntilOff")
        # Events sent before the ack are delivered before the request resolves.
        assert result["news"] == [{"n": 1}]
        assert result["also"] == [{"n": 1}, {"n": 2}]
        assert result["pairs"] == [["left", 2], ["left", 2]]
        assert (result["first"], result["second"]) == ({"poked": 1}, {"poked": 2})
        # A throwing handler neither stops the others nor goes unreported.
        assert result["reported"] == ["handler bug", "handler bug"]


async def test_events_sent_while_accepting_are_delivered(browse) -> None:
    sio = new_sio()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.emit("welcome", {"to": sid}, to=sid)

    @sio.on("echo")
    async def echo(sid: str, data: Any) -> Any:
        return data

    async with serving(sio) as url:
        page, _ = await browse(url)
        result = await run_harness(page, "socketio.js", "eventsWhileAccepting")
    assert result["welcomes"] == [{"to": result["id"]}]
    assert result["echoed"] == "x"


async def test_quick_emits_arrive_in_order(browse) -> None:
    sio = new_sio()
    count = 200
    received: list[int] = []
    all_received = asyncio.Event()

    @sio.on("seq")
    async def seq(sid: str, n: int) -> None:
        received.append(n)
        if len(received) == count:
            all_received.set()

    async with serving(sio) as url:
        page, _ = await browse(url)
        await run_harness(page, "socketio.js", "emitInOrder", {"count": count})
        await asyncio.wait_for(all_received.wait(), EVENT_TIMEOUT)
        assert received == list(range(count))
        await run_harness(page, "socketio.js", "closeClient")


async def test_heartbeat_keeps_the_connection_alive(browse) -> None:
    # python-engineio announces int(ping_interval) s, so pingInterval 0 here: the client
    # then allows only pingTimeout (1 s) between pings, while they come every 0.25 s.
    sio = new_sio(ping_interval=0.25, ping_timeout=1)
    disconnected: list[str] = []

    @sio.event
    async def disconnect(sid: str, reason: str) -> None:
        disconnected.append(reason)

    @sio.on("echo")
    async def echo(sid: str, data: Any) -> Any:
        return data

    async with serving(sio) as url:
        page, _ = await browse(url)
        await run_harness(page, "socketio.js", "watchHeartbeat")
        # Twelve pings take 3 s: three of the client's deadlines, and more of the server's.
        await run_harness(page, "socketio.js", "untilPongs", {"count": 12, "timeoutMs": EVENT_TIMEOUT * 1000})
        state = await run_harness(page, "socketio.js", "stillAlive")
        assert state == {"connected": True, "reasons": [], "echoed": "still here"}
        assert disconnected == []
        await run_harness(page, "socketio.js", "closeClient")


async def test_server_disconnect_ends_the_connection_once(browse) -> None:
    sio = new_sio()
    holding: asyncio.Queue[str] = asyncio.Queue()
    release = asyncio.Event()

    @sio.on("hold")
    async def hold(sid: str, data: Any) -> dict[str, Any]:
        holding.put_nowait(sid)
        await release.wait()
        return {"ok": True}

    async with serving(sio) as url:
        page, _ = await browse(url)
        try:
            await run_harness(page, "socketio.js", "holdRequest")
            sid = await asyncio.wait_for(holding.get(), EVENT_TIMEOUT)
            await sio.disconnect(sid)
            held = await asyncio.wait_for(run_harness(page, "socketio.js", "heldOutcome"), EVENT_TIMEOUT)
            assert held == {"error": "socket.io: connection closed (io server disconnect)"}
            # Let the server read on: its late ack, then the client's close.
            release.set()
            # The WebSocket's own close comes later and must not notify a second time.
            await run_harness(page, "socketio.js", "untilSocketClosed", {"timeoutMs": EVENT_TIMEOUT * 1000})
            state = await run_harness(page, "socketio.js", "clientState")
            assert state == {"reasons": ["io server disconnect"], "connected": False}
        finally:
            release.set()


async def test_close_leaves_the_namespace_and_fails_what_is_pending(browse) -> None:
    sio = new_sio()
    reasons: asyncio.Queue[str] = asyncio.Queue()

    @sio.event
    async def disconnect(sid: str, reason: str) -> None:
        reasons.put_nowait(reason)

    async with serving(sio) as url:
        page, _ = await browse(url)
        result = await run_harness(page, "socketio.js", "closeTwice")
        assert result == {
            "reason": "io client disconnect",
            "notified": ["io client disconnect"],
            "pending": "socket.io: connection closed (io client disconnect)",
            "emitError": "socket.io: not connected",
            "late": "socket.io: not connected",
            "connected": False,
        }
        assert await asyncio.wait_for(reasons.get(), EVENT_TIMEOUT) == sio.reason.CLIENT_DISCONNECT


async def test_request_without_answer_times_out(server: RunningServer, browse) -> None:
    page, _ = await browse(server.url)
    result = await run_harness(page, "socketio.js", "requestTimesOut", {"timeoutMs": 300})
    assert result["error"] == 'socket.io: no answer to "no_such_event" within 300 ms'
    assert result["elapsed"] >= 290
    assert result["ok"] is True


async def test_refused_connection_rejects(browse) -> None:
    sio = new_sio()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        raise socketio.exceptions.ConnectionRefusedError("no room for you")

    async with serving(sio) as url:
        page, _ = await browse(url)
        error = await run_harness(page, "socketio.js", "connectionRefused")
    assert error == "socket.io: connection refused by server: no room for you"


async def test_connect_without_server_rejects(server: RunningServer, browse) -> None:
    page, _ = await browse(server.url)
    result = await run_harness(page, "socketio.js", "connectFailures")
    assert result["noPath"].startswith(
        f"socket.io: cannot connect to ws://127.0.0.1:{server.url.rsplit(':', 1)[1]}"
        "/nothing/?EIO=4&transport=websocket ("
    )
    assert result["badOrigin"] == "socket.io: cannot connect: no WebSocket URL for ftp://127.0.0.1"


async def test_https_origin_uses_wss(server: RunningServer, browse) -> None:
    page, _ = await browse(server.url)
    result = await run_harness(page, "socketio.js", "httpsUsesWss")
    assert result == {
        "url": "wss://sendit.example:8443/io/?EIO=4&transport=websocket",
        "error": "socket.io: cannot connect: stub",
    }


async def test_wire_format_and_missing_pings(browse) -> None:
    endpoint = RawEndpoint()
    async with serving(websockets={"/socket.io/": endpoint.handle}) as url:
        page, _ = await browse(url)
        try:
            run = asyncio.create_task(run_harness(page, "socketio.js", "wireFormat"))
            ws = await endpoint.accept()
            await ws.send_str('0{"sid":"eio","upgrades":[],"pingInterval":150,"pingTimeout":150,"maxPayload":100000}')
            assert await next_frame(ws) == "40"
            await ws.send_str('40{"sid":"raw-sid"}')
            assert await next_frame(ws) == '420["hello",{"a":1}]'
            await ws.send_str('42/other,["evt","wrong namespace"]')
            await ws.send_str('42["evt",1,"two"]')
            await ws.send_str('431[{"ok":false}]')
            await ws.send_str('430[{"ok":true},"second"]')
            await ws.send_str("2")
            assert await next_frame(ws) == "3"
            # No more pings: the client gives up pingInterval + pingTimeout after the last.
            await closed_by_client(ws)
            result = await asyncio.wait_for(run, EVENT_TIMEOUT)
        finally:
            endpoint.release.set()
    assert result["id"] == "raw-sid"
    assert result["events"] == [[1, "two"]]
    assert result["answer"] == {"ok": True}
    assert result["reason"] == "ping timeout"
    assert result["elapsed"] >= 250


async def test_connect_times_out_without_handshake(browse) -> None:
    endpoint = RawEndpoint()
    async with serving(websockets={"/socket.io/": endpoint.handle}) as url:
        page, _ = await browse(url)
        try:
            run = asyncio.create_task(run_harness(page, "socketio.js", "connectTimesOut", {"timeoutMs": 300}))
            ws = await endpoint.accept()
            await closed_by_client(ws)
            error = await asyncio.wait_for(run, EVENT_TIMEOUT)
        finally:
            endpoint.release.set()
    assert error.startswith("socket.io: no connection to ws://127.0.0.1:")
    assert error.endswith(" within 300 ms")
