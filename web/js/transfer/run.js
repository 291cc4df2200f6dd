/**
 * What the send and the receive session share: one named phase that every transition
 * goes through, the connections the run holds, and its ending. The first ending wins:
 * the ones that follow from it (the peer reacting, a late answer) change nothing.
 * No DOM.
 * @module transfer/run
 */

export class Run {
  #name;
  #phase;
  #endings;
  #onPhase;
  /** Resolves once the ending's last word to the server is out (see {@link Run#end}). */
  #lastWord = null;
  /** @type {import("../signalling/socketio.js").SocketClient | null} */
  socket = null;
  /** @type {RTCPeerConnection | null} */
  pc = null;
  /** @type {import("./machines.js").Sender | import("./machines.js").Receiver | null} */
  transfer = null;

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
    this.pc?.close();
    this.socket?.close();
  }
}
