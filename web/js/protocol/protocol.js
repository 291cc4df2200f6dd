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
  const { count } = message;
  if (!isInt(count) || count < 1 || count > MAX_FILES) throw new ProtocolError(`count must be 1 to ${MAX_FILES}`);
  return { type: "manifest", version: PROTOCOL_VERSION, count, files: fileEntries(message.files, count) };
}

function index(message) {
  const { index } = message;
  if (!isInt(index) || index < 0 || index >= MAX_FILES) {
    throw new ProtocolError("index must be a file's position in the manifest");
  }
  return index;
}

function fileEnd(message) {
  const { digest } = message;
  if (typeof digest !== "string" || !/^[0-9a-f]{64}$/.test(digest)) {
    throw new ProtocolError("digest must be 64 lower-case hex digits");
  }
  return { type: "file-end", index: index(message), digest };
}

const PARSERS = {
  manifest,
  "manifest-more": (message) => ({ type: "manifest-more", files: fileEntries(message.files, MAX_FILES) }),
  accept: () => ({ type: "accept" }),
  decline: () => ({ type: "decline" }),
  done: () => ({ type: "done" }),
  "file-end": fileEnd,
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

/**
 * The messages that offer `files` ({name, size, type}, at most MAX_FILES): a `manifest`,
 * then as many `manifest-more` as it takes for each to fit MAX_MESSAGE bytes as JSON.
 * @returns {object[]}
 */
export function manifestMessages(files, { resume = false } = {}) {
  const entries = files.map(({ name, size, type }) => ({ name, size, type }));
  const messages = [];
  let part = { type: "manifest", version: PROTOCOL_VERSION, count: entries.length, ...(resume && { resume }), files: [] };
  // The part's bytes with an empty list; each entry adds its own and one comma.
  let bytes = utf8Length(JSON.stringify(part)) - 1;
  for (const entry of entries) {
    const size = utf8Length(JSON.stringify(entry)) + 1;
    if (part.files.length && bytes + size > MAX_MESSAGE) {
      messages.push(part);
      part = { type: "manifest-more", files: [] };
      bytes = utf8Length(JSON.stringify(part)) - 1;
    }
    part.files.push(entry);
    bytes += size;
  }
  messages.push(part);
  return messages;
}

const toHex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The digest of PROTOCOL.md 3.3, fed block by block. WebCrypto cannot hash
 * incrementally, so each whole block is hashed once and only its 32-byte digest is
 * kept: memory stays at one block whatever the file size.
 */
export class BlockDigest {
  #digests = [];

  /** Add the next block: exactly BLOCK_SIZE bytes, or fewer for the file's last one. */
  async addBlock(block) {
    this.#digests.push(new Uint8Array(await crypto.subtle.digest("SHA-256", block)));
  }

  /** @returns {Promise<string>} 64 lower-case hex digits */
  async hexdigest() {
    const all = new Uint8Array(this.#digests.length * 32);
    this.#digests.forEach((digest, i) => all.set(digest, i * 32));
    return toHex(await crypto.subtle.digest("SHA-256", all));
  }
}
