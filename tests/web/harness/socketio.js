/**
 * Scenarios for /js/signalling/socketio.js, run by tests/web/test_socketio.py against
 * a real python-socketio server or a scripted Engine.IO endpoint.
 *
 * Most scenarios run in one call. The ones in steps (the test acts on the server, or
 * waits on it, between them) keep their client in `current`: the module lives as long
 * as the page, and each test has a page of its own.
 */

import { SocketClient } from "/js/signalling/socketio.js";
import { rejection, until } from "./common.js";

/** @type {{client: SocketClient, reasons: string[]} | null} */
let current = null;
let pongs = 0;
/** @type {WebSocket[]} every WebSocket the page opened, once `recordSockets()` ran */
const sockets = [];
/** @type {Promise<{answer?: unknown, error?: string}> | null} */
let held = null;

/** Connects, and keeps the client and the reasons of its disconnects for later steps. */
async function connectAndKeep() {
  const client = await SocketClient.connect();
  const reasons = [];
  client.on("disconnect", (reason) => reasons.push(reason));
  current = { client, reasons };
  return client;
}

/** The kept client's state, as the test sees it between steps. */
export const clientState = () => ({ connected: current.client.connected, reasons: current.reasons });

/** Closes the kept client: the end of a scenario in steps. */
export function closeClient() {
  current.client.close();
}

/** A request answered by the real server's ack, then close. */
export async function requestAndClose() {
  const client = await SocketClient.connect();
  const created = await client.request("create", { version: 2 });
  const invalid = await client.request("create", "not an object");
  const state = { id: client.id, connected: client.connected, created, invalid };
  client.close();
  return { ...state, after: client.connected };
}

/** Handlers of "news" and "pair" (one of them throwing), one taken off between two "poke"s. */
export async function eventsUntilOff() {
  // A throwing handler is reported as an uncaught error: collect it instead of failing the page.
  const reported = [];
  window.addEventListener("error", (event) => {
    reported.push(event.error.message);
    event.preventDefault();
  });
  const client = await SocketClient.connect();
  const news = [];
  const also = [];
  const pairs = [];
  const onNews = (data) => news.push(data);
  client
    .on("news", onNews)
    .on("news", () => {
      throw new Error("handler bug");
    })
    .on("news", (data) => also.push(data))
    .on("pair", (...args) => pairs.push(args));
  const first = await client.request("poke", { n: 1 });
  client.off("news", onNews);
  const second = await client.request("poke", { n: 2 });
  client.close();
  return { news, also, pairs, first, second, reported };
}

/** A handler added after connect() resolved (one microtask later) still gets the server's welcome. */
export async function eventsWhileAccepting() {
  const client = await SocketClient.connect();
  await Promise.resolve();
  const welcomes = [];
  client.on("welcome", (data) => welcomes.push(data));
  const echoed = await client.request("echo", "x");
  client.close();
  return { welcomes, echoed, id: client.id };
}

/** Emits "seq" 0..count-1 at once; the client stays open until `closeClient()`. */
export async function emitInOrder({ count }) {
  const client = await connectAndKeep();
  for (let i = 0; i < count; i++) client.emit("seq", i);
}

/** Connects, counting the pongs the client sends; the client stays open. */
export async function watchHeartbeat() {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (data === "3") pongs += 1;
    return send.call(this, data);
  };
  await connectAndKeep();
}

/** Waits until the client has answered `count` pings. */
export function untilPongs({ count, timeoutMs }) {
  return until(() => pongs >= count, `${count} pongs`, timeoutMs);
}

/** The kept client's state, and whether it still gets answers. */
export async function stillAlive() {
  const state = clientState();
  return { ...state, echoed: await current.client.request("echo", "still here") };
}

/** Records every WebSocket the page opens from now on. */
function recordSockets() {
  window.WebSocket = class extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
    }
  };
}

/** Connects and sends "hold", which the server answers only when the test lets it. */
export async function holdRequest() {
  recordSockets();
  const client = await connectAndKeep();
  held = client.request("hold").then(
    (answer) => ({ answer }),
    (error) => ({ error: error.message }),
  );
}

/** How the held request ended. */
export const heldOutcome = () => held;

/** Waits until the first WebSocket the page opened is closed. */
export function untilSocketClosed({ timeoutMs }) {
  return until(() => sockets[0].readyState === WebSocket.CLOSED, "the WebSocket to close", timeoutMs);
}

/** close(), twice, with a request pending; then emit and request on the closed client. */
export async function closeTwice() {
  const client = await SocketClient.connect();
  const notified = [];
  const lost = new Promise((resolve) => client.on("disconnect", resolve));
  client.on("disconnect", (reason) => notified.push(reason));
  const pending = client.request("unanswered", {}).catch((error) => error.message);
  client.close();
  client.close();
  let emitError = null;
  try {
    client.emit("late", 1);
  } catch (error) {
    emitError = error.message;
  }
  const late = await client.request("late").catch((error) => error.message);
  return { reason: await lost, notified, pending: await pending, emitError, late, connected: client.connected };
}

/** A request no handler answers, with a timeout of `timeoutMs`; then one that is answered. */
export async function requestTimesOut({ timeoutMs }) {
  const client = await SocketClient.connect();
  const start = performance.now();
  const error = await rejection(client.request("no_such_event", {}, { timeoutMs }));
  const elapsed = performance.now() - start;
  const created = await client.request("create", { version: 2 });
  client.close();
  return { error, elapsed, ok: created.ok };
}

/** Why connect() failed, when the server refuses the connection. */
export const connectionRefused = () => rejection(SocketClient.connect());

/** Why connect() failed, with no Socket.IO server at the path, and with an origin of no WebSocket. */
export async function connectFailures() {
  const fail = (promise) => promise.then(
    () => "connected",
    (error) => error instanceof Error && error.message,
  );
  return {
    noPath: await fail(SocketClient.connect(location.origin, { path: "/nothing/" })),
    badOrigin: await fail(SocketClient.connect("ftp://127.0.0.1")),
  };
}

/** The URL connect() opens for an https origin (the WebSocket is a stub that refuses). */
export async function httpsUsesWss() {
  let opened = null;
  window.WebSocket = class {
    constructor(url) {
      opened = url;
      throw new Error("stub");
    }
  };
  const error = await rejection(SocketClient.connect("https://sendit.example:8443", { path: "/io/" }));
  return { url: opened, error };
}

/** Against the scripted endpoint: what the client saw, and how long it waited for a ping that never came. */
export async function wireFormat() {
  const client = await SocketClient.connect();
  const events = [];
  client.on("evt", (...args) => events.push(args));
  const lost = new Promise((resolve) => client.on("disconnect", resolve));
  const answer = await client.request("hello", { a: 1 });
  const start = performance.now();
  const reason = await lost;
  return { id: client.id, events, answer, reason, elapsed: performance.now() - start };
}

/** Why connect() failed, when the endpoint never sends the handshake. */
export const connectTimesOut = ({ timeoutMs }) => rejection(SocketClient.connect(location.origin, { timeoutMs }));
