/**
 * A minimal Socket.IO v5 client: Engine.IO v4 over WebSocket only, JSON packets only,
 * default namespace only, no reconnection (a new connection is a new peer to the server).
 *
 * Wire format, one packet per WebSocket text frame:
 *   Engine.IO  `0{open}` `1` close  `2` ping  `3` pong  `4<socket.io packet>`
 *   Socket.IO  `0` connect  `1` disconnect  `2[id][event, ...args]` event
 *              `3<id>[...args]` ack  `4{message}` connect error
 *
 * @module signalling/socketio
 */

const TOKEN = Symbol("SocketClient");

/** The reason passed to "disconnect" handlers. */
export const DisconnectReason = Object.freeze({
  SERVER: "io server disconnect",
  CLIENT: "io client disconnect",
  PING_TIMEOUT: "ping timeout",
  TRANSPORT_CLOSE: "transport close",
  TRANSPORT_ERROR: "transport error",
  PARSE_ERROR: "parse error",
});

/** `<type>[/namespace,][ackId][json]`; types 5 and 6 (binary) are not expected. */
const PACKET = /^([0-4])(?:(\/[^,]*),)?(\d*)([\s\S]*)$/;

function socketUrl(origin, path) {
  const url = new URL(path, origin);
  const scheme = { "http:": "ws:", "https:": "wss:", "ws:": "ws:", "wss:": "wss:" }[url.protocol];
  if (!scheme) throw new Error(`no WebSocket URL for ${origin}`);
  url.protocol = scheme;
  url.searchParams.set("EIO", "4");
  url.searchParams.set("transport", "websocket");
  return url.href;
}

function report(error) {
  // A throwing handler must not stop delivery to the others, yet must not vanish.
  queueMicrotask(() => { throw error; });
}

/** A connection to a Socket.IO server's default namespace. */
export class SocketClient {
  #ws;
  #url;
  #id = null;
  #connected = false;
  #closed = false;
  /** @type {{resolve: Function, reject: Function, timer: number} | null} */
  #opening = null;
  #pingDeadlineMs = 0;
  #heartbeat = 0;
  #nextAckId = 0;
  /** @type {Map<number, {resolve: Function, reject: Function, timer: number}>} */
  #pending = new Map();
  /** @type {Map<string, Set<Function>>} */
  #handlers = new Map();
  /**
   * What arrives before the caller of connect() can have subscribed (events from the
   * server's connect handler) waits for the next task; acks and the disconnect queue
   * behind it so that everything is still seen in arrival order.
   * @type {Array<() => void> | null}
   */
  #held = [];

  /** @private Use {@link SocketClient.connect}. */
  constructor(token, url) {
    if (token !== TOKEN) throw new TypeError("use SocketClient.connect()");
    this.#url = url;
  }

  /**
   * Open a connection and join the default namespace.
   *
   * Handlers added in the task in which the promise resolves (before awaiting any I/O
   * or timer) also receive the events the server sent while accepting the connection.
   *
   * @param {string} [origin] http(s) origin of the server; ws(s) is derived from it.
   * @param {{path?: string, timeoutMs?: number}} [options]
   * @returns {Promise<SocketClient>} resolved once the server accepted the connection;
   *   rejected with an Error on timeout, transport failure or the server's refusal.
   */
  static connect(origin = location.origin, { path = "/socket.io/", timeoutMs = 10000 } = {}) {
    return new Promise((resolve, reject) => {
      let url, ws;
      try {
        url = socketUrl(origin, path);
        ws = new WebSocket(url);
      } catch (error) {
        reject(new Error(`socket.io: cannot connect: ${error.message}`, { cause: error }));
        return;
      }
      const client = new SocketClient(TOKEN, url);
      const timer = setTimeout(() => client.#lost("timeout",
        new Error(`socket.io: no connection to ${url} within ${timeoutMs} ms`)), timeoutMs);
      client.#opening = { resolve, reject, timer };
      client.#attach(ws);
    });
  }

  /** The Socket.IO session id the server gave this connection (null until connected). */
  get id() {
    return this.#id;
  }

  /** True from the server's acceptance until the connection is lost or closed. */
  get connected() {
    return this.#connected;
  }

  /**
   * Subscribe to a server event, or to "disconnect" (called once with a reason string
   * from {@link DisconnectReason} when the connection is lost or closed).
   * @param {string} event
   * @param {(...args: any[]) => void} handler called with the event's data arguments.
   * @returns {this}
   */
  on(event, handler) {
    if (!this.#handlers.has(event)) this.#handlers.set(event, new Set());
    this.#handlers.get(event).add(handler);
    return this;
  }

  /**
   * Unsubscribe a handler added with {@link SocketClient#on}.
   * @param {string} event
   * @param {Function} handler
   * @returns {this}
   */
  off(event, handler) {
    this.#handlers.get(event)?.delete(handler);
    return this;
  }

  /**
   * Send an event without waiting for an answer.
   * @param {string} event
   * @param {unknown} [data] anything JSON can encode; omitted when undefined.
   * @throws {Error} when not connected.
   */
  emit(event, data) {
    this.#send("2" + JSON.stringify(data === undefined ? [event] : [event, data]));
  }

  /**
   * Send an event and wait for the server's acknowledgement.
   * @param {string} event
   * @param {unknown} [data]
   * @param {{timeoutMs?: number}} [options]
   * @returns {Promise<any>} the acknowledgement's first argument; rejected with an Error
   *   if not connected, on timeout, or when the connection closes first.
   */
  request(event, data = {}, { timeoutMs = 10000 } = {}) {
    return new Promise((resolve, reject) => {
      const id = this.#nextAckId++;
      this.#send(`2${id}${JSON.stringify([event, data])}`);
      const timer = setTimeout(() => {
        // A late answer then finds no entry and is dropped.
        this.#pending.delete(id);
        reject(new Error(`socket.io: no answer to "${event}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
    });
  }

  /** Leave the namespace and close the connection; "disconnect" handlers get CLIENT. */
  close() {
    if (this.#closed) return;
    if (this.#connected) this.#ws.send("41");
    this.#lost(DisconnectReason.CLIENT);
  }

  #attach(ws) {
    this.#ws = ws;
    ws.onmessage = (event) => this.#receive(event.data);
    ws.onerror = () => this.#lost(DisconnectReason.TRANSPORT_ERROR);
    ws.onclose = (event) => this.#lost(DisconnectReason.TRANSPORT_CLOSE,
      null, `WebSocket closed, code ${event.code}`);
  }

  #send(packet) {
    if (!this.#connected) throw new Error("socket.io: not connected");
    this.#ws.send("4" + packet);
  }

  #receive(frame) {
    if (this.#closed || typeof frame !== "string") return;
    switch (frame[0]) {
      case "0":
        return this.#onOpen(frame.slice(1));
      case "1":
        return this.#lost(DisconnectReason.TRANSPORT_CLOSE);
      case "2":
        this.#expectPing();
        return this.#ws.send("3");
      case "4":
        return this.#onPacket(frame.slice(1));
    }
  }

  #onOpen(json) {
    let handshake;
    try {
      handshake = JSON.parse(json);
    } catch {
      return this.#lost(DisconnectReason.PARSE_ERROR);
    }
    this.#pingDeadlineMs = (handshake.pingInterval ?? 25000) + (handshake.pingTimeout ?? 20000);
    this.#expectPing();
    this.#ws.send("40");
  }

  /** The server pings every pingInterval and waits pingTimeout for the pong. */
  #expectPing() {
    clearTimeout(this.#heartbeat);
    this.#heartbeat = setTimeout(() => this.#lost(DisconnectReason.PING_TIMEOUT),
      this.#pingDeadlineMs);
  }

  #onPacket(text) {
    const match = PACKET.exec(text);
    if (!match) return this.#lost(DisconnectReason.PARSE_ERROR);
    const [, type, namespace = "/", ackId, json] = match;
    if (namespace !== "/") return;
    let data;
    try {
      data = json ? JSON.parse(json) : undefined;
    } catch {
      return this.#lost(DisconnectReason.PARSE_ERROR);
    }
    switch (type) {
      case "0":
        return this.#onConnect(data);
      case "1":
        return this.#lost(DisconnectReason.SERVER);
      case "2":
        // The server asking us for an ack (ackId) is not supported: it would time out.
        if (Array.isArray(data) && typeof data[0] === "string" && data[0] !== "disconnect") {
          this.#inOrder(() => this.#deliver(data[0], data.slice(1)));
        }
        return;
      case "3":
        return this.#onAck(Number(ackId), data);
      case "4": {
        const message = typeof data === "string" ? data : data?.message ?? "no reason given";
        return this.#lost("connect error",
          new Error(`socket.io: connection refused by server: ${message}`));
      }
    }
  }

  #onConnect(data) {
    const opening = this.#opening;
    if (!opening) return;
    this.#opening = null;
    clearTimeout(opening.timer);
    this.#id = data?.sid ?? null;
    this.#connected = true;
    opening.resolve(this);
    setTimeout(() => {
      const held = this.#held;
      this.#held = null;
      for (const run of held) run();
    });
  }

  #onAck(id, data) {
    const request = this.#pending.get(id);
    if (!request) return;
    this.#pending.delete(id);
    clearTimeout(request.timer);
    this.#inOrder(() => request.resolve(Array.isArray(data) ? data[0] : undefined));
  }

  #inOrder(run) {
    if (this.#held) this.#held.push(run);
    else run();
  }

  #deliver(event, args) {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) {
      try {
        handler(...args);
      } catch (error) {
        report(error);
      }
    }
  }

  /**
   * The one way the connection ends, whatever ended it.
   * @param {string} reason
   * @param {Error | null} [error] why connect() fails, if still connecting.
   * @param {string} [detail] added to the default connect() error.
   */
  #lost(reason, error = null, detail = reason) {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clearTimeout(this.#heartbeat);
    if (this.#ws.readyState < WebSocket.CLOSING) this.#ws.close();
    const opening = this.#opening;
    if (opening) {
      this.#opening = null;
      clearTimeout(opening.timer);
      opening.reject(error ?? new Error(`socket.io: cannot connect to ${this.#url} (${detail})`));
      return;
    }
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) clearTimeout(request.timer);
    this.#inOrder(() => {
      for (const request of pending) {
        request.reject(new Error(`socket.io: connection closed (${reason})`));
      }
      this.#deliver("disconnect", [reason]);
    });
  }
}
