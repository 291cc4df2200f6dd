/**
 * Bytes as the v2 handshake handles them: hex (constants), base64 (signals on the
 * wire, RFC 4648 section 4 with padding and nothing else), UTF-8, joining, and random
 * bytes from the browser's CSPRNG.
 * @module protocol/bytes
 */

/** Text that is not the encoding it should be. */
export class EncodingError extends Error {}

/** @param {string} hex @returns {Uint8Array} */
export function fromHex(hex) {
  if (typeof hex !== "string" || !/^(?:[0-9a-f]{2})*$/.test(hex)) throw new EncodingError("not lower-case hex");
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

/** @param {Uint8Array} bytes @returns {string} */
export function toBase64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict: the alphabet and padding of RFC 4648 section 4, no whitespace (atob alone
 * would take whitespace and missing padding), and the one encoding of its bytes (unused
 * bits zero), so that every blob has exactly one spelling.
 * @param {string} text @returns {Uint8Array} */
export function fromBase64(text) {
  if (typeof text !== "string" || !BASE64.test(text)) throw new EncodingError("not base64");
  const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  if (toBase64(bytes) !== text) throw new EncodingError("not base64 in its one encoding");
  return bytes;
}

/** os.urandom's shape: `n` bytes from the browser's CSPRNG. */
export const randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

const encoder = new TextEncoder();
export const utf8 = (text) => encoder.encode(text);

/** @param {...Uint8Array} parts @returns {Uint8Array} */
export function concat(...parts) {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
