/**
 * One receive, from start to end: read the code, join its slot, run the handshake and
 * open the channel, show the offer, run the Receiver, tell the server, close. No DOM:
 * the page hands it the code and the person's decision, and renders the phase it
 * reports. The counterpart of `receive` in peer/transfer/session.py.
 * @module transfer/receive-session
 */

import { InvalidCode } from "../protocol/codes.js";
import { ErrorId } from "../protocol/errors.js";
import { Handshake } from "../protocol/handshake.js";
import { Policy } from "../protocol/ice.js";
import { PROTOCOL_VERSION } from "../protocol/protocol.js";
import { Link, ServerError, ask, refusedPolicy } from "../signalling/link.js";
import { SocketClient } from "../signalling/socketio.js";
import { codeWords } from "../signalling/words.js";
import { RECONNECT_GRACE_MS, Receiver, ReceiverState } from "./machines.js";
import { Run, cancelledByPeer, ending, endingOf } from "./run.js";

/**
 * Where a receive is. Each phase's `detail`:
 * idle {}; joining {code} (canonical form); refused {reason, by, errorId, retryAfter}
 * when the code was not taken, nothing having been sent that could use it up: `by` is
 * "code" (what was typed is no code: `reason` says why, naming the word that is not a
 * code word), "server" (the server's `errorId` and words, `retryAfter` its seconds to
 * wait or null) or "network" (the server could not be reached); a refused receive can
 * join again. Then connecting, waiting-for-offer {}; offered {files, totalBytes} (the
 * manifest's entries) until accept() or decline(); receiving {totalBytes, resumed}
 * (`resumed` true when it goes on after reconnecting); reconnecting {} (the connection
 * was lost mid-transfer, and the sender is making a new one); then one ending: received
 * {files}; declined {} (this side declined); cancelled, a Run ending (see run.js): the
 * sender called it off (source "peer"), or this side did (`cancel()`, source "here");
 * or failed, a Run ending whose `file` is the one being received.
 */
export const ReceivePhase = Object.freeze({
  IDLE: "idle",
  JOINING: "joining",
  REFUSED: "refused",
  CONNECTING: "connecting",
  WAITING_FOR_OFFER: "waiting-for-offer",
  OFFERED: "offered",
  RECEIVING: "receiving",
  RECONNECTING: "reconnecting",
  RECEIVED: "received",
  DECLINED: "declined",
  CANCELLED: "cancelled",
  FAILED: "failed",
});

const ENDINGS = new Set([ReceivePhase.RECEIVED, ReceivePhase.DECLINED, ReceivePhase.CANCELLED, ReceivePhase.FAILED]);
const MAY_JOIN = new Set([ReceivePhase.IDLE, ReceivePhase.REFUSED]);
/** Where the sender may offer a new connection: the files are under way. */
const UNDER_WAY = new Set([ReceivePhase.RECEIVING, ReceivePhase.RECONNECTING]);

export class ReceiveSession {
  #run;
  #origin;
  #onProgress;
  #onFile;
  #relayOnly;
  #onRoute;
  #graceMs;
  /** Settles the offer with the person's answer while the phase is `offered`. */
  #decide = null;

  /**
   * @param {{origin?: string, onPhase?: (change: {phase: string, detail: object}) => void,
   *   onProgress?: (progress: {index: number, fileBytes: number, receivedBytes: number}) => void,
   *   onFile?: (file: {index: number, entry: {name: string, size: number, type: string},
   *     saved: {name: string, file?: File}}) => void,
   *   relayOnly?: () => boolean, onRoute?: (route: string) => void}} [options] `onFile` is
   *   handed what the store's commit gave for each file once it is verified, and nothing
   *   unverified ever; `relayOnly`,
   *   asked on joining, whether the person hides their address (only a TURN relay may
   *   then carry the connection); `onRoute` is told how the connection went (a Route of
   *   protocol/ice.js) soon after it opens, beside the phases; `graceMs`, how long a
   *   connection lost mid-transfer may take to come back.
   */
  constructor({
    origin = location.origin,
    onPhase = () => {},
    onProgress = () => {},
    onFile = () => {},
    relayOnly = () => false,
    onRoute = () => {},
    graceMs = RECONNECT_GRACE_MS,
  } = {}) {
    this.#origin = origin;
    this.#graceMs = graceMs;
    this.#relayOnly = relayOnly;
    this.#onRoute = onRoute;
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
   * Does nothing unless idle or refused. A code that does not read as one is refused
   * here, before anything is sent: a typo never uses up the slot.
   */
  async join(text) {
    const run = this.#run;
    if (!MAY_JOIN.has(run.phase)) return;
    const refuse = (reason, by, { errorId = null, retryAfter = null } = {}) => {
      run.socket?.close();
      run.socket = null;
      run.set(ReceivePhase.REFUSED, { reason, by, errorId, retryAfter });
    };
    let code;
    try {
      code = (await codeWords(this.#origin)).parse(text);
    } catch (error) {
      if (error instanceof InvalidCode) refuse(error.message, "code");
      else refuse(error.message, "network");
      return;
    }
    const policy = this.#relayOnly() ? Policy.RELAY : Policy.ALL;
    run.set(ReceivePhase.JOINING, { code: code.canonical });
    let joined, handshake;
    try {
      handshake = await Handshake.create("receiver", code.canonical);
      run.socket = await SocketClient.connect(this.#origin);
      joined = await ask(run.socket, "join", { version: PROTOCOL_VERSION, slot: String(code.slot), pake: handshake.pake });
    } catch (error) {
      // Nothing has started: the person may correct the code and try again.
      if (error instanceof ServerError) refuse(error.message, "server", error);
      else refuse(error.message, "network");
      return;
    }
    // Joined, the code is used up: the sender is told why nothing follows.
    const refused = refusedPolicy(joined.ice_servers, policy);
    if (refused) run.refuse(ReceivePhase.FAILED, refused);
    else await this.#receive(run.socket, { iceServers: joined.ice_servers, policy }, handshake);
  }

  /** Take the offered files into `store` (transfer/store/store.js), which the page chose. */
  accept(store) {
    this.#decide?.(store);
  }

  /** Turn the offer down; the sender is told. */
  decline() {
    this.#decide?.(false);
  }

  /** Stop receiving and tell the sender: over the channel while it is open, else through
   * the server. What was not verified is not kept. */
  cancel() {
    const run = this.#run;
    if (run.over) return;
    const reason = "the receiver cancelled";
    const cancelled = ending("you cancelled the transfer", { errorId: ErrorId.CANCELLED });
    const { transfer } = run;
    transfer?.cancel(reason);
    if (transfer && run.phase !== ReceivePhase.RECONNECTING) {
      run.end(ReceivePhase.CANCELLED, cancelled, transfer.closed);
      return;
    }
    const told = run.socket?.connected ? ask(run.socket, "cancel", { reason }).catch(() => {}) : undefined;
    run.end(ReceivePhase.CANCELLED, cancelled, told);
  }

  /** The server decides until the channel is open, and while it is being restored; the
   * rest of the time only the channel does (see Run.fromServer). */
  #listen(socket) {
    const run = this.#run;
    const untilOpen = (handler) => run.fromServer(handler, ReceivePhase.RECONNECTING);
    socket.on(
      "cancelled",
      untilOpen((payload) => {
        const cancelled = cancelledByPeer(payload, "the sender cancelled", run.phase === ReceivePhase.CONNECTING);
        if (cancelled) run.end(cancelled.errorId === ErrorId.CANCELLED ? ReceivePhase.CANCELLED : ReceivePhase.FAILED, cancelled);
      }),
    );
    socket.on(
      "peer_left",
      untilOpen(() =>
        run.end(
          ReceivePhase.FAILED,
          run.transfer
            ? ending("the sender left before the transfer finished", { errorId: ErrorId.PEER_LEFT })
            : ending("the sender left before the transfer started"),
        ),
      ),
    );
    socket.on("disconnect", untilOpen(() => run.end(ReceivePhase.FAILED, ending("lost the connection to the server"))));
  }

  /** `ice`: the server's `iceServers` and the person's `policy`. */
  async #receive(socket, ice, handshake) {
    const run = this.#run;
    this.#listen(socket);
    run.set(ReceivePhase.CONNECTING);
    let totalBytes = 0;
    const link = new Link({
      socket,
      ...ice,
      role: "receiver",
      handshake,
      onExtraChannel: (extra) => {
        extra.close();
        run.transfer?.fail(ErrorId.PROTOCOL_ERROR, "the sender opened more than one data channel");
      },
      onFailed: () => run.transfer?.lost(),
      mayReconnect: () => UNDER_WAY.has(run.phase),
      // A new offer says the old connection is lost, whether or not this side saw it go.
      onReconnect: (opening) => {
        run.transfer.lost();
        opening.then(
          ({ channel, route }) => {
            run.route = route;
            if (run.transfer.resume(channel)) route.then((shown) => shown && this.#onRoute(shown));
          },
          // The sender tries again while the grace lasts.
          () => {},
        );
      },
    });
    run.link = link;
    let channel;
    try {
      ({ channel, route: run.route } = await link.open());
    } catch (error) {
      run.refuse(ReceivePhase.FAILED, error);
      return;
    }
    if (run.endedMeanwhile()) return;
    run.set(ReceivePhase.WAITING_FOR_OFFER);
    run.route.then((route) => route && this.#onRoute(route));
    const offered = [];
    let verified = 0;
    const receiver = new Receiver(channel, {
      onManifest: (files) => {
        offered.push(...files);
        totalBytes = files.reduce((sum, f) => sum + f.size, 0);
        return this.#offer(files, totalBytes);
      },
      onLost: () => run.reconnecting(ReceivePhase.RECONNECTING),
      onResumed: () => run.set(ReceivePhase.RECEIVING, { totalBytes, resumed: true }),
      graceMs: this.#graceMs,
      onProgress: this.#onProgress,
      onFile: (index, saved) => {
        verified += 1;
        this.#onFile({ index, entry: offered[index], saved });
      },
    });
    run.transfer = receiver;
    try {
      const files = await receiver.run();
      if (files) {
        run.end(ReceivePhase.RECEIVED, { files }, Promise.all([run.done(), receiver.closed]));
      } else {
        run.end(ReceivePhase.DECLINED, {}, receiver.closed);
      }
    } catch (error) {
      const phase = receiver.state === ReceiverState.CANCELLED ? ReceivePhase.CANCELLED : ReceivePhase.FAILED;
      run.end(phase, endingOf(error, { file: offered[verified]?.name ?? null }), receiver.closed);
    }
  }

  async #offer(files, totalBytes) {
    const answer = new Promise((resolve) => (this.#decide = resolve));
    this.#run.set(ReceivePhase.OFFERED, { files, totalBytes });
    const store = await answer;
    this.#decide = null;
    if (store) this.#run.set(ReceivePhase.RECEIVING, { totalBytes, resumed: false });
    return store;
  }
}
