/**
 * The last fallback: files kept in the browser's memory as Blobs, for browsers with no
 * file system this page can write to. Measured in Chromium (shared/notes, 2026-12):
 * the receiving process grows about 1 MiB per MiB held; a private window could still
 * read 1.5 GiB back but no longer 2.6 GiB. So a transfer is refused before accepting
 * when, all files together, it is over LIMIT.
 * @module transfer/store/blob
 */

import { formatBytes } from "../../ui/dom.js";
import { Crc32 } from "./crc32.js";
import { CannotSave } from "./store.js";
import { archiveOf } from "./zip.js";

/** Bytes held in memory at most, all files together: 1.5 GB, under the 1.5 GiB read back. */
export const LIMIT = 1.5e9;
/** Received blocks gathered into one Blob: a few large Blobs keep the copies between
 * processes few, and 16 MiB stay in the page at most. */
const PARTS_PER_BLOB = 16;

/** A file being received into memory. */
class BlobWriter {
  #store;
  #entry;
  #parts = [];
  #held = [];
  #crc = new Crc32();

  constructor(store, entry) {
    this.#store = store;
    this.#entry = entry;
  }

  async write(bytes) {
    this.#crc.add(bytes);
    this.#held.push(bytes);
    if (this.#held.length === PARTS_PER_BLOB) this.#seal();
  }

  #seal() {
    if (this.#held.length) this.#parts.push(new Blob(this.#held));
    this.#held = [];
  }

  async truncate(bytes) {
    this.#seal();
    const kept = new Blob(this.#parts).slice(0, bytes);
    this.#parts = [kept];
    this.#crc = new Crc32();
    this.#crc.add(new Uint8Array(await kept.arrayBuffer()));
  }

  async commit() {
    this.#seal();
    const { name, type } = this.#entry;
    const file = new File(this.#parts, name.split("/").pop(), { type: type || "application/octet-stream" });
    this.#parts = [];
    this.#store.saved.push({ name, file, crc: this.#crc.value });
    return { name, file };
  }

  async discard() {
    this.#parts = [];
    this.#held = [];
  }
}

/** Files in memory, up to LIMIT; nothing survives the page, so nothing resumes. */
export class BlobStore {
  saved = [];
  /** The ZIP of everything, once finished, when there is more than one file or a tree. */
  archive = null;

  async check(files) {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (total > LIMIT) {
      throw new CannotSave(
        `These files are ${formatBytes(total)}: this browser can keep about ${formatBytes(LIMIT)} in memory; ` +
          "use Chrome or the `sendit` command for larger files.",
      );
    }
  }

  async partial() {
    return null;
  }

  async open(index, entry) {
    return new BlobWriter(this, entry);
  }

  async finish() {
    this.archive = archiveOf(this.saved);
  }

  describe() {
    return "The files are kept in this browser's memory until you leave the page: save them below.";
  }
}
