/**
 * Files streamed straight into a browser download as they arrive: the store of private
 * windows, where the origin-private file system is kept in memory (Chromium: 512 MiB
 * staged there grew the browser by 593 MB) and no picker can be asked. The bytes go
 * through a service worker (stream-worker.js) that answers the download's request with
 * a stream this page writes; one file is downloaded as it is, several (or a tree) as one
 * ZIP written as they come (zip.js StreamedZip).
 *
 * Verify, then commit: the last block written is always held back, and goes on only
 * with the next block or once the file's digest matched (commit); a mismatch or a break
 * errors the stream (discard), and the browser then fails the download and removes
 * what it wrote (Chromium: the download ends "canceled"). So an unverified file never
 * appears under its name, in a ZIP neither: a mismatch anywhere fails the whole archive.
 * A download cannot go back or be taken up again: a broken transfer starts over
 * (`partial` is always null), and a reconnection goes on only where nothing was lost.
 * Backpressure: a write waits while the stream holds HELD_CHUNKS, so this page keeps a
 * few MiB at most, whatever the size.
 * @module transfer/store/stream
 */

import { Crc32 } from "./crc32.js";
import { StreamedZip, archiveName, zipped } from "./zip.js";

const WORKER = new URL("./stream-worker.js", import.meta.url);
/** Where the worker serves downloads, under its scope (its folder); stream-worker.js says the same. */
const DOWNLOAD = new URL("./download/", import.meta.url);
/** Chunks (blocks of up to 1 MiB) the stream queues before a write waits. */
const HELD_CHUNKS = 4;
/** How often an open download tells the worker it is still wanted. A worker serving a
 * stream is kept alive by it in the Chromium measured here, but with DevTools attached
 * (as under test) any worker is; the message keeps it alive either way. */
const KEEP_ALIVE_MS = 20000;

/** Whether a ReadableStream can be handed to another realm (Chromium can; not all can). */
function streamsTransfer() {
  try {
    const stream = new ReadableStream();
    structuredClone(stream, { transfer: [stream] });
    return true;
  } catch {
    return false;
  }
}

/** The active worker of `registration`, once it is active. */
function activeWorker(registration) {
  const worker = registration.active ?? registration.waiting ?? registration.installing;
  if (worker.state === "activated") return Promise.resolve(worker);
  return new Promise((resolve, reject) => {
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve(worker);
      if (worker.state === "redundant") reject(new Error("the download helper could not start"));
    });
  });
}

/** One browser download, fed in order: `push(bytes)` waits while the stream is full,
 * `close()` completes it, `fail(reason)` makes the browser fail it. */
class Download {
  #writer;
  #frame;
  #keepAlive;

  /** Starts the download of `size` bytes (or null: unknown) named `name`. */
  static async start(worker, { name, type, size }) {
    const { readable, writable } = new TransformStream({}, { highWaterMark: HELD_CHUNKS });
    const id = crypto.randomUUID();
    const { port1, port2 } = new MessageChannel();
    const posted = new Promise((resolve) => (port1.onmessage = resolve));
    worker.postMessage({ id, stream: readable, name, type, size }, [port2, readable]);
    await posted;
    port1.close();
    return new Download(worker, id, name, writable.getWriter());
  }

  constructor(worker, id, name, writer) {
    this.#writer = writer;
    // Failures come through `ready`; a write's own promise would only repeat them.
    this.#writer.closed.catch(() => {});
    this.#frame = Object.assign(document.createElement("iframe"), {
      hidden: true,
      src: new URL(`${id}/${encodeURIComponent(name)}`, DOWNLOAD).href,
    });
    document.body.append(this.#frame);
    this.#keepAlive = setInterval(() => worker.postMessage({ keepAlive: id }), KEEP_ALIVE_MS);
  }

  async push(bytes) {
    try {
      await this.#writer.ready;
    } catch (error) {
      // Cancelled from the browser's downloads, or failed there (the disk is full).
      throw new Error(`the download stopped (${error?.message ?? error ?? "cancelled"})`);
    }
    this.#writer.write(bytes).catch(() => {});
  }

  async close() {
    this.#over();
    await this.#writer.close();
  }

  async fail(reason) {
    this.#over();
    await this.#writer.abort(reason);
  }

  #over() {
    clearInterval(this.#keepAlive);
    // The download goes on without the frame; a later one gets a frame of its own.
    setTimeout(() => this.#frame.remove(), KEEP_ALIVE_MS);
  }
}

/**
 * A file going into the download: the last block written waits in `#held` until the
 * next one comes or the file is committed. Only what went on counts in the CRC.
 */
class StreamWriter {
  #store;
  #index;
  #held = null;
  #sent = 0;
  #crc = new Crc32();

  constructor(store, index, entry) {
    this.#store = store;
    this.#index = index;
    this.entry = entry;
  }

  async write(bytes) {
    const held = this.#held;
    this.#held = bytes;
    if (held) await this.#pass(held);
  }

  async #pass(bytes) {
    this.#sent += bytes.length;
    if (this.#store.zip) this.#crc.add(bytes);
    await this.#store.download.push(bytes);
  }

  /** Only the held block can be dropped: what went on is the browser's already. */
  async truncate(size) {
    if (size < this.#sent) throw new Error("a download cannot take back what it was given, so it cannot go back");
    if (this.#held) this.#held = size > this.#sent ? this.#held.subarray(0, size - this.#sent) : null;
  }

  async commit() {
    if (this.#held) await this.#pass(this.#held);
    this.#held = null;
    const { zip, download } = this.#store;
    if (zip) await download.push(zip.tail(this.#index, this.#crc.value));
    else await download.close();
    return { name: this.entry.name };
  }

  /** Whatever the reason, the whole download fails: it cannot be taken up again. */
  async discard() {
    this.#held = null;
    await this.#store.download.fail(new Error(`${this.entry.name} was not received whole and verified`));
  }
}

export class StreamStore {
  /** The download, once the first file is opened. */
  download = null;
  /** The archive being written, when the files are zipped; else null. */
  zip = null;
  /** Nothing to save afterwards: the download has it. */
  archive = null;
  #worker;
  #files;
  #name;

  constructor(worker, files, { zip64At } = {}) {
    this.#worker = worker;
    this.#files = files;
    const names = files.map(({ name }) => name);
    if (zipped(names)) {
      this.zip = new StreamedZip(files, { zip64At });
      this.#name = archiveName(names);
    } else {
      this.#name = names[0]?.split("/").pop() ?? "";
    }
  }

  /** Whether this browser can stream into a download: a service worker (a secure
   * context) and streams that can be handed to it. */
  static get available() {
    return window.isSecureContext && "serviceWorker" in navigator && streamsTransfer();
  }

  /** The store for the offer of `files`, its worker running. `zip64At` as in zip.js (tests). */
  static async open(files, options) {
    const registration = await navigator.serviceWorker.register(WORKER.href);
    return new StreamStore(await activeWorker(registration), files, options);
  }

  /** Nothing to refuse ahead: the Downloads folder takes what the disk takes, and a
   * download that fails is a write that fails, in words. */
  async check() {}

  /** A download cannot be taken up again: nothing is ever held from an earlier run. */
  async partial() {
    return null;
  }

  async open(index, entry, { keep = 0 } = {}) {
    if (keep) throw new Error("a download keeps no partial files");
    this.download ??= await Download.start(this.#worker, {
      name: this.#name,
      type: this.zip ? "application/zip" : this.#files[0].type,
      size: this.zip ? this.zip.size : this.#files[0].size,
    });
    if (this.zip) await this.download.push(this.zip.head(index));
    return new StreamWriter(this, index, entry);
  }

  async finish() {
    if (!this.zip) return;
    this.download ??= await Download.start(this.#worker, { name: this.#name, type: "application/zip", size: this.zip.size });
    await this.download.push(this.zip.end());
    await this.download.close();
  }

  describe() {
    return `Saved to your Downloads folder as “${this.#name}” (see your browser's downloads).`;
  }
}
