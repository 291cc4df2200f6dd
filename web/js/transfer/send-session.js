/**
 * One send, from start to end: get a code from the server, wait for the receiver,
 * open the channel, run the Sender, close. No DOM: the page hands it files and a
 * cancel, and renders the phase it reports. The counterpart of `send` in
 * peer/transfer/session.py.
 * @module transfer/send-session
 */

import { ask, openChannel } from "../signalling/link.js";
import { SocketClient } from "../signalling/socketio.js";
import { Sender } from "./machines.js";
import { neutralised } from "../protocol/protocol.js";
import { Run } from "./run.js";

/**
 * Where a send is. Each phase's `detail`:
 * idle, requesting-code {}; waiting-for-receiver {code, link, expiresIn} (seconds);
 * connecting, awaiting-accept {}; sending {totalBytes}; then one ending:
 * delivered {files}; failed {reason} (words for the person); cancelled {} (this side
 * cancelled); expired {} (nobody used the code in time).
 */
export const SendPhase = Object.freeze({
  IDLE: "idle",
  REQUESTING_CODE: "requesting-code",
  WAITING_FOR_RECEIVER: "waiting-for-receiver",
  CONNECTING: "connecting",
  AWAITING_ACCEPT: "awaiting-accept",
  SENDING: "sending",
  DELIVERED: "delivered",
  FAILED: "failed",
  CANCELLED: "cancelled",
  EXPIRED: "expired",
});

const ENDINGS = new Set([SendPhase.DELIVERED, SendPhase.FAILED, SendPhase.CANCELLED, SendPhase.EXPIRED]);
/** Until the receiver turns up, more files join the same offer. */
const OPEN_TO_FILES = new Set([SendPhase.IDLE, SendPhase.REQUESTING_CODE, SendPhase.WAITING_FOR_RECEIVER]);

export class SendSession {
  #run;
  #files = [];
  #origin;
  #onProgress;
  #onDelivered;

  /**
   * @param {{origin?: string, onPhase?: (change: {phase: string, detail: object}) => void,
   *   onProgress?: (progress: {index: number, fileBytes: number, sentBytes: number}) => void,
   *   onDelivered?: (index: number) => void}} [options] `origin` is the server's (the
   *   share link points there too); `onDelivered` is told as the receiver verifies each file.
   */
  constructor({ origin = location.origin, onPhase = () => {}, onProgress = () => {}, onDelivered = () => {} } = {}) {
    this.#origin = origin;
    this.#run = new Run("send session", SendPhase.IDLE, ENDINGS, onPhase);
    this.#onProgress = onProgress;
    this.#onDelivered = onDelivered;
  }

  get phase() {
    return this.#run.phase;
  }

  /** The files on offer so far (a copy). */
  get files() {
    return [...this.#files];
  }

  /** True while files can still join the offer. */
  get takesFiles() {
    return OPEN_TO_FILES.has(this.phase);
  }

  /**
   * Add files to the offer; the first call asks the server for a code. Returns false
   * (and takes nothing) once the receiver has arrived or the send has ended.
   * @param {File[]} files
   */
  addFiles(files) {
    if (!this.takesFiles || !files.length) return false;
    this.#files.push(...files);
    if (this.phase === SendPhase.IDLE) this.#requestCode();
    return true;
  }

  /** Stop the send and tell the receiver, over the channel and through the server. */
  cancel() {
    const run = this.#run;
    if (run.over) return;
    const reason = "the sender cancelled";
    run.transfer?.cancel(reason);
    const told = run.socket?.connected ? ask(run.socket, "cancel", { reason }).catch(() => {}) : undefined;
    run.end(SendPhase.CANCELLED, {}, told);
  }

  #fail(reason) {
    this.#run.end(SendPhase.FAILED, { reason });
  }

  async #requestCode() {
    const run = this.#run;
    run.set(SendPhase.REQUESTING_CODE);
    let created;
    try {
      run.socket = await SocketClient.connect(this.#origin);
      if (run.endedMeanwhile()) return;
      created = await ask(run.socket, "create");
    } catch (error) {
      this.#fail(`could not get a code (${error.message})`);
      return;
    }
    if (run.endedMeanwhile()) return;
    const { code, expires_in: expiresIn, ice_servers: iceServers } = created;
    this.#listen(run.socket, iceServers);
    run.set(SendPhase.WAITING_FOR_RECEIVER, { code, link: `${this.#origin}/#${code}`, expiresIn });
  }

  #listen(socket, iceServers) {
    const run = this.#run;
    socket.on("peer_joined", () => this.#connect(iceServers));
    socket.on("expired", () => run.end(SendPhase.EXPIRED));
    socket.on("cancelled", ({ reason }) => {
      run.transfer?.abort(`the receiver cancelled${reason ? `: ${neutralised(reason)}` : ""}`);
      if (!run.transfer) this.#fail("the receiver cancelled");
    });
    socket.on("peer_left", () => {
      run.transfer?.abort("the receiver left before the transfer finished");
      if (!run.transfer) this.#fail("the receiver left before the transfer started");
    });
    socket.on("disconnect", () => {
      // Once the data channel is up the server is no longer needed.
      if (!run.transfer) this.#fail("lost the connection to the server");
    });
  }

  async #connect(iceServers) {
    const run = this.#run;
    if (!run.set(SendPhase.CONNECTING)) return;
    try {
      const { pc, channel } = await openChannel(run.socket, iceServers, "sender");
      run.pc = pc;
      if (run.endedMeanwhile()) return;
      run.set(SendPhase.AWAITING_ACCEPT);
      const files = this.files;
      run.transfer = new Sender(channel, files, {
        onAccepted: () => run.set(SendPhase.SENDING, { totalBytes: files.reduce((sum, f) => sum + f.size, 0) }),
        onProgress: this.#onProgress,
        onDelivered: this.#onDelivered,
      });
      await run.transfer.run();
      run.end(SendPhase.DELIVERED, { files });
    } catch (error) {
      this.#fail(error.message);
    }
  }
}
