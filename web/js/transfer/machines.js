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
  clip,
  manifestMessages,
  neutralised,
  parseMessage,
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

export const SenderState = Object.freeze({
  OFFERING: "offering",
  SENDING: "sending",
  DELIVERED: "delivered",
  DECLINED: "declined",
  CANCELLED: "cancelled",
  FAILED: "failed",
});

export const ReceiverState = Object.freeze({
  WAITING_FOR_OFFER: "waiting-for-offer",
  DECIDING: "deciding",
  RECEIVING: "receiving",
  RECEIVED: "received",
  DECLINED: "declined",
  CANCELLED: "cancelled",
  FAILED: "failed",
});

const ENDINGS = new Set(["delivered", "received", "declined", "cancelled", "failed"]);

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

  /** End reading at once: what is queued is dropped, and every later `next()` throws `error`. */
  stop(error) {
    this.#stopped ??= error;
    this.#items = [];
    this.#arrived();
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

  /**
   * @param {RTCDataChannel} channel
   * @param {string} name for the log
   * @param {string} initial state
   * @param {string} closedMessage the ending when the channel closes too early
   */
  constructor(channel, name, initial, closedMessage) {
    this.channel = channel;
    this.inbox = new Inbox(channel);
    this.#name = name;
    this.#state = initial;
    this.#closedMessage = closedMessage;
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
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
    if (localMessage !== null) this.#failure = new TransferError(localMessage, state, errorId, said);
    this.inbox.stop(this.#failure ?? new TransferError("the transfer is over", state, null));
    closing.then(() => this.channel.close()).finally(this.#markClosed);
  }

  send(message) {
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify(message));
  }

  /** The next message as it came: a string, or an ArrayBuffer of 1 to MAX_MESSAGE bytes. */
  async nextData() {
    const item = await this.inbox.next();
    if (item.closed) {
      this.channelClosed();
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
 * Sends File objects. Progress: `onProgress({index, fileBytes, sentBytes})` while
 * sending, `onDelivered(index)` once the receiver has verified a file this side
 * finished. `answerMs` is how long the receiver may take to accept or decline.
 */
export class Sender extends Transfer {
  #halted = false;
  /** How many files have had their file-end sent, and been verified by the receiver. */
  #ended = 0;
  #verified = 0;

  constructor(
    channel,
    files,
    { onAccepted = () => {}, onProgress = () => {}, onDelivered = () => {}, answerMs = ANSWER_MS } = {},
  ) {
    super(channel, "sender", SenderState.OFFERING, "the receiver left before the transfer finished");
    this.files = files;
    this.callbacks = { onAccepted, onProgress, onDelivered };
    this.answerMs = answerMs;
    channel.bufferedAmountLowThreshold = LOW_WATER;
  }

  /** Resolves when every file is delivered and verified; rejects with TransferError otherwise. */
  run() {
    return this.guard(async () => {
      for (const message of manifestMessages(this.files, { resume: false })) this.send(message);
      const limit = duration(this.answerMs);
      const answer = await this.within(this.nextMessage(), this.answerMs, () =>
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
      if (answer.type !== "accept") throw new ProtocolError(`expected accept, got ${answer.type}`);
      this.setState(SenderState.SENDING);
      this.callbacks.onAccepted();
      // Acknowledgements are read while sending, so a cancel or error stops the pump.
      const tasks = [this.#pump(), this.#readAcknowledgements()];
      for (const task of tasks) task.catch(() => (this.#halted = true));
      await Promise.all(tasks);
      // The receiver has everything: nothing of ours is left to go out.
      this.succeed(SenderState.DELIVERED);
    });
  }

  async #pump() {
    let sentBytes = 0;
    for (const [index, file] of this.files.entries()) {
      const digest = new BlockDigest();
      for (let offset = 0; offset < file.size; offset += BLOCK_SIZE) {
        const block = await this.#read(file, offset);
        const hashed = digest.addBlock(block);
        for (let start = 0; start < block.length; start += CHUNK_SIZE) {
          await this.#room();
          this.channel.send(block.subarray(start, start + CHUNK_SIZE));
        }
        await hashed;
        sentBytes += block.length;
        this.callbacks.onProgress({ index, fileBytes: offset + block.length, sentBytes });
      }
      if (file.size === 0) this.callbacks.onProgress({ index, fileBytes: 0, sentBytes });
      const hexdigest = await digest.hexdigest();
      await this.#room();
      this.send({ type: "file-end", index, digest: hexdigest });
      this.#ended = index + 1;
    }
  }

  async #read(file, offset) {
    try {
      return new Uint8Array(await file.slice(offset, offset + BLOCK_SIZE).arrayBuffer());
    } catch {
      // The file changed or went away since it was picked.
      throw new ProtocolError(`could not read ${file.name}`, ErrorId.READ_FAILED);
    }
  }

  async #room() {
    this.#checkOpen();
    if (this.channel.bufferedAmount <= HIGH_WATER) return;
    await new Promise((resolve) => {
      const done = () => {
        this.channel.removeEventListener("bufferedamountlow", done);
        this.channel.removeEventListener("close", done);
        resolve();
      };
      this.channel.addEventListener("bufferedamountlow", done);
      this.channel.addEventListener("close", done);
    });
    this.#checkOpen();
  }

  #checkOpen() {
    if (this.channel.readyState !== "open") this.channelClosed();
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
 * `onProgress({index, fileBytes, receivedBytes})`; each file is written through the
 * store and committed only once its digest matched, and `onFile(index, saved)` is handed
 * what the commit gave (`{name, file?}`): nothing unverified ever is.
 * `manifestMs` is how long the sender may take to send its manifest once the channel is open.
 */
export class Receiver extends Transfer {
  constructor(channel, { onManifest, onProgress = () => {}, onFile = () => {}, manifestMs = MANIFEST_MS }) {
    super(channel, "receiver", ReceiverState.WAITING_FOR_OFFER, "the sender left before the transfer finished");
    this.callbacks = { onManifest, onProgress, onFile };
    this.manifestMs = manifestMs;
  }

  /** Resolves with the manifest's files once all are verified (or false if declined). */
  run() {
    return this.guard(async () => {
      checkChannel(this.channel);
      const limit = duration(this.manifestMs);
      const files = await this.within(this.#readManifest(), this.manifestMs, () =>
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
      this.send({ type: "accept" });
      this.setState(ReceiverState.RECEIVING);
      let receivedBytes = 0;
      for (const [index, entry] of files.entries()) {
        const saved = await this.#receiveFile(store, index, entry, (fileBytes, bytes) => {
          receivedBytes += bytes;
          this.callbacks.onProgress({ index, fileBytes, receivedBytes });
        });
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
    return parts.files;
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

  /** One file written through `store`, committed once its digest matched; else discarded. */
  async #receiveFile(store, index, entry, counted) {
    const writer = await this.#saving(store.open(index, entry, { keep: 0 }), entry.name);
    let saved;
    try {
      saved = await this.#receiveInto(writer, index, entry, counted);
    } catch (error) {
      // A mismatch leaves nothing to build on; any other break keeps what came, for resume.
      const keepPartial = error?.errorId !== ErrorId.HASH_MISMATCH;
      await writer.discard({ keepPartial }).catch((e) => console.warn(`could not discard ${entry.name}`, e));
      throw error;
    }
    this.inbox.check(); // ended while the file was committed
    return saved;
  }

  async #receiveInto(writer, index, entry, counted) {
    const digest = new BlockDigest();
    let placed = 0; // bytes in finished blocks
    let block = new Uint8Array(Math.min(BLOCK_SIZE, entry.size));
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
        this.inbox.check(); // ended while the digest was checked: nothing is committed
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
      counted(placed + filled, bytes.length);
    }
  }
}
