/**
 * The WebRTC half of signalling: an RTCPeerConnection whose offer, answer and ICE
 * candidates travel through the server sealed by the handshake (PROTOCOL.md 3), ending
 * in an open data channel; and, mid-transfer, the next one when it is lost. The server relays opaque blobs: it can neither read nor
 * change a description or a candidate. No DOM.
 * @module signalling/link
 */

import { ERROR_ID, ErrorId } from "../protocol/errors.js";
import { FAILURE_WORDS, FAILURES, Policy, serverKinds } from "../protocol/ice.js";
import { CHANNEL_LABEL, neutralised } from "../protocol/protocol.js";
import { IceWatch } from "./ice-watch.js";

const OPEN_TIMEOUT_MS = 30000;
/** A reconnection's attempt (PROTOCOL.md 4.6) is given less: one begun while the path was
 * still down keeps failing its checks, where a fresh one opens within a second or two. */
const REOPEN_TIMEOUT_MS = 10000;
/** How long a side that hears the other give up waits for its own gathering to end: a
 * diagnosis made while it is still looking for addresses would say it found none. */
const GATHER_WAIT_MS = 5000;
/** The server's refusals of a signal that say the other member ended the pair. */
const PAIR_OVER = new Set([ErrorId.NOT_PAIRED, ErrorId.PEER_NOT_CONNECTED]);

/** The server refused a request: `message` is its words, `errorId` its id (the page
 * decides on that), `retryAfter` the seconds it asks the client to wait, or null. */
export class ServerError extends Error {
  constructor(message, errorId, retryAfter = null) {
    super(message);
    this.errorId = errorId;
    this.retryAfter = retryAfter;
  }
}

/** The connection could not be set up: `errorId` is why, one of PROTOCOL.md 3.5 when
 * no route was found (or, relay only, none could be), "protocol-error" for a sender's
 * second channel. (The handshake's own refusals, wrong-code, tampered and
 * bad-handshake, are its HandshakeErrors.) `peer` is what the other side told of its
 * own failure to connect, when this side gave up on hearing it, else null. */
export class LinkError extends Error {
  constructor(message, errorId, peer = null) {
    super(message);
    this.errorId = errorId;
    this.peer = peer;
  }
}

/**
 * What the server's `cancelled` says the other side told: its error id (`cancelled` when
 * it gave none, or none that reads as one) and its words, shown safe.
 * @param {unknown} payload
 * @returns {{errorId: string, said: string}}
 */
export function toldByPeer(payload) {
  const said = typeof payload?.reason === "string" ? neutralised(payload.reason) : "";
  const errorId = typeof payload?.error_id === "string" && ERROR_ID.test(payload.error_id) ? payload.error_id : ErrorId.CANCELLED;
  return { errorId, said };
}

/** The LinkError of a connection that did not open for the 3.5 reason `errorId`, in its
 * words (which are also what the peer is told); `peer` as for LinkError. */
const failure = (errorId, peer) => new LinkError(FAILURE_WORDS[errorId], errorId, peer);

/** Emit `event` and return the acknowledgement, or throw ServerError for an error ack. */
export async function ask(socket, event, payload = {}) {
  const ack = await socket.request(event, payload);
  if (!ack || ack.ok !== true) {
    const retryAfter = Number.isInteger(ack?.retry_after) ? ack.retry_after : null;
    throw new ServerError(ack?.error ?? "the server gave no answer", ack?.error_id ?? null, retryAfter);
  }
  return ack;
}

/**
 * The refusal of a connection asked for under `policy` that `iceServers` cannot give
 * (relay only, and no TURN relay), or null: known before any candidate, so a side
 * checks as soon as it has the server's list (PROTOCOL.md 3.5).
 * @param {RTCIceServer[]} iceServers
 * @param {string} policy a Policy
 * @returns {LinkError|null}
 */
export function refusedPolicy(iceServers, policy) {
  if (policy !== Policy.RELAY || serverKinds(iceServers).turn) return null;
  // Told to the other side as its reason, so in the third person.
  return new LinkError("relay only was asked for, but the server offers no TURN relay", ErrorId.RELAY_UNAVAILABLE);
}

/** A candidate as the seal's schema has it: exactly its four fields, or null (the end). */
const candidateFields = (candidate) =>
  candidate && {
    candidate: candidate.candidate,
    sdpMid: candidate.sdpMid ?? null,
    sdpMLineIndex: candidate.sdpMLineIndex ?? null,
    usernameFragment: candidate.usernameFragment ?? null,
  };

/** A sealed signal's fields for connection `attempt`: the first (0) says none. */
const withAttempt = (fields, attempt) => (attempt ? { ...fields, attempt } : fields);

/**
 * The link between the two peers through the server: the handshake's sealed signals,
 * carried for one RTCPeerConnection after another. The first connection is `open()`ed;
 * mid-transfer, when it is lost, the sender makes the next with `reconnect()` and the
 * receiver answers its offer (PROTOCOL.md 4, reconnection): each connection is an
 * attempt, numbered in its sealed offer, answer and candidates, and a signal of any
 * attempt but the current one is dropped. Each resolves `{pc, channel, route}` with the
 * channel open (`route` settles with the Route of its selected candidate pair, or null);
 * rejects with LinkError (or the server's ServerError, or the handshake's HandshakeError).
 * A receiver takes the first channel of a connection, whatever it is (the Receiver checks
 * it); any other goes to `onExtraChannel` once the first is open, and fails the attempt
 * before.
 */
export class Link {
  #socket;
  #settings;
  #handshake;
  #onFailed;
  #mayReconnect;
  #onReconnect;
  /** @type {Attempt | null} */
  #attempt = null;
  /** The highest attempt made (sender) or answered (receiver). */
  #highest = -1;
  // Signals go out in the order they were made (the seal numbers them), and come in
  // strictly one after another: a candidate must not be applied while the description
  // it belongs to is still being set.
  #outbox = Promise.resolve();
  #inbox = Promise.resolve();

  /**
   * @param {{socket: import("./socketio.js").SocketClient, iceServers: RTCIceServer[],
   *   policy?: string, role: "sender"|"receiver", handshake: import("../protocol/handshake.js").Handshake,
   *   onExtraChannel?: (channel: RTCDataChannel) => void, onFailed?: () => void,
   *   mayReconnect?: () => boolean, onReconnect?: (opening: Promise<object>) => void}} link
   *   `iceServers` exactly what the server handed out, for every connection; `policy` a
   *   Policy (see refusedPolicy); `onFailed` is told when an open connection fails;
   *   receiver: `mayReconnect` says whether a new offer is taken now, and `onReconnect`
   *   is handed the new connection's opening once it is.
   */
  constructor({
    socket,
    iceServers,
    policy = Policy.ALL,
    role,
    handshake,
    onExtraChannel = () => {},
    onFailed = () => {},
    mayReconnect = () => false,
    onReconnect = () => {},
  }) {
    this.#socket = socket;
    this.#settings = { iceServers, policy, role, onExtraChannel };
    this.#handshake = handshake;
    this.#onFailed = onFailed;
    this.#mayReconnect = mayReconnect;
    this.#onReconnect = onReconnect;
    socket.on("signal", (signal) =>
      this.#run(async () => {
        const { send: replies, open } = await handshake.receive(signal);
        for (const reply of replies) this.send(reply);
        if (open) await this.#route(open);
      }),
    );
    // The other side could not connect (3.5): nor can this one, and it says why from
    // what it saw itself, never taking the other's reason as its own.
    socket.on("cancelled", (payload) => this.#attempt?.peerGaveUp(toldByPeer(payload)));
  }

  /** The current connection, or null. */
  get pc() {
    return this.#attempt?.pc ?? null;
  }

  /** The first connection; the sender starts it with the receiver's `peerPake` from `peer_joined`. */
  open(peerPake) {
    const attempt = this.#begin(0);
    if (this.#settings.role === "sender") {
      this.#run(async () => {
        for (const signal of await this.#handshake.peerJoined(peerPake)) this.send(signal);
        await attempt.offer();
      });
    }
    return attempt.opened;
  }

  /** Sender: the next connection, the current one closed. */
  reconnect() {
    const attempt = this.#begin(this.#highest + 1);
    this.#run(() => attempt.offer());
    return attempt.opened;
  }

  /** Close the current connection. */
  close() {
    this.#attempt?.close();
  }

  #begin(number) {
    this.#attempt?.close();
    this.#highest = number;
    this.#attempt = new Attempt(this, number, this.#settings, () => this.#onFailed());
    return this.#attempt;
  }

  /** Sends `signal` (or the sealing of one) after those before it. A signal the server
   * refuses because the pair is over ends nothing here: the peer ended it, and why (its
   * `cancelled`, its `peer_left`) comes as an event, which the ack may overtake. */
  send(signal) {
    this.#outbox = this.#outbox
      .then(() => signal)
      .then((made) => ask(this.#socket, "signal", made))
      .catch((error) => (PAIR_OVER.has(error.errorId) ? undefined : this.#attempt?.fail(error)));
  }

  /** Seal `kind` of connection `attempt` and send it. */
  sendSealed(kind, fields, attempt) {
    this.send(this.#handshake.seal(kind, withAttempt(fields, attempt)));
  }

  #run(step) {
    this.#inbox = this.#inbox.then(step).catch((error) => this.#attempt?.fail(error));
  }

  /** An opened signal goes to the connection of its attempt. */
  async #route(inner) {
    const number = inner.attempt ?? 0;
    if (inner.type === "offer" && number > this.#highest) {
      // A new connection from the sender, mid-transfer: it says the old one is lost.
      if (!this.#mayReconnect()) return;
      const attempt = this.#begin(number);
      this.#onReconnect(attempt.opened);
      await attempt.apply(inner);
    } else if (this.#attempt?.number === number) {
      await this.#attempt.apply(inner);
    }
  }
}

/** One RTCPeerConnection of a Link, until its channel is open, then while it lasts. */
class Attempt {
  #link;
  #watch;
  #timer;
  #settled = false;
  #queued = [];
  #resolve;
  #reject;

  constructor(link, number, settings, onFailed) {
    this.#link = link;
    this.number = number;
    const { iceServers, policy, role, onExtraChannel } = settings;
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy });
    this.pc = pc;
    this.opened = new Promise((resolve, reject) => ([this.#resolve, this.#reject] = [resolve, reject]));
    const noPath = () => this.fail(failure(this.#watch.diagnosis));
    this.#watch = new IceWatch(pc, { iceServers, policy, onHopeless: noPath });
    this.#timer = setTimeout(noPath, number > 0 ? REOPEN_TIMEOUT_MS : OPEN_TIMEOUT_MS);
    pc.addEventListener("icecandidate", ({ candidate }) => {
      link.sendSealed("candidate", { candidate: candidateFields(candidate) }, number);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState !== "failed") return;
      if (this.#settled) onFailed();
      else noPath();
    });
    if (role === "sender") {
      // The sender's channel is the one: any the receiver opens is refused (PROTOCOL.md 4).
      pc.addEventListener("datachannel", ({ channel }) => channel.close());
      this.#opening(pc.createDataChannel(CHANNEL_LABEL, { ordered: true }));
    } else {
      let offered = false;
      pc.addEventListener("datachannel", ({ channel }) => {
        if (!offered) this.#opening(channel);
        else if (this.#settled) onExtraChannel(channel);
        else this.fail(new LinkError("the sender opened more than one data channel", ErrorId.PROTOCOL_ERROR));
        offered = true;
      });
    }
  }

  /** A refusal (the handshake's, the server's) keeps its id; anything else that breaks is
   * set-up failing. Once the channel is open, only it decides: a late signal the server
   * spoils cannot touch it, its keys came sealed. */
  fail(error) {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.pc.close();
    this.#reject("errorId" in error ? error : new LinkError(`connection setup failed: ${error.message}`, null));
  }

  /** Done with: a newer connection takes its place, or the run is over. */
  close() {
    this.fail(new LinkError("the connection was replaced", null));
    this.pc.close();
  }

  /** Sender: make and send the offer. */
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.#link.sendSealed("offer", { sdp: this.pc.localDescription.sdp }, this.number);
  }

  /** The peer's opened description or candidate of this connection. */
  async apply(inner) {
    const { pc } = this;
    const watch = this.#watch;
    const addCandidate = (candidate) => (candidate ? pc.addIceCandidate(candidate) : pc.addIceCandidate());
    if (inner.type === "candidate") {
      watch.remoteCandidate(inner.candidate);
      if (!pc.remoteDescription) {
        this.#queued.push(inner.candidate);
        return;
      }
      await addCandidate(inner.candidate);
      watch.applied();
      return;
    }
    watch.remoteDescription(inner.sdp);
    await pc.setRemoteDescription({ type: inner.type, sdp: inner.sdp });
    for (const candidate of this.#queued) await addCandidate(candidate);
    this.#queued = [];
    watch.applied();
    if (inner.type === "offer") {
      await pc.setLocalDescription(await pc.createAnswer());
      this.#link.sendSealed("answer", { sdp: pc.localDescription.sdp }, this.number);
    }
  }

  /** The other side told the server it could not connect (3.5): this first connection
   * fails too, diagnosed from what this side saw, which includes its own addresses if it
   * is gathering them; a receiver the offer never reached has none to wait for. */
  peerGaveUp(peer) {
    if (this.#settled || this.number !== 0 || !FAILURES.has(peer.errorId)) return;
    const { pc } = this;
    let timer;
    const waited = new Promise((resolve) => (timer = setTimeout(resolve, GATHER_WAIT_MS)));
    const gathering = pc.localDescription || pc.remoteDescription ? this.#watch.gathered : undefined;
    Promise.race([gathering ?? Promise.resolve(), waited]).then(() => {
      clearTimeout(timer);
      this.fail(failure(this.#watch.diagnosis, peer));
    });
  }

  #opening(channel) {
    const ready = () => {
      if (this.#settled) return;
      this.#settled = true;
      clearTimeout(this.#timer);
      // A route that cannot be read (the connection closing under it) is not shown.
      this.#resolve({ pc: this.pc, channel, route: this.#watch.route().catch(() => null) });
    };
    if (channel.readyState === "open") ready();
    else channel.addEventListener("open", ready, { once: true });
  }
}
