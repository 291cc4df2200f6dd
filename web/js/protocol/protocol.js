/**
 * The data channel's side of the SendIt protocol (docs/PROTOCOL.md): its messages, the
 * manifest split into messages that fit and put together again, and the block digest;
 * the twin of sendit_protocol/messages.py and digest.py. No DOM and no network here,
 * so the vectors in docs/protocol-vectors.json can test it directly in the browser.
 * @module protocol/protocol
 */

import { ERROR_ID, ErrorId, ProtocolError } from "./errors.js";

export { ProtocolError };
export const PROTOCOL_VERSION = 2;
export const CHANNEL_LABEL = "sendit";
export const BLOCK_SIZE = 1048576;
/** Every data-channel message, text (in UTF-8) or binary, is 1 to this many bytes. */
export const MAX_MESSAGE = 262144;
export const MAX_FILES = 10000;
/** Blocks (PROTOCOL.md 4.5) of the largest file: 2^53 - 1 bytes. */
const MAX_BLOCKS = Math.ceil(Number.MAX_SAFE_INTEGER / BLOCK_SIZE);
const MAX_NAME = 1024;
const MAX_TYPE = 255;
const MAX_TEXT = 200;

const isInt = (value) => Number.isSafeInteger(value);
const encoder = new TextEncoder();

/** Bytes of `text` in UTF-8: what a message's length is counted in. */
const utf8Length = (text) => encoder.encode(text).length;

/** A text message over MAX_MESSAGE bytes; one of at most a third of it in units cannot be. */
const oversize = (data) => data.length * 3 > MAX_MESSAGE && utf8Length(data) > MAX_MESSAGE;

function text(value, field) {
  if (typeof value !== "string" || value.length > MAX_TEXT) {
    throw new ProtocolError(`${field} must be a string of at most ${MAX_TEXT} characters`);
  }
  return value;
}

function errorId(value) {
  if (typeof value !== "string" || !ERROR_ID.test(value)) throw new ProtocolError("error_id must be an error id");
  return value;
}

// What no name may hold (PROTOCOL.md 3.1): control characters (general category Cc: C0,
// DEL and C1) and Unicode's Bidi_Control characters, which reorder what follows them, so
// that "report\u202egpj.exe" shows as "reportexe.jpg" and is an .exe.
const CONTROLS = "\\x00-\\x1f\\x7f-\\x9f";
const BIDI_CONTROLS = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069";
const CONTROL = new RegExp(`[${CONTROLS}\\\\]`);
const BIDI = new RegExp(`[${BIDI_CONTROLS}]`);
const UNSHOWABLE = new RegExp(`[${CONTROLS}${BIDI_CONTROLS}]`, "g");

/** `text` from the peer (a reason, an error message) safe to show: control and
 * bidirectional formatting characters replaced by U+FFFD. */
export function neutralised(text) {
  return text.replace(UNSHOWABLE, "\ufffd");
}

/** `text` cut to at most `limit` UTF-16 units, never inside a character. */
export function clip(text, limit = MAX_TEXT) {
  const cut = text.slice(0, limit);
  return /[\ud800-\udbff]$/.test(cut) && text.length > limit ? cut.slice(0, -1) : cut;
}

/** A safe relative path: no empty, `.` or `..` part, no backslash, control or
 * bidirectional formatting character. */
function checkName(name) {
  if (typeof name !== "string" || name.length < 1 || name.length > MAX_NAME) {
    throw new ProtocolError("file name must be 1 to 1024 characters");
  }
  if (!name.isWellFormed()) throw new ProtocolError("file name is not valid Unicode");
  if (CONTROL.test(name)) throw new ProtocolError("file name has a backslash or control character");
  if (BIDI.test(name)) throw new ProtocolError("file name has a bidirectional formatting character, which could disguise it");
  if (name.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new ProtocolError("file name must be a relative path without empty, . or .. parts");
  }
  return name;
}

function fileEntry(entry) {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw new ProtocolError("each file must be an object");
  }
  const { size, type } = entry;
  if (!isInt(size) || size < 0) throw new ProtocolError("file size must be an integer 0 to 2^53-1");
  if (typeof type !== "string" || type.length > MAX_TYPE) {
    throw new ProtocolError("file type must be a string of at most 255 characters");
  }
  return { name: checkName(entry.name), size, type };
}

function fileEntries(files, most) {
  if (!Array.isArray(files) || files.length < 1 || files.length > most) {
    throw new ProtocolError(`a manifest part lists 1 to ${most} files`);
  }
  return files.map(fileEntry);
}

/** Words for a manifest `version` other than ours, with their id (an older peer must
 * hear why, not hang). */
function checkVersion(given) {
  // A manifest without a version is a v1 manifest's shape.
  const version = given ?? 1;
  if (version === PROTOCOL_VERSION) return;
  if (!isInt(version)) throw new ProtocolError("version must be an integer");
  if (version < PROTOCOL_VERSION) {
    throw new ProtocolError("this peer speaks an older SendIt protocol", ErrorId.OLD_PROTOCOL);
  }
  throw new ProtocolError("this peer speaks a newer SendIt protocol", ErrorId.NEW_PROTOCOL);
}

function manifest(message) {
  checkVersion(message.version);
  const { count, resume = false } = message;
  if (!isInt(count) || count < 1 || count > MAX_FILES) throw new ProtocolError(`count must be 1 to ${MAX_FILES}`);
  if (typeof resume !== "boolean") throw new ProtocolError("a manifest's resume must be true or false");
  const parsed = { type: "manifest", version: PROTOCOL_VERSION, count, files: fileEntries(message.files, count) };
  return resume ? { ...parsed, resume } : parsed;
}

function index(message) {
  const { index } = message;
  if (!isInt(index) || index < 0 || index >= MAX_FILES) {
    throw new ProtocolError("index must be a file's position in the manifest");
  }
  return index;
}

function blocks(value, field, least) {
  if (!isInt(value) || value < least || value > MAX_BLOCKS) {
    throw new ProtocolError(`${field} must be an integer ${least} to ${MAX_BLOCKS}`);
  }
  return value;
}

function digest(value) {
  if (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value)) {
    throw new ProtocolError("digest must be 64 lower-case hex digits");
  }
  return value;
}

function resumeEntries(value, least) {
  if (!Array.isArray(value) || value.length < least || value.length > MAX_FILES) {
    throw new ProtocolError(`resume lists ${least} to ${MAX_FILES} entries`);
  }
  return value.map((entry) => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw new ProtocolError("each resume entry must be an object");
    }
    return { index: index(entry), blocks: blocks(entry.blocks, "a resume entry's blocks", 1), digest: digest(entry.digest) };
  });
}

/** A bare `accept`, or one that says what the receiver holds (4.6). */
function accept(message) {
  if (!Object.hasOwn(message, "resume_count") && !Object.hasOwn(message, "resume")) return { type: "accept" };
  const count = message.resume_count;
  if (!isInt(count) || count < 0 || count > MAX_FILES) {
    throw new ProtocolError(`an accept's resume_count must be 0 to ${MAX_FILES}`);
  }
  const resume = resumeEntries(message.resume, Math.min(count, 1));
  if (resume.length > count) {
    throw new ProtocolError(`the accept lists more than the ${count} resume entries it announced`);
  }
  return { type: "accept", resume_count: count, resume };
}

const PARSERS = {
  manifest,
  "manifest-more": (message) => ({ type: "manifest-more", files: fileEntries(message.files, MAX_FILES) }),
  accept,
  "accept-more": (message) => ({ type: "accept-more", resume: resumeEntries(message.resume, 1) }),
  "file-from": (message) => ({ type: "file-from", index: index(message), block: blocks(message.block, "block", 0) }),
  continue: (message) => ({
    type: "continue",
    index: index(message),
    blocks: blocks(message.blocks, "blocks", 0),
    digest: digest(message.digest),
  }),
  decline: () => ({ type: "decline" }),
  done: () => ({ type: "done" }),
  "file-end": (message) => ({ type: "file-end", index: index(message), digest: digest(message.digest) }),
  "file-ok": (message) => ({ type: "file-ok", index: index(message) }),
  cancel: (message) => ({
    type: "cancel",
    reason: text(message.reason ?? "", "reason"),
    error_id: errorId(message.error_id ?? ErrorId.CANCELLED),
  }),
  error: (message) => ({ type: "error", message: text(message.message, "message"), error_id: errorId(message.error_id) }),
};

/**
 * Parse and validate one text message; the result holds only known fields.
 * @param {string} data
 * @returns {object}
 */
export function parseMessage(data) {
  if (oversize(data)) throw new ProtocolError(`a message is at most ${MAX_MESSAGE} bytes`);
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    throw new ProtocolError("not a JSON message");
  }
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    throw new ProtocolError("a message must be a JSON object");
  }
  const { type } = message;
  const parse = typeof type === "string" && Object.hasOwn(PARSERS, type) ? PARSERS[type] : null;
  if (!parse) throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  return parse(message);
}

/** Throws unless every name is unique and none is a folder of another (`x` beside `x/y`):
 * no receiver could save both, so every receiver refuses such an offer before accepting. */
export function checkNames(files) {
  const names = new Set();
  const folders = new Set();
  for (const { name } of files) {
    if (names.has(name)) throw new ProtocolError(`two files are named "${name}"`);
    names.add(name);
    for (let slash = name.indexOf("/"); slash >= 0; slash = name.indexOf("/", slash + 1)) {
      folders.add(name.slice(0, slash));
    }
  }
  for (const name of names) {
    if (folders.has(name)) throw new ProtocolError(`"${name}" is both a file and a folder`);
  }
}

/** The offer's list of files, put together from its `manifest` and `manifest-more` parts. */
export class ManifestParts {
  #count;
  #files = [];

  /** @param {{count: number, files: object[]}} first a parsed `manifest` */
  constructor(first) {
    this.#count = first.count;
    this.add(first);
  }

  /** Take the next part's files (a parsed `manifest-more`). */
  add({ files }) {
    if (this.#files.length + files.length > this.#count) {
      throw new ProtocolError(`the manifest lists more files than its count of ${this.#count}`);
    }
    this.#files.push(...files);
  }

  get complete() {
    return this.#files.length === this.#count;
  }

  /** Every file, checked as one list: call once complete. */
  get files() {
    checkNames(this.#files);
    return [...this.#files];
  }
}

/** `first` then as many `more` as it takes, `items` under `field` in order, each message
 * as full as it can be and none over MAX_MESSAGE bytes as JSON. */
function split(first, more, field, items) {
  const messages = [];
  let part = { ...first, [field]: [] };
  // The part's bytes with an empty list; each item adds its own and one comma.
  let bytes = utf8Length(JSON.stringify(part)) - 1;
  for (const item of items) {
    const size = utf8Length(JSON.stringify(item)) + 1;
    if (part[field].length && bytes + size > MAX_MESSAGE) {
      messages.push(part);
      part = { ...more, [field]: [] };
      bytes = utf8Length(JSON.stringify(part)) - 1;
    }
    part[field].push(item);
    bytes += size;
  }
  messages.push(part);
  return messages;
}

/**
 * The messages that offer `files` ({name, size, type}, at most MAX_FILES): a `manifest`,
 * then as many `manifest-more` as it takes for each to fit MAX_MESSAGE bytes as JSON.
 * `resume`: the manifest says this sender can resume (4.6).
 * @returns {object[]}
 */
export function manifestMessages(files, { resume }) {
  const first = { type: "manifest", version: PROTOCOL_VERSION, count: files.length, ...(resume ? { resume } : {}) };
  const entries = files.map(({ name, size, type }) => ({ name, size, type }));
  return split(first, { type: "manifest-more" }, "files", entries);
}

/** The `accept` that says what this side holds (`entries`: {index, blocks, digest}), and
 * as many `accept-more` as it takes to fit (4.6). */
export function acceptMessages(entries) {
  const items = entries.map(({ index, blocks, digest }) => ({ index, blocks, digest }));
  return split({ type: "accept", resume_count: items.length }, { type: "accept-more" }, "resume", items);
}

/** How many blocks of PROTOCOL.md 4.5 a file of `size` bytes is cut into. */
export const blockCount = (size) => Math.ceil(size / BLOCK_SIZE);

/** What the receiver holds, from an `accept` and its `accept-more` parts, checked against
 * the offer (4.6): indices in the offer and ascending, no claim past a file's blocks. */
export class ResumeParts {
  #files;
  #count;
  #last = -1;
  /** @type {Map<number, {index: number, blocks: number, digest: string}>} */
  entries = new Map();

  /** @param {object[]} files the offer; @param {object} accept a parsed `accept` with resume_count */
  constructor(files, accept) {
    this.#files = files;
    this.#count = accept.resume_count;
    if (this.#count > files.length) {
      throw new ProtocolError(`resume_count ${this.#count} is more than the ${files.length} files offered`);
    }
    this.#add(accept.resume);
  }

  get complete() {
    return this.entries.size === this.#count;
  }

  /** Take a parsed `accept-more`. */
  add(message) {
    if (message.type !== "accept-more" || this.complete) {
      throw new ProtocolError(`unexpected ${message.type} while the accept's resume entries arrive`);
    }
    this.#add(message.resume);
  }

  #add(entries) {
    if (this.entries.size + entries.length > this.#count) {
      throw new ProtocolError(`the accept has more than the ${this.#count} resume entries it announced`);
    }
    for (const entry of entries) {
      if (entry.index <= this.#last || entry.index >= this.#files.length) {
        throw new ProtocolError("resume entries name files of the offer, each once, in order");
      }
      if (entry.blocks > blockCount(this.#files[entry.index].size)) {
        throw new ProtocolError(`a resume entry claims more blocks than file ${entry.index} has`);
      }
      this.entries.set(entry.index, entry);
      this.#last = entry.index;
    }
  }
}

const toHex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** The digest of the blocks whose SHA-256s are `hashes` (4.5; of a file's first blocks
 * when they are not all of them, 4.6). */
export async function prefixDigest(hashes) {
  const all = new Uint8Array(hashes.length * 32);
  hashes.forEach((hash, i) => all.set(hash, i * 32));
  return toHex(await crypto.subtle.digest("SHA-256", all));
}

/**
 * The digest of PROTOCOL.md 4.5, fed block by block. WebCrypto cannot hash
 * incrementally, so each whole block is hashed once and only its 32-byte digest is
 * kept: memory stays at one block whatever the file size, and a resumed or reconnected
 * transfer can start from any block.
 */
export class BlockDigest {
  /** @type {Uint8Array[]} the SHA-256 of each block so far */
  hashes;

  constructor(hashes = []) {
    this.hashes = [...hashes];
  }

  /** Add the next block: exactly BLOCK_SIZE bytes, or fewer for the file's last one. */
  async addBlock(block) {
    this.hashes.push(new Uint8Array(await crypto.subtle.digest("SHA-256", block)));
  }

  /** @returns {Promise<string>} 64 lower-case hex digits */
  hexdigest() {
    return prefixDigest(this.hashes);
  }
}
