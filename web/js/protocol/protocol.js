/**
 * The SendIt protocol as docs/PROTOCOL.md defines it: code parsing, data-channel
 * messages and the block digest. No DOM and no network here, so the vectors in
 * docs/protocol-vectors.json can test it directly in the browser.
 * @module protocol/protocol
 */

export const PROTOCOL_VERSION = 1;
export const CHANNEL_LABEL = "sendit";
export const BLOCK_SIZE = 1048576;
const MAX_FILES = 10000;
const MAX_NAME = 1024;
const MAX_TYPE = 255;
const MAX_TEXT = 200;

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LENGTH = 10;
const MAX_CODE_INPUT = 40;
const LOOKALIKES = { I: "1", L: "1", O: "0" };
const IGNORED = new Set([" ", "-", "_", "\t", ".", "\u00a0"]);

/** The text cannot be a SendIt code. */
export class InvalidCode extends Error {}

/** A data-channel message that breaks the protocol. */
export class ProtocolError extends Error {}

/**
 * Whatever a person typed to the canonical code (no separators).
 * @param {string} text
 * @returns {string}
 */
export function normalizeCode(text) {
  if (typeof text !== "string" || text.length > MAX_CODE_INPUT) throw new InvalidCode("not a code");
  let code = "";
  for (let char of text) {
    if (IGNORED.has(char)) continue;
    // Only ASCII is upper-cased: Unicode case mapping would read "ı" as I, then 1.
    if (char < "\u0080") char = LOOKALIKES[char.toUpperCase()] ?? char.toUpperCase();
    if (!ALPHABET.includes(char)) throw new InvalidCode(`a code has no "${char}"`);
    code += char;
  }
  if (code.length !== CODE_LENGTH) throw new InvalidCode(`a code has ${CODE_LENGTH} letters and digits`);
  return code;
}

/** Canonical code to display form, `K7QM4XTB9R` -> `K7QM4-XTB9R`. */
export function formatCode(code) {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

const isInt = (value) => Number.isSafeInteger(value);

function text(value, field) {
  if (typeof value !== "string" || value.length > MAX_TEXT) {
    throw new ProtocolError(`${field} must be a string of at most ${MAX_TEXT} characters`);
  }
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

/**
 * Parse and validate one text message; the result holds only known fields.
 * @param {string} data
 * @returns {object}
 */
export function parseMessage(data) {
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
  switch (type) {
    case "manifest": {
      if (message.version !== PROTOCOL_VERSION) {
        throw new ProtocolError(`unsupported protocol version ${JSON.stringify(message.version)}`);
      }
      const { files } = message;
      if (!Array.isArray(files) || files.length < 1 || files.length > MAX_FILES) {
        throw new ProtocolError("a manifest lists 1 to 10000 files");
      }
      return { type, version: PROTOCOL_VERSION, files: files.map(fileEntry) };
    }
    case "accept":
    case "decline":
    case "done":
      return { type };
    case "file-end":
    case "file-ok": {
      const { index } = message;
      if (!isInt(index) || index < 0 || index >= MAX_FILES) {
        throw new ProtocolError("index must be a file's position in the manifest");
      }
      if (type === "file-ok") return { type, index };
      if (typeof message.digest !== "string" || !/^[0-9a-f]{64}$/.test(message.digest)) {
        throw new ProtocolError("digest must be 64 lower-case hex digits");
      }
      return { type, index, digest: message.digest };
    }
    case "cancel":
      return { type, reason: text(message.reason ?? "", "reason") };
    case "error":
      return { type, message: text(message.message, "message") };
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(type)}`);
  }
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
