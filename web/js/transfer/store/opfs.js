/**
 * Files staged in the origin-private file system (OPFS): the store of browsers without
 * a folder picker (Firefox, Safari), and the one that resumes. A dedicated worker
 * (opfs-worker.js) writes each file in place, so a partial survives a break, a closed
 * tab or a crash; a file is committed once its digest matched, and then handed to the
 * person as the disk-backed File OPFS gives (saving it copies from disk, not memory).
 *
 * Files live in the folder FOLDER, each under a key made of its offered size and name,
 * so a later offer of the same name and size finds its partial. Each key in use is held
 * with a Web Lock (a committed one for the page's life, as the page hands it over), so
 * another tab neither writes it nor tidies it away. On opening, files no page holds are tidied: complete ones (handed over already)
 * unless offered again, partial ones once KEEP_MS old.
 * @module transfer/store/opfs
 */

import { archiveOf } from "./zip.js";
import { CannotSave } from "./store.js";

export const FOLDER = "sendit";
/** How long a partial file nobody came back for is kept: a week. */
const KEEP_MS = 7 * 24 * 3600 * 1000;

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/** The OPFS name of an offered file: its size and the SHA-256 of its name (any name fits). */
async function keyOf({ name, size }) {
  return `${size}-${hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)))}`;
}

/** Holds the Web Lock of `key` until `release()` (which resolves once it is let go), or
 * resolves to null when someone else holds it. */
function lock(key) {
  return new Promise((resolve, reject) => {
    const request = navigator.locks
      .request(`sendit-opfs:${key}`, { ifAvailable: true }, (held) => {
        if (!held) return resolve(null);
        return new Promise((letGo) => resolve({ release: () => (letGo(), request) }));
      })
      .catch(reject);
  });
}

/** The worker, asked one thing at a time. */
class WriterWorker {
  #worker = new Worker(new URL("./opfs-worker.js", import.meta.url), { type: "module" });
  #next = 0;
  #waiting = new Map();

  constructor() {
    this.#worker.addEventListener("message", ({ data: { id, result, error } }) => {
      const { resolve, reject } = this.#waiting.get(id);
      this.#waiting.delete(id);
      if (error) reject(Object.assign(new Error(error.message), { name: error.name }));
      else resolve(result);
    });
    this.#worker.addEventListener("error", (event) => {
      for (const { reject } of this.#waiting.values()) reject(new Error(event.message || "the file writer stopped"));
      this.#waiting.clear();
    });
  }

  call(op, args = {}) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, op, ...args });
    });
  }
}

class OpfsWriter {
  constructor(store, entry, key) {
    Object.assign(this, { store, entry, key });
  }

  write(bytes) {
    return this.store.worker.call("write", { bytes });
  }

  truncate(size) {
    return this.store.worker.call("truncate", { size });
  }

  async commit() {
    const { crc, file: disk } = await this.store.worker.call("close");
    const { name, type } = this.entry;
    if (disk.size !== this.entry.size) throw new Error(`${disk.size} bytes were kept of ${this.entry.size}`);
    // A File of the disk-backed one, under the file's own name: its bytes are not copied.
    const file = new File([disk], name.split("/").pop(), { type: type || "application/octet-stream" });
    this.store.saved.push({ name, file, crc });
    return { name, file };
  }

  async discard({ keepPartial = false } = {}) {
    await this.store.worker.call(keepPartial ? "close" : "remove");
    // What is left is a partial for any later run, in this page or another.
    await this.store.release(this.key);
  }
}

export class OpfsStore {
  /** Locks this page holds, by key. */
  #locks = new Map();

  constructor(dir) {
    this.dir = dir;
    this.worker = new WriterWorker();
    this.saved = [];
    /** The ZIP of everything, once finished, when there is more than one file or a tree. */
    this.archive = null;
  }

  /** Whether this browser has what the store needs. */
  static get available() {
    return typeof navigator.storage?.getDirectory === "function" && typeof Worker === "function" && !!navigator.locks;
  }

  /** The store, its folder tidied for the offer of `files`. */
  static async open(files) {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle(FOLDER, { create: true });
    const offered = new Set(await Promise.all(files.map(keyOf)));
    for await (const [key, handle] of dir.entries()) {
      const held = await lock(key);
      if (!held) continue;
      try {
        const file = await handle.getFile();
        const complete = file.size === Number(key.split("-")[0]);
        if ((complete && !offered.has(key)) || Date.now() - file.lastModified > KEEP_MS) await dir.removeEntry(key);
      } finally {
        await held.release();
      }
    }
    return new OpfsStore(dir);
  }

  /** Nothing to refuse ahead: the browser grants its origin a share of the disk, and a
   * disk that fills is a write that fails, in words. */
  async check() {}

  async partial(index, entry) {
    const key = await keyOf(entry);
    await this.#hold(key, entry);
    try {
      const file = await (await this.dir.getFileHandle(key)).getFile();
      return file.size > 0 && file.size <= entry.size ? file : null;
    } catch (error) {
      if (error.name === "NotFoundError") return null;
      throw error;
    }
  }

  async open(index, entry, { keep = 0 } = {}) {
    const key = await keyOf(entry);
    await this.#hold(key, entry);
    await this.worker.call("open", { folder: FOLDER, key, keep });
    return new OpfsWriter(this, entry, key);
  }

  /** Lets go of `key`: a committed file stays held, as the page hands it over. */
  async release(key) {
    const held = this.#locks.get(key);
    this.#locks.delete(key);
    await held?.release();
  }

  async #hold(key, entry) {
    if (this.#locks.has(key)) return;
    const held = await lock(key);
    if (!held) throw new CannotSave(`${entry.name} is being received in another tab of this browser.`);
    this.#locks.set(key, held);
  }

  async finish() {
    this.archive = archiveOf(this.saved);
  }

  describe() {
    return "The files are kept in this browser's storage on disk: save them below.";
  }
}
