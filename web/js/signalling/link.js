/**
 * The WebRTC half of signalling: one RTCPeerConnection whose offer, answer and ICE
 * candidates travel through the server sealed by the handshake (PROTOCOL.md 3), ending
 * in an open data channel. The server relays opaque blobs: it can neither read nor
 * change a description or a candidate. No DOM.
 * @module signalling/link
 */

import { ERROR_ID, ErrorId } from "../protocol/errors.js";
import { FAILURE_WORDS, FAILURES, Policy, serverKinds } from "../protocol/ice.js";
import { CHANNEL_LABEL, neutralised } from "../protocol/protocol.js";
import { IceWatch } from "./ice-watch.js";

const OPEN_TIMEOUT_MS = 30000;
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

/**
 * Connect to the paired peer through `handshake` (protocol/handshake.js, made with the
 * code). The sender, given the receiver's `peerPake` from `peer_joined`, sends its pake,
 * confirmation and sealed offer and makes the channel; the receiver answers. Resolves
 * `{pc, channel, route}` with the channel open (`route` settles with the Route of its
 * selected candidate pair, or null); rejects with LinkError (or the server's
 * ServerError). A receiver takes the first channel it is offered, whatever it is (the
 * Receiver checks it); any other goes to `onExtraChannel` once the first is open, and
 * fails the connection before.
 * @param {{socket: import("./socketio.js").SocketClient, iceServers: RTCIceServer[],
 *   policy?: string, role: "sender"|"receiver", handshake: import("../protocol/handshake.js").Handshake,
 *   peerPake?: string, onExtraChannel?: (channel: RTCDataChannel) => void}} link
 *   `iceServers` exactly what the server handed out; `policy` a Policy (see refusedPolicy)
 */
export function openChannel({ socket, iceServers, policy = Policy.ALL, role, handshake, peerPake, onExtraChannel = () => {} }) {
  return new Promise((resolve, reject) => {
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy });
    let settled = false;
    // A refusal (the handshake's, the server's) keeps its id; anything else that breaks is set-up failing.
    const fail = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pc.close();
      reject("errorId" in error ? error : new LinkError(`connection setup failed: ${error.message}`, null));
    };
    const noPath = () => fail(failure(watch.diagnosis));
    const watch = new IceWatch(pc, { iceServers, policy, onHopeless: noPath });
    const timer = setTimeout(noPath, OPEN_TIMEOUT_MS);

    // Signals go out in the order they were made (the seal numbers them), and come in
    // strictly one after another: a candidate must not be applied while the description
    // it belongs to is still being set. Once the channel is open it decides: its keys
    // came sealed, so a late signal the server spoils cannot touch it.
    let outbox = Promise.resolve();
    let inbox = Promise.resolve();
    let queued = [];
    /** Sends `signal` (or the sealing of one) after those before it. A signal the server
     * refuses because the pair is over ends nothing here: the peer ended it, and why
     * (its `cancelled`, its `peer_left`) comes as an event, which the ack may overtake. */
    const send = (signal) => {
      outbox = outbox
        .then(() => signal)
        .then((made) => ask(socket, "signal", made))
        .catch((error) => (PAIR_OVER.has(error.errorId) ? undefined : fail(error)));
    };
    const run = (step) => {
      inbox = inbox.then(step).catch(fail);
    };
    const addCandidate = (candidate) => (candidate ? pc.addIceCandidate(candidate) : pc.addIceCandidate());
    const apply = async (inner) => {
      if (inner.type === "candidate") {
        watch.remoteCandidate(inner.candidate);
        if (!pc.remoteDescription) {
          queued.push(inner.candidate);
          return;
        }
        await addCandidate(inner.candidate);
        watch.applied();
        return;
      }
      watch.remoteDescription(inner.sdp);
      await pc.setRemoteDescription({ type: inner.type, sdp: inner.sdp });
      for (const candidate of queued) await addCandidate(candidate);
      queued = [];
      watch.applied();
      if (inner.type === "offer") {
        await pc.setLocalDescription(await pc.createAnswer());
        send(handshake.seal("answer", { sdp: pc.localDescription.sdp }));
      }
    };
    socket.on("signal", (signal) =>
      run(async () => {
        const { send: replies, open } = await handshake.receive(signal);
        for (const reply of replies) send(reply);
        if (open) await apply(open);
      }),
    );
    pc.addEventListener("icecandidate", ({ candidate }) => {
      send(handshake.seal("candidate", { candidate: candidateFields(candidate) }));
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") noPath();
    });
    // The other side could not connect (3.5): nor can this one, and it says why from what
    // it saw itself, never taking the other's reason as its own.
    socket.on("cancelled", (payload) => {
      const peer = toldByPeer(payload);
      if (settled || !FAILURES.has(peer.errorId)) return;
      // What it saw includes its own addresses, if it is gathering them; a receiver the
      // offer never reached has none to wait for.
      let timer;
      const waited = new Promise((resolve) => (timer = setTimeout(resolve, GATHER_WAIT_MS)));
      const gathering = pc.localDescription || pc.remoteDescription ? watch.gathered : undefined;
      Promise.race([gathering ?? Promise.resolve(), waited]).then(() => {
        clearTimeout(timer);
        fail(failure(watch.diagnosis, peer));
      });
    });

    const opened = (channel) => {
      const ready = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A route that cannot be read (the connection closing under it) is not shown.
        resolve({ pc, channel, route: watch.route().catch(() => null) });
      };
      if (channel.readyState === "open") ready();
      else channel.addEventListener("open", ready, { once: true });
    };
    if (role === "sender") {
      // The sender's channel is the one: any the receiver opens is refused (PROTOCOL.md 4).
      pc.addEventListener("datachannel", ({ channel }) => channel.close());
      opened(pc.createDataChannel(CHANNEL_LABEL, { ordered: true }));
      run(async () => {
        for (const signal of await handshake.peerJoined(peerPake)) send(signal);
        await pc.setLocalDescription(await pc.createOffer());
        send(handshake.seal("offer", { sdp: pc.localDescription.sdp }));
      });
    } else {
      let offered = false;
      pc.addEventListener("datachannel", ({ channel }) => {
        if (!offered) opened(channel);
        else if (settled) onExtraChannel(channel);
        else fail(new LinkError("the sender opened more than one data channel", ErrorId.PROTOCOL_ERROR));
        offered = true;
      });
    }
  });
}
