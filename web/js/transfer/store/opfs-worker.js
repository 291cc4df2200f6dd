/**
 * The dedicated worker behind opfs.js: only a worker may open a file of the
 * origin-private file system for synchronous access, which writes in place, so what
 * has arrived is on disk at once and outlives the page (a partial to resume from). It
 * writes one file at a time, as asked, and keeps the file's CRC-32 for the ZIP.
 *
 * Requests `{id, op, ...}` are answered `{id, result}` or `{id, error: {name, message}}`:
 * open {folder, key, keep} (keeps the first `keep` bytes, drops the rest), write
 * {bytes}, truncate {size}, close {} -> {crc, file} (the file stays; `file` is it, as
 * OPFS gives it), remove {} (it goes).
 * @module transfer/store/opfs-worker
 */

import { Crc32 } from "./crc32.js";

/** Bytes read back at a time, to take the CRC of what a file already holds. */
const READ = 1 << 20;

let open = null; // {dir, handle, key, access, crc, at}
/** The folders asked for, by name: looked up once, for thousands of small files. */
const folders = new Map();

/** The CRC-32 of the first `size` bytes of `access`. */
function crcOf(access, size) {
  const crc = new Crc32();
  const buffer = new Uint8Array(READ);
  for (let at = 0; at < size; at += READ) {
    const got = access.read(buffer.subarray(0, Math.min(READ, size - at)), { at });
    crc.add(buffer.subarray(0, got));
  }
  return crc;
}

function shut() {
  open.access.flush();
  open.access.close();
  const done = open;
  open = null;
  return done;
}

const ops = {
  async open({ folder, key, keep }) {
    if (open) throw new Error("a file is open already");
    if (!folders.has(folder)) {
      const root = await navigator.storage.getDirectory();
      folders.set(folder, await root.getDirectoryHandle(folder, { create: true }));
    }
    const dir = folders.get(folder);
    const handle = await dir.getFileHandle(key, { create: true });
    const access = await handle.createSyncAccessHandle();
    try {
      if (access.getSize() < keep) throw new Error(`the partial file holds fewer than ${keep} bytes`);
      access.truncate(keep);
      open = { dir, handle, key, access, crc: crcOf(access, keep), at: keep };
    } catch (error) {
      access.close();
      throw error;
    }
  },
  write({ bytes }) {
    const written = open.access.write(bytes, { at: open.at });
    if (written !== bytes.length) throw new Error(`wrote ${written} of ${bytes.length} bytes (is the disk full?)`);
    open.crc.add(bytes);
    open.at += written;
  },
  truncate({ size }) {
    open.access.truncate(size);
    open.at = size;
    open.crc = crcOf(open.access, size);
  },
  async close() {
    const { crc, handle } = shut();
    return { crc: crc.value, file: await handle.getFile() };
  },
  async remove() {
    const { dir, key } = shut();
    await dir.removeEntry(key);
  },
};

self.addEventListener("message", async ({ data: { id, op, ...args } }) => {
  try {
    self.postMessage({ id, result: await ops[op](args) });
  } catch (error) {
    self.postMessage({ id, error: { name: error?.name ?? "Error", message: String(error?.message ?? error) } });
  }
});
