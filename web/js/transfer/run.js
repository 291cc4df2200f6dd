/**
 * What the send and the receive session share: one named phase that every transition
 * goes through, the connections the run holds, and its ending. The first ending wins:
 * the ones that follow from it (the peer reacting, a late answer) change nothing.
 * No DOM.
 * @module transfer/run
 */

import { ErrorId } from "../protocol/errors.js";
import { FAILURES } from "../protocol/ice.js";
import { clip } from "../protocol/protocol.js";
import { ServerError, ask, toldByPeer } from "../signalling/link.js";

/** The ids of refusals this side finds in the handshake, and of a connection that did not
 * open (PROTOCOL.md 3.5): the peer hears them through the server, which is all there is
 * until the channel opens, rather than only that this side left. */
const TOLD_THROUGH_SERVER = new Set([
  ErrorId.WRONG_CODE,
  ErrorId.TAMPERED,
  ErrorId.BAD_HANDSHAKE,
  ErrorId.PROTOCOL_ERROR,
  ...FAILURES,
]);

/**
 * The detail of a run that ended badly: `reason`, words to fall back on; `errorId`, why
 * (what the page words it by; null when only the words say); `source`, who found it:
 * "here", "peer" (its cancel or error; `said` is then its own words, shown safe) or
 * "server" (it refused a request); `file`, the name of the file it concerns, or null;
 * `retryAfter`, the seconds the server asks to wait, or null; `peer`, when this side
 * gave up on hearing that the other could not connect, what that one told
 * ({errorId, said}: its id and words, shown beside this side's own, never in their
 * place), else null.
 */
export function ending(
  reason,
  { errorId = null, source = "here", said = null, file = null, retryAfter = null, peer = null } = {},
) {
  return { reason, errorId, source, said, file, retryAfter, peer };
}

/** The ending an error (a TransferError, LinkError, ServerError, HandshakeError) brings. */
export function endingOf(error, { reason = error.message, file = null } = {}) {
  const { errorId = null, said = null, retryAfter = null, peer = null } = error;
  const source = error instanceof ServerError ? "server" : said === null ? "here" : "peer";
  return ending(reason, { errorId, source, said, file, retryAfter, peer });
}

/** The ending the server's `cancelled` brings, before the channel opened: the peer's id
 * and words. Null while `connecting` if the peer could not connect (3.5): the link then
 * gives up with this side's own diagnosis. */
export function cancelledByPeer(payload, reason, connecting) {
  const { errorId, said } = toldByPeer(payload);
  if (connecting && FAILURES.has(errorId)) return null;
  return ending(reason, { errorId, source: "peer", said });
}

export class Run {
  #name;
  #phase;
  #endings;
  #onPhase;
  /** Resolves once the ending's last word to the server is out (see {@link Run#end}). */
  #lastWord = null;
  /** What the server said while the channel worked that no new connection could get
   * past (the peer left it, or this side lost it): ends the run at the next loss. */
  #unrestorable = null;
  /** @type {import("../signalling/socketio.js").SocketClient | null} */
  socket = null;
  /** @type {import("../signalling/link.js").Link | null} the peer connections */
  link = null;
  /** @type {import("./machines.js").Sender | import("./machines.js").Receiver | null} */
  transfer = null;
  /** Settles with how the channel went once it is open (a Route of protocol/ice.js, or null). */
  route = Promise.resolve(null);

  /**
   * @param {string} name for the log
   * @param {string} initial phase
   * @param {Set<string>} endings the phases a run never leaves
   * @param {(change: {phase: string, detail: object}) => void} onPhase
   */
  constructor(name, initial, endings, onPhase) {
    this.#name = name;
    this.#phase = initial;
    this.#endings = endings;
    this.#onPhase = onPhase;
  }

  get phase() {
    return this.#phase;
  }

  get over() {
    return this.#endings.has(this.#phase);
  }

  /** Move to `phase` and tell the listener; false (and nothing happens) once the run is over. */
  set(phase, detail = {}) {
    if (this.over) return false;
    console.debug(`${this.#name}: ${this.#phase} → ${phase}`, detail);
    this.#phase = phase;
    this.#onPhase({ phase, detail });
    return true;
  }

  /** End in `phase`, unless over already. The connections close once `settled` has, so a
   * last word (a cancel, a done) can still go out. */
  end(phase, detail = {}, settled) {
    if (this.over) return;
    this.#lastWord = Promise.resolve(settled);
    this.#lastWord.finally(() => this.#close());
    this.set(phase, detail);
  }

  /**
   * `handler` of the server's word (its `peer_left`, `cancelled`, `expired`, or losing
   * it): it decides until the channel is open, and while a lost one is being restored
   * (`reconnecting` is that phase), when it ends the transfer too. Said while the
   * channel works, it changes nothing yet, but a new connection goes through the server
   * to the peer there: the next loss then ends the run at once (see `reconnecting`).
   */
  fromServer(handler, reconnecting) {
    return (payload) => {
      const end = () => {
        handler(payload);
        this.transfer.abort("the connection cannot be restored without the server");
      };
      if (!this.transfer) handler(payload);
      else if (this.phase === reconnecting) end();
      else this.#unrestorable ??= end;
    };
  }

  /** The channel was lost mid-transfer: the run goes to `phase`, the reconnecting one;
   * false if the server said already what keeps a new connection from it (and the run
   * ended so). */
  reconnecting(phase) {
    this.set(phase);
    this.#unrestorable?.();
    return !this.#unrestorable;
  }

  /** The run got every file through: the server learns the pair is finished, and how it went. */
  async done() {
    const route = await this.route;
    return ask(this.socket, "done", route ? { route } : {}).catch(() => {});
  }

  /** End in `phase` because `error` stopped the connection being set up; what this side
   * found wrong in the handshake, the peer is told through the server. */
  refuse(phase, error) {
    // One that gave up on hearing the other could not connect leaves a pair already over.
    const tell = TOLD_THROUGH_SERVER.has(error.errorId) && !error.peer && this.socket?.connected;
    const payload = { error_id: error.errorId, reason: clip(error.message) };
    this.end(phase, endingOf(error), tell ? ask(this.socket, "cancel", payload).catch(() => {}) : undefined);
  }

  /** For after a wait: true if the run ended meanwhile, and then what came up since
   * (a socket, a peer connection) closes too. */
  endedMeanwhile() {
    if (!this.over) return false;
    (this.#lastWord ?? Promise.resolve()).finally(() => this.#close());
    return true;
  }

  /** The page is going away: close the connections now, so that the peer's channel
   * closes at once, not when ICE gives up on this page (some 30 s later). */
  closeNow() {
    this.#close();
  }

  #close() {
    this.link?.close();
    this.socket?.close();
  }
}
