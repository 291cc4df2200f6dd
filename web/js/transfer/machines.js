/**
 * The transfer of PROTOCOL.md section 3 over an open RTCDataChannel: a sender and a
 * receiver, each a small state machine. No DOM: progress and decisions go through
 * callbacks, so the UI and the tests drive the same code.
 * @module transfer/machines
 */

import { BLOCK_SIZE, BlockDigest, PROTOCOL_VERSION, ProtocolError, neutralised, parseMessage } from "../protocol/protocol.js";

/** Bytes per binary message: well under the 256 KiB both stacks accept. */
export const CHUNK_SIZE = 65536;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
/** Received blocks gathered into one Blob: 16 MiB held in the page at most. */
const BLOCKS_PER_BLOB = 16;
const RECEIVER_LEFT = "the receiver left before the transfer finished";
/** The phases before the transfer (PROTOCOL.md 3.2). A sender sends its manifest the
 * moment the channel opens, so one that has not within the channel-open limit never will. */
export const MANIFEST_MS = 30000;
/** A person reads the offer and decides: as long as the code waited for them to join. */
export const ANSWER_MS = 600000;

/** 600000 -> "10 min", 30000 -> "30 s": the words both peers use for a limit. */
const duration = (ms) => (ms >= 60000 ? `${ms / 60000} min` : `${ms / 1000} s`);

/** A transfer that ended without delivery; `message` is meant for the user. */
export class TransferError extends Error {}

/** Reads a data channel's messages one at a time, in order, as promises. */
class ChannelReader {
  #queue = [];
  #waiting = null;
  #closed = null;
  #stopped = null;

  constructor(channel, closedMessage) {
    channel.binaryType = "arraybuffer";
    channel.addEventListener("message", (event) => this.#push({ data: event.data }));
    channel.addEventListener("close", () => this.close(closedMessage));
    channel.addEventListener("error", () => this.close(closedMessage));
    if (channel.readyState === "closing" || channel.readyState === "closed") this.close(closedMessage);
  }

  #push(item) {
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve(item);
    } else {
      this.#queue.push(item);
    }
  }

  /** End reading: every later `next()` throws TransferError(message). */
  close(message) {
    if (this.#closed) return;
    this.#closed = message;
    this.#push({ closed: message });
  }

  /** End reading at once: queued messages are dropped, every later `next()` throws TransferError(message). */
  stop(message) {
    if (this.#stopped) return;
    this.#stopped = message;
    this.#queue = [];
    this.close(message);
  }

  /** Throws TransferError if `stop()` was called. */
  check() {
    if (this.#stopped) throw new TransferError(this.#stopped);
  }

  /** The next message's data; throws TransferError once the channel has closed. */
  async next() {
    this.check();
    const item = this.#queue.length ? this.#queue.shift() : await new Promise((r) => (this.#waiting = r));
    this.check();
    if (item.closed) {
      this.#queue.unshift(item);
      throw new TransferError(item.closed);
    }
    return item.data;
  }
}

function send(channel, message) {
  channel.send(JSON.stringify(message));
}

/** The ending a cancel or error from the other side brings; its words are the peer's, shown neutralised. */
function remoteEnd(message) {
  if (message.type === "cancel") {
    const { reason } = message;
    return new TransferError(reason ? `cancelled by the other side: ${neutralised(reason)}` : "cancelled by the other side");
  }
  if (message.type === "error") return new TransferError(`the other side reported an error: ${neutralised(message.message)}`);
  return null;
}

class Transfer {
  #finished = false;

  get finished() {
    return this.#finished;
  }

  constructor(channel, closedMessage) {
    this.channel = channel;
    this.reader = new ChannelReader(channel, closedMessage);
  }

  /** Tell the other side the transfer is off (cancel) and stop. */
  cancel(reason = "") {
    this.#stop({ type: "cancel", reason: reason.slice(0, 200) }, "the transfer was cancelled");
  }

  /** Report a protocol violation to the other side and stop. */
  fail(message) {
    this.#stop({ type: "error", message: message.slice(0, 200) }, `protocol error: ${message}`);
  }

  /** `step`, unless `ms` pass first: then the peer is told `message` and the run fails
   * with TransferError(localMessage). */
  async within(step, ms, message, localMessage) {
    const timer = setTimeout(() => this.#stop(message, localMessage), ms);
    try {
      return await step;
    } finally {
      clearTimeout(timer);
    }
  }

  #stop(message, localMessage) {
    if (this.#finished) return;
    this.#finished = true;
    if (this.channel.readyState === "open") send(this.channel, message);
    this.reader.stop(localMessage);
  }

  finish() {
    this.#finished = true;
  }

  /** Stop at once because of something outside the channel (the peer left, say). */
  abort(message) {
    this.#finished = true;
    this.reader.stop(message);
  }

  async nextMessage() {
    const data = await this.reader.next();
    if (typeof data !== "string") throw new ProtocolError("unexpected binary message");
    return this.parseText(data);
  }

  /** A text message, validated; the other side's cancel or error ends the transfer here. */
  parseText(data) {
    const message = parseMessage(data);
    const ended = remoteEnd(message);
    if (ended) {
      this.finish();
      throw ended;
    }
    return message;
  }

  /** Run `body`; a protocol error is reported to the peer before it propagates. */
  async guard(body) {
    try {
      return await body();
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.fail(error.message);
        throw new TransferError(`protocol error: ${error.message}`);
      }
      throw error;
    }
  }
}

/**
 * Sends File objects. Progress: `onProgress({index, fileBytes, sentBytes})` while
 * sending, `onDelivered(index)` as the receiver verifies each file. `answerMs` is how
 * long the receiver may take to accept or decline.
 */
export class Sender extends Transfer {
  #halted = false;

  constructor(
    channel,
    files,
    { onAccepted = () => {}, onProgress = () => {}, onDelivered = () => {}, answerMs = ANSWER_MS } = {},
  ) {
    super(channel, RECEIVER_LEFT);
    this.files = files;
    this.callbacks = { onAccepted, onProgress, onDelivered };
    this.answerMs = answerMs;
    channel.bufferedAmountLowThreshold = LOW_WATER;
  }

  /** Resolves when every file is delivered and verified; rejects with TransferError otherwise. */
  run() {
    return this.guard(async () => {
      send(this.channel, {
        type: "manifest",
        version: PROTOCOL_VERSION,
        files: this.files.map((f) => ({ name: f.name, size: f.size, type: f.type || "" })),
      });
      const limit = duration(this.answerMs);
      const answer = await this.within(
        this.nextMessage(),
        this.answerMs,
        { type: "cancel", reason: `the offer was not answered within ${limit}` },
        `the receiver did not answer the offer within ${limit}`,
      );
      if (answer.type === "decline") {
        this.finish();
        throw new TransferError("the receiver declined the files");
      }
      if (answer.type !== "accept") throw new ProtocolError(`expected accept, got ${answer.type}`);
      this.callbacks.onAccepted();
      // Acknowledgements are read while sending, so a cancel or error stops the pump.
      const tasks = [this.#pump(), this.#readAcknowledgements()];
      for (const task of tasks) task.catch(() => (this.#halted = true));
      await Promise.all(tasks);
      this.finish();
    });
  }

  async #pump() {
    let sentBytes = 0;
    for (const [index, file] of this.files.entries()) {
      const digest = new BlockDigest();
      for (let offset = 0; offset < file.size; offset += BLOCK_SIZE) {
        const block = new Uint8Array(await file.slice(offset, offset + BLOCK_SIZE).arrayBuffer());
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
      send(this.channel, { type: "file-end", index, digest: await digest.hexdigest() });
    }
  }

  async #room() {
    if (this.#halted || this.finished) throw new TransferError("the transfer was stopped");
    if (this.channel.readyState !== "open") throw new TransferError(RECEIVER_LEFT);
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
    if (this.channel.readyState !== "open") throw new TransferError(RECEIVER_LEFT);
  }

  async #readAcknowledgements() {
    let verified = 0;
    while (verified < this.files.length) {
      const message = await this.nextMessage();
      if (message.type !== "file-ok" || message.index !== verified) {
        throw new ProtocolError(`expected file-ok ${verified}, got ${message.type}`);
      }
      this.callbacks.onDelivered(verified);
      verified += 1;
    }
    const last = await this.nextMessage();
    if (last.type !== "done") throw new ProtocolError(`expected done, got ${last.type}`);
  }
}

/**
 * Receives files. `onManifest(files)` resolves to true to accept; progress comes as
 * `onProgress({index, fileBytes, receivedBytes})`; each verified file is handed to
 * `onFile(index, blob)`, and nothing unverified ever is. `manifestMs` is how long the
 * sender may take to send its manifest once the channel is open.
 */
export class Receiver extends Transfer {
  constructor(channel, { onManifest, onProgress = () => {}, onFile = () => {}, manifestMs = MANIFEST_MS }) {
    super(channel, "the sender left before the transfer finished");
    this.callbacks = { onManifest, onProgress, onFile };
    this.manifestMs = manifestMs;
  }

  /** Resolves with the manifest's files once all are verified (or false if declined). */
  run() {
    return this.guard(async () => {
      const limit = duration(this.manifestMs);
      const manifest = await this.within(
        this.nextMessage(),
        this.manifestMs,
        { type: "error", message: `no manifest within ${limit} of the channel opening` },
        `the sender sent no list of files within ${limit}`,
      );
      if (manifest.type !== "manifest") throw new ProtocolError(`expected manifest, got ${manifest.type}`);
      const { files } = manifest;
      const accepted = await this.callbacks.onManifest(files);
      this.reader.check(); // cancelled or aborted while the person decided
      if (!accepted) {
        send(this.channel, { type: "decline" });
        this.finish();
        return false;
      }
      send(this.channel, { type: "accept" });
      let receivedBytes = 0;
      for (const [index, entry] of files.entries()) {
        const file = await this.#receiveFile(index, entry, (fileBytes, bytes) => {
          receivedBytes += bytes;
          this.callbacks.onProgress({ index, fileBytes, receivedBytes });
        });
        this.reader.check(); // cancelled or aborted while the digest was checked
        send(this.channel, { type: "file-ok", index });
        this.callbacks.onFile(index, file);
      }
      send(this.channel, { type: "done" });
      this.finish();
      return files;
    });
  }

  async #receiveFile(index, entry, counted) {
    const digest = new BlockDigest();
    const parts = [];
    let held = []; // blocks not yet in a Blob
    let placed = 0; // bytes in finished blocks
    let block = new Uint8Array(Math.min(BLOCK_SIZE, entry.size));
    let filled = 0;
    for (;;) {
      const data = await this.reader.next();
      if (typeof data === "string") {
        const message = this.parseText(data);
        if (message.type !== "file-end" || message.index !== index) {
          throw new ProtocolError(`expected file-end ${index}, got ${message.type}`);
        }
        if (placed !== entry.size) throw new ProtocolError(`${entry.name}: ${placed + filled} of ${entry.size} bytes arrived`);
        if ((await digest.hexdigest()) !== message.digest) throw new ProtocolError(`hash mismatch: ${entry.name}`);
        return new Blob([...parts, ...held], { type: entry.type || "application/octet-stream" });
      }
      const bytes = new Uint8Array(data);
      if (placed + filled + bytes.length > entry.size) throw new ProtocolError(`${entry.name}: more bytes than announced`);
      for (let offset = 0; offset < bytes.length; ) {
        const take = Math.min(bytes.length - offset, block.length - filled);
        block.set(bytes.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === block.length) {
          await digest.addBlock(block);
          // Blobs let the browser move the bytes out of the page's memory; one per
          // BLOCKS_PER_BLOB blocks keeps the copies between processes few.
          held.push(block);
          if (held.length === BLOCKS_PER_BLOB) {
            parts.push(new Blob(held));
            held = [];
          }
          placed += filled;
          block = new Uint8Array(Math.min(BLOCK_SIZE, entry.size - placed));
          filled = 0;
        }
      }
      counted(placed + filled, bytes.length);
    }
  }
}
