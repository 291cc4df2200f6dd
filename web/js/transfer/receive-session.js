/**
 * One receive, from start to end: join a code, open the channel, show the offer, run
 * the Receiver, tell the server, close. No DOM: the page hands it the code and the
 * person's decision, and renders the phase it reports. The counterpart of `receive`
 * in peer/transfer/session.py.
 * @module transfer/receive-session
 */

import { ServerError, ask, openChannel } from "../signalling/link.js";
import { SocketClient } from "../signalling/socketio.js";
import { Receiver, ReceiverState } from "./machines.js";
import { InvalidCode, formatCode, neutralised, normalizeCode } from "../protocol/protocol.js";
import { ErrorId } from "../protocol/errors.js";
import { Run } from "./run.js";

/**
 * Where a receive is. Each phase's `detail`:
 * idle {}; joining {code} (display form); refused {reason, by} when the code was not
 * taken: `by` is "code" (not a SendIt code: `reason` says why), "server" (`reason` is
 * the server's error text, `retryAfter` its seconds to wait or null) or "network" (the
 * server could not be reached); a refused
 * receive can join again. Then connecting, waiting-for-offer {}; offered {files,
 * totalBytes} (the manifest's entries) until accept() or decline(); receiving
 * {totalBytes}; then one ending: received {files}; declined {} (this side declined);
 * cancelled (the sender called it off) or failed, both {reason, errorId, said, file}:
 * `reason` is the words to fall back on, `errorId` why (null when the server or the
 * network ended it), `said` the sender's own words if it ended the receive (else null),
 * `file` the name of the file it concerns (the one being received), or null.
 */
export const ReceivePhase = Object.freeze({
  IDLE: "idle",
  JOINING: "joining",
  REFUSED: "refused",
  CONNECTING: "connecting",
  WAITING_FOR_OFFER: "waiting-for-offer",
  OFFERED: "offered",
  RECEIVING: "receiving",
  RECEIVED: "received",
  DECLINED: "declined",
  CANCELLED: "cancelled",
  FAILED: "failed",
});

/** The detail of a cancelled or failed receive. */
const ending = (reason, errorId = null, said = null, file = null) => ({ reason, errorId, said, file });

const ENDINGS = new Set([ReceivePhase.RECEIVED, ReceivePhase.DECLINED, ReceivePhase.CANCELLED, ReceivePhase.FAILED]);
const MAY_JOIN = new Set([ReceivePhase.IDLE, ReceivePhase.REFUSED]);

export class ReceiveSession {
  #run;
  #origin;
  #onProgress;
  #onFile;
  /** Settles the offer with the person's answer while the phase is `offered`. */
  #decide = null;

  /**
   * @param {{origin?: string, onPhase?: (change: {phase: string, detail: object}) => void,
   *   onProgress?: (progress: {index: number, fileBytes: number, receivedBytes: number}) => void,
   *   onFile?: (file: {index: number, entry: {name: string, size: number, type: string}, blob: Blob}) => void}}
   *   [options] `onFile` is handed each file once it is verified, and nothing unverified ever.
   */
  constructor({ origin = location.origin, onPhase = () => {}, onProgress = () => {}, onFile = () => {} } = {}) {
    this.#origin = origin;
    this.#run = new Run("receive session", ReceivePhase.IDLE, ENDINGS, onPhase);
    this.#onProgress = onProgress;
    this.#onFile = onFile;
  }

  get phase() {
    return this.#run.phase;
  }

  /** The page is closing: cut the connection at once, so the other side learns it now. */
  leave() {
    this.#run.closeNow();
  }

  /**
   * Join the transfer waiting under `text` (a code as typed, or as a link carries it).
   * Does nothing unless idle or refused.
   */
  async join(text) {
    const run = this.#run;
    if (!MAY_JOIN.has(run.phase)) return;
    let code;
    try {
      code = formatCode(normalizeCode(text));
    } catch (error) {
      if (!(error instanceof InvalidCode)) throw error;
      run.set(ReceivePhase.REFUSED, { reason: error.message, by: "code" });
      return;
    }
    run.set(ReceivePhase.JOINING, { code });
    let joined;
    try {
      run.socket = await SocketClient.connect(this.#origin);
      joined = await ask(run.socket, "join", { code });
    } catch (error) {
      // Nothing has started: the person may correct the code and try again.
      run.socket?.close();
      run.socket = null;
      const refusal = error instanceof ServerError
        ? { reason: error.message, by: "server", retryAfter: error.retryAfter }
        : { reason: error.message, by: "network" };
      run.set(ReceivePhase.REFUSED, refusal);
      return;
    }
    await this.#receive(run.socket, joined.ice_servers);
  }

  /** Take the offered files. */
  accept() {
    this.#decide?.(true);
  }

  /** Turn the offer down; the sender is told. */
  decline() {
    this.#decide?.(false);
  }

  /** The server decides until the channel is open; from then on only the channel does. */
  #listen(socket) {
    const run = this.#run;
    socket.on("cancelled", ({ reason }) => {
      if (!run.transfer) run.end(ReceivePhase.CANCELLED, ending("the sender cancelled", "cancelled", reason ? neutralised(reason) : ""));
    });
    socket.on("peer_left", () => {
      if (!run.transfer) this.#fail("the sender left before the transfer started");
    });
    socket.on("disconnect", () => {
      if (!run.transfer) this.#fail("lost the connection to the server");
    });
  }

  /** Failed before the channel opened. */
  #fail(reason) {
    this.#run.end(ReceivePhase.FAILED, ending(reason));
  }

  async #receive(socket, iceServers) {
    const run = this.#run;
    this.#listen(socket);
    run.set(ReceivePhase.CONNECTING);
    let pc, channel;
    try {
      ({ pc, channel } = await openChannel(socket, iceServers, "receiver", {
        onExtraChannel: (extra) => {
          extra.close();
          run.transfer.fail(ErrorId.PROTOCOL_ERROR, "the sender opened more than one data channel");
        },
      }));
    } catch (error) {
      this.#fail(error.message);
      return;
    }
    run.pc = pc;
    if (run.endedMeanwhile()) return;
    run.set(ReceivePhase.WAITING_FOR_OFFER);
    const offered = [];
    const verified = [];
    const receiver = new Receiver(channel, {
      onManifest: (files) => {
        offered.push(...files);
        return this.#offer(files);
      },
      onProgress: this.#onProgress,
      onFile: (index, blob) => {
        verified.push(index);
        this.#onFile({ index, entry: offered[index], blob });
      },
    });
    run.transfer = receiver;
    try {
      const files = await receiver.run();
      if (files) {
        // The server learns the pair is finished; the channel already knows.
        const told = ask(socket, "done").catch(() => {});
        run.end(ReceivePhase.RECEIVED, { files }, Promise.all([told, receiver.closed]));
      } else {
        run.end(ReceivePhase.DECLINED, {}, receiver.closed);
      }
    } catch (error) {
      const { message, errorId = null, said = null } = error;
      const phase = receiver.state === ReceiverState.CANCELLED ? ReceivePhase.CANCELLED : ReceivePhase.FAILED;
      run.end(phase, ending(message, errorId, said, offered[verified.length]?.name), receiver.closed);
    }
  }

  async #offer(files) {
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    const answer = new Promise((resolve) => (this.#decide = resolve));
    this.#run.set(ReceivePhase.OFFERED, { files, totalBytes });
    const accepted = await answer;
    this.#decide = null;
    if (accepted) this.#run.set(ReceivePhase.RECEIVING, { totalBytes });
    return accepted;
  }
}
