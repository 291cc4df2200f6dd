/**
 * One send, from start to end: get a slot from the server and draw the code's words,
 * wait for the receiver, run the handshake and open the channel, run the Sender,
 * close. No DOM: the page hands it files and a cancel, and renders the phase it
 * reports. The counterpart of `send` in peer/transfer/session.py.
 * @module transfer/send-session
 */

import { formatCode, parseSlot } from "../protocol/codes.js";
import { ErrorId } from "../protocol/errors.js";
import { Handshake } from "../protocol/handshake.js";
import { Policy } from "../protocol/ice.js";
import { PROTOCOL_VERSION } from "../protocol/protocol.js";
import { Link, LinkError, ask, refusedPolicy } from "../signalling/link.js";
import { SocketClient } from "../signalling/socketio.js";
import { codeWords } from "../signalling/words.js";
import { RECONNECT_GRACE_MS, Sender, SenderState } from "./machines.js";
import { Offer, Refused } from "./offer.js";
import { Run, cancelledByPeer, ending, endingOf } from "./run.js";

/**
 * Where a send is. Each phase's `detail`:
 * idle, requesting-code {}; waiting-for-receiver {code, link, expiresIn} (`code` in its
 * canonical form, `expiresIn` in seconds); connecting, awaiting-accept {}; sending
 * {totalBytes, resumed} (`resumed` true when it goes on after reconnecting); reconnecting
 * {} (the connection was lost mid-transfer: a new one is being made); then one ending: delivered {files}; declined {} (the receiver
 * declined); cancelled {} (this side cancelled); expired {} (nobody used the code in
 * time); failed, a Run ending (see run.js) whose `file` is the first file not yet
 * delivered.
 */
export const SendPhase = Object.freeze({
  IDLE: "idle",
  REQUESTING_CODE: "requesting-code",
  WAITING_FOR_RECEIVER: "waiting-for-receiver",
  CONNECTING: "connecting",
  AWAITING_ACCEPT: "awaiting-accept",
  SENDING: "sending",
  RECONNECTING: "reconnecting",
  DELIVERED: "delivered",
  DECLINED: "declined",
  FAILED: "failed",
  CANCELLED: "cancelled",
  EXPIRED: "expired",
});

const ENDINGS = new Set([
  SendPhase.DELIVERED,
  SendPhase.DECLINED,
  SendPhase.FAILED,
  SendPhase.CANCELLED,
  SendPhase.EXPIRED,
]);
/** Until the receiver turns up, more files join the same offer. */
const OPEN_TO_FILES = new Set([SendPhase.IDLE, SendPhase.REQUESTING_CODE, SendPhase.WAITING_FOR_RECEIVER]);
/** A new connection that fails at once is not tried again at once: the server relays its signals. */
const ATTEMPT_SPACING_MS = 2000;

export class SendSession {
  #run;
  #offer = new Offer();
  #origin;
  #onProgress;
  #onDelivered;
  #relayOnly;
  #onRoute;
  #graceMs;

  /**
   * @param {{origin?: string, onPhase?: (change: {phase: string, detail: object}) => void,
   *   onProgress?: (progress: {index: number, fileBytes: number, sentBytes: number}) => void,
   *   onDelivered?: (index: number) => void, relayOnly?: () => boolean,
   *   onRoute?: (route: string) => void}} [options] `origin` is the server's (the share
   *   link points there too); `onDelivered` is told as the receiver verifies each file;
   *   `relayOnly`, asked when the send starts, whether the person hides their address
   *   (only a TURN relay may then carry the connection); `onRoute` is told how the
   *   connection went (a Route of protocol/ice.js) soon after it opens, beside the phases;
   *   `graceMs`, how long a connection lost mid-transfer may take to come back.
   */
  constructor({
    origin = location.origin,
    onPhase = () => {},
    onProgress = () => {},
    onDelivered = () => {},
    relayOnly = () => false,
    onRoute = () => {},
    graceMs = RECONNECT_GRACE_MS,
  } = {}) {
    this.#origin = origin;
    this.#graceMs = graceMs;
    this.#relayOnly = relayOnly;
    this.#onRoute = onRoute;
    this.#run = new Run("send session", SendPhase.IDLE, ENDINGS, onPhase);
    this.#onProgress = onProgress;
    this.#onDelivered = onDelivered;
  }

  get phase() {
    return this.#run.phase;
  }

  /** The files on offer so far (a copy). */
  get files() {
    return this.#offer.files;
  }

  /** True while files can still join the offer. */
  get takesFiles() {
    return OPEN_TO_FILES.has(this.phase);
  }

  /** The page is closing: cut the connection at once, so the other side learns it now. */
  leave() {
    this.#run.closeNow();
  }

  /**
   * Add files to the offer, all of them or none (see Offer.add); the first files ask
   * the server for a code. Throws Refused, with words for the person, for files that
   * cannot go, and once the receiver has arrived or the send has ended.
   * @param {import("./offer.js").OfferedFile[]} files
   */
  add(files) {
    this.#checkOpen();
    this.#offer.add(files);
    if (this.phase === SendPhase.IDLE) this.#requestCode();
  }

  /**
   * Take a file, or a folder's files, off the offer before the receiver arrives; returns
   * how many went (an offer left empty is the page's to end). Throws Refused once the
   * receiver has arrived or the send has ended.
   * @param {string} name
   */
  remove(name) {
    this.#checkOpen();
    return this.#offer.remove(name);
  }

  #checkOpen() {
    if (!this.takesFiles) throw new Refused("The list can no longer change: the receiver has connected, or the send has ended.");
  }

  /** Stop the send and tell the receiver: over the channel once it is open, else through the server. */
  cancel() {
    const run = this.#run;
    if (run.over) return;
    const reason = "the sender cancelled";
    if (run.transfer) {
      run.transfer.cancel(reason);
      run.end(SendPhase.CANCELLED, {}, run.transfer.closed);
      return;
    }
    const told = run.socket?.connected ? ask(run.socket, "cancel", { reason }).catch(() => {}) : undefined;
    run.end(SendPhase.CANCELLED, {}, told);
  }

  async #requestCode() {
    const run = this.#run;
    const policy = this.#relayOnly() ? Policy.RELAY : Policy.ALL;
    run.set(SendPhase.REQUESTING_CODE);
    let created, words;
    try {
      [words, run.socket] = await Promise.all([codeWords(this.#origin), SocketClient.connect(this.#origin)]);
      if (run.endedMeanwhile()) return;
      created = await ask(run.socket, "create", { version: PROTOCOL_VERSION });
    } catch (error) {
      run.end(SendPhase.FAILED, endingOf(error, { reason: `could not get a code (${error.message})` }));
      return;
    }
    if (run.endedMeanwhile()) return;
    const refused = refusedPolicy(created.ice_servers, policy);
    if (refused) {
      run.refuse(SendPhase.FAILED, refused);
      return;
    }
    // The words are drawn here and never leave this page but in the code the person gives.
    const code = formatCode(parseSlot(created.slot), words.generate());
    const handshake = await Handshake.create("sender", code);
    if (run.endedMeanwhile()) return;
    this.#listen(run.socket, { iceServers: created.ice_servers, policy }, handshake);
    run.set(SendPhase.WAITING_FOR_RECEIVER, { code, link: `${this.#origin}/#${code}`, expiresIn: created.expires_in });
  }

  /** The server decides until the channel is open, and while it is being restored; the
   * rest of the time only the channel does (see Run.fromServer). */
  #listen(socket, ice, handshake) {
    const run = this.#run;
    const untilOpen = (handler) => run.fromServer(handler, SendPhase.RECONNECTING);
    socket.on("peer_joined", ({ pake }) => this.#connect(ice, handshake, pake));
    socket.on("expired", untilOpen(() => run.end(SendPhase.EXPIRED)));
    socket.on(
      "cancelled",
      untilOpen((payload) => {
        const cancelled = cancelledByPeer(payload, "the receiver cancelled", run.phase === SendPhase.CONNECTING);
        if (cancelled) run.end(SendPhase.FAILED, cancelled);
      }),
    );
    socket.on(
      "peer_left",
      untilOpen(() =>
        run.end(
          SendPhase.FAILED,
          run.transfer
            ? ending("the receiver left before the transfer finished", { errorId: ErrorId.PEER_LEFT })
            : ending("the receiver left before the transfer started"),
        ),
      ),
    );
    socket.on("disconnect", untilOpen(() => run.end(SendPhase.FAILED, ending("lost the connection to the server"))));
  }

  /** `ice`: the server's `iceServers` and the person's `policy`. */
  async #connect(ice, handshake, peerPake) {
    const run = this.#run;
    if (!run.set(SendPhase.CONNECTING)) return;
    const link = new Link({ socket: run.socket, ...ice, role: "sender", handshake, onFailed: () => run.transfer?.lost() });
    run.link = link;
    let channel;
    try {
      ({ channel, route: run.route } = await link.open(peerPake));
    } catch (error) {
      run.refuse(SendPhase.FAILED, error);
      return;
    }
    if (run.endedMeanwhile()) return;
    run.set(SendPhase.AWAITING_ACCEPT);
    run.route.then((route) => route && this.#onRoute(route));
    const files = this.files;
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    let delivered = 0;
    const sender = new Sender(channel, files, {
      onAccepted: () => run.set(SendPhase.SENDING, { totalBytes, resumed: false }),
      onProgress: this.#onProgress,
      onDelivered: (index) => {
        delivered += 1;
        this.#onDelivered(index);
      },
      onLost: () => this.#reconnect(link, sender),
      onResumed: () => run.set(SendPhase.SENDING, { totalBytes, resumed: true }),
      graceMs: this.#graceMs,
    });
    run.transfer = sender;
    try {
      await sender.run();
      // The receiver's word may have ended the pair at the server first.
      run.end(SendPhase.DELIVERED, { files }, Promise.all([run.done(), sender.closed]));
    } catch (error) {
      if (sender.state === SenderState.DECLINED) run.end(SendPhase.DECLINED, {}, sender.closed);
      else run.end(SendPhase.FAILED, endingOf(error, { file: files[delivered]?.name ?? null }), sender.closed);
    }
  }

  /** The connection was lost mid-transfer: new ones, one after another, until one opens
   * or the sender's grace is over. */
  async #reconnect(link, sender) {
    const run = this.#run;
    if (!run.reconnecting(SendPhase.RECONNECTING)) return;
    while (sender.state === SenderState.RECONNECTING) {
      const spaced = new Promise((resolve) => setTimeout(resolve, ATTEMPT_SPACING_MS));
      try {
        const { channel, route } = await link.reconnect();
        run.route = route;
        if (sender.resume(channel)) route.then((shown) => shown && this.#onRoute(shown));
        return;
      } catch (error) {
        // Only a connection that did not open is tried again: a refusal stands.
        if (!(error instanceof LinkError)) sender.abort(error.message, error.errorId ?? undefined);
      }
      await spaced;
    }
  }
}
