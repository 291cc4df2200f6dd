/**
 * Drives one real SendSession or ReceiveSession in this page (no DOM involved) and
 * records everything it reports, for tests/web/test_sessions.py. Each page holds one
 * session; the module stays loaded between the test's calls, so state lives here.
 */

import { SendSession } from "/js/transfer/send-session.js";
import { ReceiveSession } from "/js/transfer/receive-session.js";
import { BlobStore } from "/js/transfer/store/blob.js";
import { FolderStore } from "/js/transfer/store/folder.js";
import { OpfsStore } from "/js/transfer/store/opfs.js";
import { answerPickersWith } from "/js/transfer/store/pickers.js";
import { OfferedFile, Refused } from "/js/transfer/offer.js";

const ENDINGS = new Set(["delivered", "failed", "cancelled", "expired", "received", "declined"]);
const WAIT_MS = 20000;

let session = null;
/** `times`: when each phase was last entered (ms since the epoch); `last`: the last progress. */
const seen = { phases: [], details: {}, times: {}, progress: 0, last: null, delivered: [], files: [] };
const digests = [];
let wake = () => {};
/** The test's pace for a sender: its files' bytes from `gateAt` on are read only once released. */
const gate = { at: Infinity, open: null, release: () => {} };
gate.open = new Promise((resolve) => (gate.release = resolve));
/** Options for the next session: `graceMs` for reconnection. */
let options = {};
/** Where accepted files go: "blob" (memory), "opfs" (this browser's storage, which
 * keeps partials for resume) or "folder" (picked through the pickers' seam, answered
 * with the OPFS folder named `folder`). */
let storage = { store: "blob", folder: null };

/** Byte i of a file is (i + seed) % 251: the test computes the same bytes. */
const pattern = (size, seed) => Uint8Array.from({ length: size }, (_, i) => (i + seed) % 251);

/** A picked file's bytes whose reads past the gate wait for the test's `release()`: a
 * sender paced without sleeps, so the test can break the connection mid-transfer. */
class GatedBlob extends Blob {
  slice(start, end) {
    const part = super.slice(start, end);
    if (start < gate.at) return part;
    return { arrayBuffer: () => gate.open.then(() => part.arrayBuffer()) };
  }
}
const makeFiles = (specs) => specs.map(({ name, size, seed }) => new OfferedFile(name, new GatedBlob([pattern(size, seed)])));

/** Files and blobs as plain data, so details can leave the page. */
const plain = (value) => JSON.parse(JSON.stringify(value, (_, v) => (v instanceof Blob ? { name: v.name, size: v.size } : v)));

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (blob) => hex(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));

const listeners = {
  onPhase: ({ phase, detail }) => {
    seen.phases.push(phase);
    seen.details[phase] = plain(detail);
    seen.times[phase] = Date.now();
    wake();
  },
  onProgress: (progress) => {
    seen.progress += 1;
    seen.last = progress;
    wake();
  },
  onDelivered: (index) => seen.delivered.push(index),
  onFile: ({ index, entry, saved: { file: blob } }) => {
    // A file saved into the picked folder is read back from there (see `folder()`).
    if (!blob) return seen.files.push({ index, name: entry.name, size: entry.size, sha256: null });
    digests.push(sha256(blob).then((digest) => seen.files.push({ index, name: entry.name, size: blob.size, sha256: digest })));
  },
};

/** What the next session is made with: `{graceMs, gateAt}` (`gateAt`: the byte of each
 * file from which its reads wait for `release()`). */
export function configure({ gateAt = Infinity, store = "blob", folder = null, ...rest }) {
  gate.at = gateAt;
  storage = { store, folder };
  options = rest;
}

/** The OPFS folder `name` (made if need be): what the pickers' seam answers with. */
async function opfsFolder(name) {
  return (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
}

/** The store of `storage` for the offered `files`. */
async function storeFor(files) {
  if (storage.store === "opfs") return OpfsStore.open(files);
  if (storage.store !== "folder") return new BlobStore();
  answerPickersWith(await opfsFolder(storage.folder));
  try {
    return await FolderStore.pick(files);
  } finally {
    answerPickersWith(null);
  }
}

/** Every file under the configured folder, as {path: sha256}. */
export async function folder() {
  const out = {};
  const walk = async (dir, prefix) => {
    for await (const [name, handle] of dir.entries()) {
      if (handle.kind === "directory") await walk(handle, `${prefix}${name}/`);
      else out[prefix + name] = await sha256(await handle.getFile());
    }
  };
  await walk(await opfsFolder(storage.folder), "");
  return out;
}

/** Let a gated sender read on. */
export function release() {
  gate.release();
}

/** A SendSession offering `files` ([{name, size, seed}]); the names on offer, or why none are. */
export function send(files) {
  session = new SendSession({ ...listeners, ...options });
  return add(files);
}

/** More files for the running SendSession: the names on offer then, or the words it
 * refused them with (it takes all or none). */
export function add(files) {
  try {
    session.add(makeFiles(files));
  } catch (error) {
    if (error instanceof Refused) return error.message;
    throw error;
  }
  return session.files.map((file) => file.name);
}

/** A ReceiveSession, idle until told to join. */
export function receive() {
  session = new ReceiveSession({ ...listeners, ...options });
}

/** Call one of the session's methods: ["join", code], ["accept"] (into the configured
 * store), ["decline"], ["cancel"]. */
export async function act([method, ...args]) {
  if (method === "accept") args = [await storeFor(seen.details.offered.files)];
  session[method](...args);
}

async function report() {
  await Promise.all(digests);
  return { phase: session.phase, ...seen, files: [...seen.files].sort((a, b) => a.index - b.index) };
}

/**
 * Once `phase` has been entered `count` times, or the session has ended, or WAIT_MS has
 * passed: what the session reported so far (the test then checks it was the phase it
 * waited for).
 */
export function until({ phase, count = 1, ms = WAIT_MS }) {
  return untilSeen(() => seen.phases.filter((p) => p === phase).length >= count, ms);
}

/** As `until`, once the progress reported has `key` (fileBytes, sentBytes, receivedBytes) at `bytes` or more. */
export function untilBytes({ key, bytes, ms = WAIT_MS }) {
  return untilSeen(() => (seen.last?.[key] ?? 0) >= bytes, ms);
}

async function untilSeen(reached, ms) {
  const deadline = Date.now() + ms;
  while (!reached() && !ENDINGS.has(session.phase) && Date.now() < deadline) {
    await new Promise((resolve) => {
      wake = resolve;
      setTimeout(resolve, deadline - Date.now());
    });
  }
  return report();
}
