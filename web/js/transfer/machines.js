/**
 * The transfer of PROTOCOL.md section 4 over an open RTCDataChannel: a sender and a
 * receiver, each a state machine with the states of peer/transfer/machines.py. No DOM:
 * progress and decisions go through callbacks, so the UI and the tests drive the same
 * code.
 * @module transfer/machines
 */

import { ErrorId, ProtocolError } from "../protocol/errors.js";
import {
  BLOCK_SIZE,
  BlockDigest,
  CHANNEL_LABEL,
  MAX_MESSAGE,
  ManifestParts,
  ResumeParts,
  acceptMessages,
  blockCount,
  clip,
  manifestMessages,
  neutralised,
  parseMessage,
  prefixDigest,
} from "../protocol/protocol.js";

/** Bytes per binary message: well under the 256 KiB both stacks accept. */
export const CHUNK_SIZE = 65536;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
/** The phases before the transfer (PROTOCOL.md 4). A sender sends its manifest the
 * moment the channel opens, so one that has not within the channel-open limit never will. */
export const MANIFEST_MS = 30000;
/** A person reads the offer and decides: as long as the code waited for them to join. */
export const ANSWER_MS = 600000;
/** How long a side that ends waits for its last messages to leave, and a receiver after
 * `done` for the sender to close first. */
export const LINGER_MS = 5000;
/** From losing the channel mid-transfer to a new one open and taken up (PROTOCOL.md 4). */
export const RECONNECT_GRACE_MS = 60000;

export const SenderState = Object.freeze({
  OFFERING: "offering",
  SENDING: "sending",
  RECONNECTING: "reconnecting",
  DELIVERED: "delivered",
  DECLINED: "declined",
  CANCELLED: "cancelled",
  FAILED: "failed",
});

export const ReceiverState = Object.freeze({
  WAITING_FOR_OFFER: "waiting-for-offer",
  DECIDING: "deciding",
  RECEIVING: "receiving",
  RECONNECTING: "reconnecting",
  RECEIVED: "received",
  DECLINED: "declined",
  CANCELLED: "cancelled",
  FAILED: "failed",
});

const ENDINGS = new Set(["delivered", "received", "declined", "cancelled", "failed"]);
/** The states a lost channel can be reconnected in: the bytes are under way. */
const UNDER_WAY = new Set(["sending", "receiving"]);

/** 600000 -> "10 min", 30000 -> "30 s": the words both peers use for a limit. */
const duration = (ms) => (ms >= 60000 ? `${ms / 60000} min` : `${ms / 1000} s`);

/** A transfer that ended without delivery; `message` is meant for the user, `state` is
 * the machine's ending, `errorId` why (null for a decline), and `said` the other side's
 * words, shown safe, if it ended the transfer (its cancel, error or decline), else null. */
export class TransferError extends Error {
  constructor(message, state, errorId, said = null) {
    super(message);
    this.state = state;
    this.errorId = errorId;
    this.said = said;
  }
}

/** The channel went while the transfer can be taken up on a new one: what stops the
 * work on the old channel, caught by the machine's own run. */
class Lost extends Error {
  constructor() {
    super("the connection was lost");
  }
}

/** Resolves once `channel` has sent everything it holds or has closed, or after `ms`. */
function drained(channel, ms) {
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      channel.removeEventListener("bufferedamountlow", check);
      channel.removeEventListener("close", check);
      resolve();
    };
    const check = () => {
      if (channel.bufferedAmount === 0 || channel.readyState !== "open") finish();
    };
    const timer = setTimeout(finish, ms);
    channel.bufferedAmountLowThreshold = 0;
    channel.addEventListener("bufferedamountlow", check);
    channel.addEventListener("close", check);
    check();
  });
}

/** Resolves once the peer has closed `channel`, or after `ms`. */
function peerClosed(channel, ms) {
  if (channel.readyState === "closed") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    channel.addEventListener("close", () => resolve(clearTimeout(timer)), { once: true });
  });
}

/** A data channel's messages in order, taken one at a time; `{closed: true}` once it has closed. */
class Inbox {
  #items = [];
  #arrived = () => {};
  #arrival = this.#renew();
  #stopped = null;
  #markStopped;
  /** Resolves once reading has stopped. */
  stopped = new Promise((resolve) => (this.#markStopped = resolve));

  constructor(channel) {
    channel.binaryType = "arraybuffer";
    channel.addEventListener("message", (event) => this.#push({ data: event.data }));
    channel.addEventListener("close", () => this.#push({ closed: true }));
    if (channel.readyState === "closing" || channel.readyState === "closed") this.#push({ closed: true });
  }

  #renew() {
    return new Promise((resolve) => (this.#arrived = resolve));
  }

  #push(item) {
    if (this.#stopped || this.#items.at(-1)?.closed) return;
    this.#items.push(item);
    const arrived = this.#arrived;
    this.#arrival = this.#renew();
    arrived();
  }

  /** A message is waiting to be taken. */
  get holding() {
    return this.#items.length > 0 && !this.#items[0].closed;
  }

  /** Resolves once something can be taken, or reading has stopped. */
  async ready() {
    while (!this.#items.length && !this.#stopped) await this.#arrival;
  }

  /** End reading at once: what is queued is dropped, and every later `next()` throws
   * `error`; an ending's error takes the place of a loss's. */
  stop(error) {
    if (!this.#stopped || this.#stopped instanceof Lost) this.#stopped = error;
    this.#items = [];
    this.#arrived();
    this.#markStopped();
  }

  /** Throws the error reading stopped with, if it has. */
  check() {
    if (this.#stopped) throw this.#stopped;
  }

  /** The next item: `{data}`, or `{closed: true}` (for good) once the channel has closed. */
  async next() {
    await this.ready();
    this.check();
    return this.#items[0].closed ? this.#items[0] : this.#items.shift();
  }
}

/** What both machines share: the channel, the state, and the three ways to end. */
class Transfer {
  #name;
  #state;
  #closedMessage;
  /** The TransferError the run ended with, unless it succeeded. */
  #failure = null;
  #closed;
  #markClosed;
  /** Reconnection: who is told of a loss (null: nobody, so a loss fails the run), whether
   * both sides agreed to it, and, while reconnecting, the state to go back to, the grace
   * timer and the hand that takes the new channel. */
  #onLost;
  #onResumed;
  #graceMs;
  #reconnectable = false;
  #resumeState = null;
  #grace = null;
  #takeChannel = null;
  /** A new channel that opened before the run saw the old one go. */
  #pending = null;
  #over;
  #markOver;

  /**
   * @param {RTCDataChannel} channel
   * @param {string} name for the log
   * @param {string} initial state
   * @param {string} closedMessage the ending when the channel closes too early
   * @param {{onLost?: (() => void) | null, onResumed?: () => void, graceMs?: number}} [reconnection]
   *   `onLost` is told when the channel is lost mid-transfer and the run waits for
   *   `resume()` with a new one, at most `graceMs` from the loss; `onResumed` when it
   *   goes on on the new one
   */
  constructor(
    channel,
    name,
    initial,
    closedMessage,
    { onLost = null, onResumed = () => {}, graceMs = RECONNECT_GRACE_MS } = {},
  ) {
    this.channel = channel;
    this.inbox = new Inbox(channel);
    this.#name = name;
    this.#state = initial;
    this.#closedMessage = closedMessage;
    this.#onLost = onLost;
    this.#onResumed = onResumed;
    this.#graceMs = graceMs;
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
    this.#over = new Promise((resolve) => (this.#markOver = resolve));
  }

  /** Both sides said they can take the transfer up on a new channel (PROTOCOL.md 4). */
  agreeToReconnect() {
    this.#reconnectable = this.#onLost !== null;
  }

  /** The connection is gone, whatever the channel says yet (its peer connection failed, or
   * the peer offers a new one): mid-transfer, the run waits for a new channel; else the
   * channel's own closing decides. */
  lost() {
    if (this.#reconnectable && UNDER_WAY.has(this.#state)) this.inbox.stop(new Lost());
  }

  /** The channel closed, or is closing. */
  channelGone() {
    if (this.#reconnectable && UNDER_WAY.has(this.#state)) this.inbox.stop(new Lost());
    else this.channelClosed();
  }

  /** Take the transfer up on `channel`, newly open; false (and it is closed) unless the
   * run can be reconnected. The run may not have seen the old channel go yet: then it
   * takes this one when it does. */
  resume(channel) {
    if (this.#takeChannel) {
      this.#takeChannel(channel);
      return true;
    }
    this.#pending?.close();
    this.#pending = null;
    if (this.finished || !this.#reconnectable) {
      channel.close();
      return false;
    }
    this.#pending = channel;
    return true;
  }

  /** After a Lost: wait for the new channel (told to `onLost`), within the grace. */
  async reconnect() {
    this.checkEnded(); // as the channel went
    this.#resumeState ??= this.#state;
    this.setState("reconnecting");
    // One grace from the first loss, however many channels open and go before it is over.
    this.#grace ??= setTimeout(
      () => this.abort(`the connection was lost and could not be restored within ${duration(this.#graceMs)}`),
      this.#graceMs,
    );
    const channel = new Promise((resolve) => (this.#takeChannel = resolve));
    if (this.#pending) this.#takeChannel(this.#pending);
    this.#pending = null;
    this.#onLost();
    const taken = await Promise.race([channel, this.#over]);
    this.#takeChannel = null;
    this.checkEnded();
    this.channel = taken;
    this.inbox = new Inbox(taken);
    this.setState(this.#resumeState);
    this.#onResumed();
  }

  /** Throws if the run ended meanwhile; a loss shows at the next read instead. */
  checkEnded() {
    if (this.finished) this.inbox.check();
  }

  /** The peer took the transfer up on the new channel: the grace is over. */
  reconnected() {
    clearTimeout(this.#grace);
    this.#grace = null;
    this.#resumeState = null;
  }

  get state() {
    return this.#state;
  }

  get finished() {
    return ENDINGS.has(this.#state);
  }

  /** Why the run ended: the error id it was called off or failed with, else null. */
  get errorId() {
    return this.#failure?.errorId ?? null;
  }

  /** Resolves once the run has ended and closed its channel, its last words let out
   * first: then the connection may close. */
  get closed() {
    return this.#closed;
  }

  /** The one place the state changes. */
  setState(next) {
    console.debug(`${this.#name}: ${this.#state} → ${next}`);
    this.#state = next;
  }

  /** We call the transfer off: the peer is told `cancel`. */
  cancel(reason, errorId = ErrorId.CANCELLED, localMessage = "the transfer was cancelled") {
    this.#end("cancelled", { errorId, localMessage, told: { type: "cancel", reason: clip(reason), error_id: errorId } });
  }

  /** The peer broke the protocol, or this side cannot go on: the peer is told `error`. */
  fail(errorId, message, localMessage = errorId === ErrorId.PROTOCOL_ERROR ? `protocol error: ${message}` : message) {
    this.#end("failed", { errorId, localMessage, told: { type: "error", message: clip(message), error_id: errorId } });
  }

  /** Something outside the channel ended the transfer: nobody is told. */
  abort(reason, errorId = ErrorId.PEER_LEFT) {
    this.#end("failed", { errorId, localMessage: reason });
  }

  /** The channel closed before the run ended. */
  channelClosed() {
    this.abort(this.#closedMessage);
  }

  /** Ends in `state` without a failure; the channel closes once `closing` resolves. */
  succeed(state, closing) {
    this.#end(state, { closing });
  }

  /** Ends declined: `told`, the receiver tells the sender; else the sender heard it. */
  declined(told) {
    this.#end("declined", told ? { told: { type: "decline" } } : { localMessage: "the receiver declined the files", said: "" });
  }

  /** The first ending wins. Whoever sends the last word lets it leave before closing. */
  #end(state, { errorId = null, localMessage = null, told = null, closing = Promise.resolve(), said = null }) {
    if (this.finished) return;
    if (told) {
      this.send(told);
      closing = drained(this.channel, LINGER_MS);
    }
    this.setState(state);
    clearTimeout(this.#grace);
    this.#pending?.close();
    if (localMessage !== null) this.#failure = new TransferError(localMessage, state, errorId, said);
    this.inbox.stop(this.#failure ?? new TransferError("the transfer is over", state, null));
    this.#markOver();
    closing.then(() => this.channel.close()).finally(this.#markClosed);
  }

  send(message) {
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify(message));
  }

  /** The next message as it came: a string, or an ArrayBuffer of 1 to MAX_MESSAGE bytes. */
  async nextData() {
    const item = await this.inbox.next();
    if (item.closed) {
      this.channelGone();
      this.inbox.check();
    }
    const { data } = item;
    if (typeof data !== "string" && (data.byteLength < 1 || data.byteLength > MAX_MESSAGE)) {
      throw new ProtocolError(`a binary message must be 1 to ${MAX_MESSAGE} bytes`);
    }
    return data;
  }

  /** The next text message, validated. */
  async nextMessage() {
    const data = await this.nextData();
    if (typeof data !== "string") throw new ProtocolError("unexpected binary message");
    return this.parseText(data);
  }

  /** A text message, validated; the other side's cancel or error ends the transfer here. */
  parseText(data) {
    const message = parseMessage(data);
    if (message.type === "cancel") {
      const said = neutralised(message.reason);
      const localMessage = `cancelled by the other side${said ? `: ${said}` : ""}`;
      this.#end("cancelled", { errorId: message.error_id, localMessage, said });
    } else if (message.type === "error") {
      const said = neutralised(message.message);
      this.#end("failed", { errorId: message.error_id, localMessage: `the other side reported an error: ${said}`, said });
    }
    this.inbox.check();
    return message;
  }

  /** `step`, unless `ms` pass first: then `expire()` ends the run. */
  async within(step, ms, expire) {
    const timer = setTimeout(expire, ms);
    try {
      return await step;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Run `body`; a protocol error is reported to the peer, and the run rejects with how it ended. */
  async guard(body) {
    try {
      return await body();
    } catch (error) {
      if (error instanceof ProtocolError) this.fail(error.errorId, error.message);
      else if (!(error instanceof TransferError)) throw error;
      throw this.#failure ?? error;
    }
  }
}

/** Throws unless `channel` is the one ordered, reliable `sendit` channel a sender creates. */
function checkChannel({ label, ordered, maxRetransmits, maxPacketLifeTime }) {
  if (label !== CHANNEL_LABEL || !ordered || maxRetransmits !== null || maxPacketLifeTime !== null) {
    throw new ProtocolError(`the data channel must be the ordered, reliable one labelled "${CHANNEL_LABEL}"`);
  }
}

/**
 * Sends File objects. Progress: `onProgress({index, fileBytes, sentBytes, heldBytes})`
 * while sending (`sentBytes` went over the channel, again after a reconnection;
 * `heldBytes` the receiver already had, so they were not sent), `onDelivered(index)` once
 * the receiver has verified a file this side finished. `answerMs` is how long the
 * receiver may take to accept or decline; `onLost` and `graceMs` as for reconnection
 * (see Transfer).
 */
export class Sender extends Transfer {
  #halted = false;
  /** How many files have had their file-end sent, and been verified by the receiver. */
  #ended = 0;
  #verified = 0;
  /** The receiver's resume entries of its accept, by index: {blocks, digest}. */
  #held = new Map();
  #sentBytes = 0;
  #heldBytes = 0;

  constructor(
    channel,
    files,
    {
      onAccepted = () => {},
      onProgress = () => {},
      onDelivered = () => {},
      answerMs = ANSWER_MS,
      onLost,
      onResumed,
      graceMs,
    } = {},
  ) {
    super(channel, "sender", SenderState.OFFERING, "the receiver left before the transfer finished", {
      onLost,
      onResumed,
      graceMs,
    });
    this.files = files;
    this.callbacks = { onAccepted, onProgress, onDelivered };
    this.answerMs = answerMs;
    channel.bufferedAmountLowThreshold = LOW_WATER;
  }

  /** Resolves when every file is delivered and verified; rejects with TransferError otherwise. */
  run() {
    return this.guard(async () => {
      // This side takes resume entries, answers them with file-from, and reconnects.
      for (const message of manifestMessages(this.files, { resume: true })) this.send(message);
      const limit = duration(this.answerMs);
      const answer = await this.within(this.#readAnswer(), this.answerMs, () =>
        this.cancel(
          `the offer was not answered within ${limit}`,
          ErrorId.OFFER_TIMEOUT,
          `the receiver did not answer the offer within ${limit}`,
        ),
      );
      if (answer.type === "decline") {
        this.declined(false);
        this.inbox.check();
      }
      this.setState(SenderState.SENDING);
      this.callbacks.onAccepted();
      let from = null;
      for (let lost = false; ; ) {
        try {
          if (lost) from = await this.#takeUp();
          await this.#sendFrom(from);
          break;
        } catch (error) {
          if (!(error instanceof Lost)) throw error;
          lost = true;
        }
      }
      // The receiver has everything: nothing of ours is left to go out.
      this.succeed(SenderState.DELIVERED);
    });
  }

  /** The receiver's decline, or its accept with every resume entry it announced. */
  async #readAnswer() {
    const answer = await this.nextMessage();
    if (answer.type === "decline") return answer;
    if (answer.type !== "accept") throw new ProtocolError(`expected accept, got ${answer.type}`);
    // A receiver that knows resume always says how many entries follow; one that does
    // not gets every file whole and no reconnection.
    if (answer.resume_count === undefined) return answer;
    this.agreeToReconnect();
    const parts = new ResumeParts(this.files, answer);
    while (!parts.complete) parts.add(await this.nextMessage());
    this.#held = parts.entries;
    return answer;
  }

  /** On a new channel: the receiver's `continue` says where it stands. */
  async #takeUp() {
    await this.reconnect();
    this.channel.bufferedAmountLowThreshold = LOW_WATER;
    const message = await this.nextMessage();
    if (message.type !== "continue") throw new ProtocolError(`expected continue, got ${message.type}`);
    const { index, blocks } = message;
    if (index < this.#verified || index > this.#ended || index >= this.files.length) {
      throw new ProtocolError(`continue from file ${index}, not one from ${this.#verified} to ${this.#ended}`);
    }
    if (blocks > blockCount(this.files[index].size)) {
      throw new ProtocolError(`continue with ${blocks} blocks of file ${index}, which has ${blockCount(this.files[index].size)}`);
    }
    this.reconnected();
    // What the receiver verified before it says so: its file-ok went down with the channel.
    for (; this.#verified < index; this.#verified += 1) this.callbacks.onDelivered(this.#verified);
    this.#ended = index;
    return message;
  }

  /** Sends from `from` (the receiver's `continue`, or the start), reading its answers meanwhile. */
  async #sendFrom(from) {
    this.#halted = false;
    // Acknowledgements are read while sending, so a cancel or error stops the pump.
    const tasks = [this.#pump(from), this.#readAcknowledgements()];
    for (const task of tasks) task.catch((error) => (this.#halted ||= !(error instanceof Lost)));
    try {
      await Promise.all(tasks);
    } catch (error) {
      // Both stop on a lost channel; neither may still be at work when the next one opens.
      if (error instanceof Lost) await Promise.allSettled(tasks);
      throw error;
    }
  }

  async #pump(from) {
    for (let index = from?.index ?? 0; index < this.files.length; index++) {
      const file = this.files[index];
      const claim = from?.index === index ? from : this.#held.get(index);
      let digest = new BlockDigest();
      let start = 0;
      if (claim) {
        // The receiver's blocks count only if this side's first ones give their digest.
        const own = await this.#prefix(file, claim.blocks);
        const block = claim.blocks > 0 && (await own.hexdigest()) === claim.digest ? claim.blocks : 0;
        if (block) [digest, start] = [own, Math.min(block * BLOCK_SIZE, file.size)];
        await this.#room();
        this.send({ type: "file-from", index, block });
        // After a continue, what the receiver kept had crossed before the loss.
        if (claim !== from) this.#heldBytes += start;
      }
      for (let offset = start; offset < file.size; offset += BLOCK_SIZE) {
        const block = await this.#read(file, offset);
        const hashed = digest.addBlock(block);
        for (let chunk = 0; chunk < block.length; chunk += CHUNK_SIZE) {
          await this.#room();
          this.channel.send(block.subarray(chunk, chunk + CHUNK_SIZE));
        }
        await hashed;
        this.#sentBytes += block.length;
        this.#progress(index, offset + block.length);
      }
      if (start === file.size) this.#progress(index, file.size);
      const hexdigest = await digest.hexdigest();
      await this.#room();
      this.send({ type: "file-end", index, digest: hexdigest });
      this.#ended = index + 1;
    }
  }

  #progress(index, fileBytes) {
    this.callbacks.onProgress({ index, fileBytes, sentBytes: this.#sentBytes, heldBytes: this.#heldBytes });
  }

  /** The digest so far of `file`'s first `blocks` blocks, to go on with. */
  async #prefix(file, blocks) {
    const digest = new BlockDigest();
    for (let block = 0; block < blocks; block++) await digest.addBlock(await this.#read(file, block * BLOCK_SIZE));
    return digest;
  }

  async #read(file, offset) {
    const { inbox } = this;
    const read = Promise.resolve()
      .then(() => file.slice(offset, offset + BLOCK_SIZE).arrayBuffer())
      .then(
        (buffer) => new Uint8Array(buffer),
        () => {
          // The file changed or went away since it was picked.
          throw new ProtocolError(`could not read ${file.name}`, ErrorId.READ_FAILED);
        },
      );
    read.catch(() => {}); // a read given up on may fail unheard
    // A slow read does not hold the run up once the channel is lost or the run over.
    await Promise.race([read, inbox.stopped]);
    inbox.check();
    return read;
  }

  async #room() {
    this.#checkOpen();
    const { channel, inbox } = this;
    if (channel.bufferedAmount <= HIGH_WATER) return;
    await new Promise((resolve) => {
      const done = () => {
        channel.removeEventListener("bufferedamountlow", done);
        channel.removeEventListener("close", done);
        resolve();
      };
      channel.addEventListener("bufferedamountlow", done);
      channel.addEventListener("close", done);
      // A connection that failed under a full buffer drains nothing, and may not close soon.
      inbox.stopped.then(done);
    });
    this.#checkOpen();
  }

  #checkOpen() {
    if (this.channel.readyState !== "open") this.channelGone();
    this.inbox.check();
    if (this.#halted) throw new TransferError("the transfer was stopped", this.state, null);
  }

  async #readAcknowledgements() {
    while (this.#verified < this.files.length) {
      const message = await this.nextMessage();
      const expected = this.#verified;
      if (message.type !== "file-ok" || message.index !== expected) {
        const got = message.type === "file-ok" ? `file-ok ${message.index}` : message.type;
        throw new ProtocolError(`expected file-ok ${expected}, got ${got}`);
      }
      // Delivered means both: this side finished the file, and the receiver verified it.
      if (expected >= this.#ended) throw new ProtocolError(`file-ok ${expected} came before its file-end`);
      this.#verified += 1;
      this.callbacks.onDelivered(expected);
    }
    const last = await this.nextMessage();
    if (last.type !== "done") throw new ProtocolError(`expected done, got ${last.type}`);
  }
}

/**
 * Receives files. `onManifest(files)` resolves to a store (transfer/store/store.js) to
 * accept into, or to false to decline; meanwhile the channel is read on, and anything
 * but the sender's cancel or error ends the run (data before accept). Progress comes as
 * `onProgress({index, fileBytes, receivedBytes})` (`receivedBytes` came over the channel);
 * each file is written through the store and committed only once its digest matched,
 * and `onFile(index, saved)` is handed what the commit gave (`{name, file?}`): nothing
 * unverified ever is. To a sender that can resume, the accept says which files the
 * store already holds the first blocks of (`store.partial`), and those are taken up
 * where its file-from says. `manifestMs` is how long the sender may take to send its
 * manifest once the channel is open; `onLost` and `graceMs` as for reconnection (see
 * Transfer): the file being written stays open meanwhile.
 */
export class Receiver extends Transfer {
  /** The block hashes of what an earlier run left, by index, for the files the accept named. */
  #held = new Map();
  #receivedBytes = 0;

  constructor(
    channel,
    { onManifest, onProgress = () => {}, onFile = () => {}, manifestMs = MANIFEST_MS, onLost, onResumed, graceMs },
  ) {
    super(channel, "receiver", ReceiverState.WAITING_FOR_OFFER, "the sender left before the transfer finished", {
      onLost,
      onResumed,
      graceMs,
    });
    this.callbacks = { onManifest, onProgress, onFile };
    this.manifestMs = manifestMs;
  }

  /** Resolves with the manifest's files once all are verified (or false if declined). */
  run() {
    return this.guard(async () => {
      checkChannel(this.channel);
      const limit = duration(this.manifestMs);
      const { files, resume } = await this.within(this.#readManifest(), this.manifestMs, () =>
        this.fail(
          ErrorId.NO_MANIFEST,
          `no manifest within ${limit} of the channel opening`,
          `the sender sent no list of files within ${limit}`,
        ),
      );
      this.setState(ReceiverState.DECIDING);
      const store = await this.#decide(files);
      if (!store) {
        this.declined(true);
        return false;
      }
      if (resume) {
        const entries = await this.#partials(store, files);
        this.checkEnded(); // ended while the partials were read
        for (const message of acceptMessages(entries)) this.send(message);
        this.agreeToReconnect();
      } else {
        this.send({ type: "accept" });
      }
      this.setState(ReceiverState.RECEIVING);
      for (const [index, entry] of files.entries()) {
        const saved = await this.#receiveFile(store, index, entry);
        this.send({ type: "file-ok", index });
        this.callbacks.onFile(index, saved);
      }
      await this.#saving(store.finish(), "the files");
      this.send({ type: "done" });
      // The sender closes on `done`, so it must have had it, and every file-ok before it.
      const deadline = performance.now() + LINGER_MS;
      const flushed = drained(this.channel, LINGER_MS);
      this.succeed(ReceiverState.RECEIVED, flushed.then(() => peerClosed(this.channel, deadline - performance.now())));
      return files;
    });
  }

  async #readManifest() {
    const first = await this.nextMessage();
    if (first.type !== "manifest") throw new ProtocolError(`expected manifest, got ${first.type}`);
    const parts = new ManifestParts(first);
    while (!parts.complete) {
      const more = await this.nextMessage();
      if (more.type !== "manifest-more") throw new ProtocolError(`expected manifest-more, got ${more.type}`);
      parts.add(more);
    }
    return { files: parts.files, resume: first.resume === true };
  }

  /** The person's answer. Whatever the sender sends before it, but a cancel or an error,
   * breaks the protocol: consent comes first, and nothing piles up unasked for. */
  async #decide(files) {
    let answer = null;
    const answered = Promise.resolve(this.callbacks.onManifest(files)).then((store) => (answer = { store }));
    await Promise.race([answered, this.inbox.ready()]);
    // Even with the answer in, what has arrived came before accept.
    if (!answer || this.inbox.holding) {
      const data = await this.nextData();
      if (typeof data === "string") this.parseText(data);
      throw new ProtocolError("data before accept");
    }
    this.inbox.check(); // ended while the person decided
    return answer.store;
  }

  /** The resume entries of what `store` kept of these files from an earlier run: its
   * whole blocks (all of them when it is complete), hashed here. */
  async #partials(store, files) {
    const entries = [];
    for (const [index, entry] of files.entries()) {
      const partial = await this.#saving(store.partial(index, entry), entry.name);
      if (!partial || partial.size > entry.size) continue;
      const blocks = partial.size === entry.size ? blockCount(entry.size) : Math.floor(partial.size / BLOCK_SIZE);
      if (!blocks) continue;
      const digest = new BlockDigest();
      try {
        for (let block = 0; block < blocks; block++) {
          const start = block * BLOCK_SIZE;
          await digest.addBlock(new Uint8Array(await partial.slice(start, start + BLOCK_SIZE).arrayBuffer()));
        }
      } catch (error) {
        // What cannot be read back is not held: the file comes whole.
        console.warn(`could not read what was kept of ${entry.name}`, error);
        continue;
      }
      this.#held.set(index, digest.hashes);
      entries.push({ index, blocks, digest: await digest.hexdigest() });
    }
    return entries;
  }

  /** A store's step, which may fail (the disk is full, the person took the folder away):
   * the sender is told this side cannot save, in words naming `what`. */
  async #saving(step, what) {
    try {
      return await step;
    } catch (error) {
      if (error instanceof TransferError || error instanceof ProtocolError) throw error;
      throw new ProtocolError(`could not save ${what}: ${error?.message ?? error}`, ErrorId.CANNOT_SAVE);
    }
  }

  /**
   * One file written through `store`, committed once its digest matched; else discarded.
   * It starts where the sender's file-from says when this side claimed blocks of it (the
   * accept's entry, or a `continue` after a reconnection), else at 0.
   */
  async #receiveFile(store, index, entry) {
    /** The block hashes claimed and not yet answered by a file-from, or null. */
    let claim = this.#held.get(index) ?? null;
    let writer = null;
    let digest = new BlockDigest();
    try {
      for (;;) {
        try {
          if (claim) {
            const block = await this.#fileFrom(index, claim.length);
            digest = new BlockDigest(claim.slice(0, block));
            const keep = Math.min(block * BLOCK_SIZE, entry.size);
            claim = null;
            if (writer) await this.#saving(writer.truncate(keep), entry.name);
            else writer = await this.#saving(store.open(index, entry, { keep }), entry.name);
          } else {
            writer ??= await this.#saving(store.open(index, entry, { keep: 0 }), entry.name);
          }
          const saved = await this.#receiveInto(writer, index, entry, digest);
          this.checkEnded(); // ended while the file was committed
          return saved;
        } catch (error) {
          if (!(error instanceof Lost)) throw error;
          // What is written of whole blocks stays, open, for the next channel.
          claim = writer ? digest.hashes : (this.#held.get(index) ?? []);
          if (writer) await this.#saving(writer.truncate(Math.min(claim.length * BLOCK_SIZE, entry.size)), entry.name);
          await this.reconnect();
          this.send({ type: "continue", index, blocks: claim.length, digest: await prefixDigest(claim) });
        }
      }
    } catch (error) {
      // A mismatch leaves nothing to build on; any other break keeps what came, for resume.
      const keepPartial = error?.errorId !== ErrorId.HASH_MISMATCH;
      await writer?.discard({ keepPartial }).catch((e) => console.warn(`could not discard ${entry.name}`, e));
      throw error;
    }
  }

  /** The sender's file-from for file `index`: it starts at block 0 or at the `claimed` one. */
  async #fileFrom(index, claimed) {
    const message = await this.nextMessage();
    const { type, block } = message;
    if (type !== "file-from" || message.index !== index || (block !== 0 && block !== claimed)) {
      const got = type === "file-from" ? `file-from ${message.index} at block ${block}` : type;
      throw new ProtocolError(`expected file-from ${index} at block 0 or ${claimed}, got ${got}`);
    }
    // After a reconnection, the sender has taken the transfer up.
    this.reconnected();
    return block;
  }

  /** The bytes of file `index` after the whole blocks `digest` already holds. */
  async #receiveInto(writer, index, entry, digest) {
    let placed = Math.min(digest.hashes.length * BLOCK_SIZE, entry.size); // bytes in finished blocks
    let block = new Uint8Array(Math.min(BLOCK_SIZE, entry.size - placed));
    let filled = 0;
    for (;;) {
      const data = await this.nextData();
      if (typeof data === "string") {
        const message = this.parseText(data);
        if (message.type !== "file-end" || message.index !== index) {
          throw new ProtocolError(`expected file-end ${index}, got ${message.type}`);
        }
        // A file that ends short is not the file offered: its digest cannot match.
        if (placed !== entry.size || (await digest.hexdigest()) !== message.digest) {
          throw new ProtocolError(`hash mismatch: ${entry.name}`, ErrorId.HASH_MISMATCH);
        }
        this.checkEnded(); // ended while the digest was checked: nothing is committed
        return this.#saving(writer.commit(), entry.name);
      }
      const bytes = new Uint8Array(data);
      if (placed + filled + bytes.length > entry.size) throw new ProtocolError(`${entry.name}: more bytes than announced`);
      for (let offset = 0; offset < bytes.length; ) {
        const take = Math.min(bytes.length - offset, block.length - filled);
        block.set(bytes.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === block.length) {
          // Whole blocks go to the store, which keeps the array: a new one is filled next.
          await Promise.all([digest.addBlock(block), this.#saving(writer.write(block), entry.name)]);
          placed += filled;
          block = new Uint8Array(Math.min(BLOCK_SIZE, entry.size - placed));
          filled = 0;
        }
      }
      this.#receivedBytes += bytes.length;
      this.callbacks.onProgress({ index, fileBytes: placed + filled, receivedBytes: this.#receivedBytes });
    }
  }
}
