/**
 * SHA-256 and HKDF-SHA256 (RFC 5869) through WebCrypto, as the v2 handshake and the
 * python spake2 package use them: HKDF always with an empty salt.
 * @module protocol/kdf
 */

import { utf8 } from "./bytes.js";

/** @param {Uint8Array} data @returns {Promise<Uint8Array>} */
export async function sha256(data) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/**
 * `length` bytes of HKDF-SHA256 of `ikm`, salt empty, `info` as UTF-8. An empty salt is
 * the same as RFC 5869's default (HMAC pads either to the same all-zero key).
 * @param {Uint8Array} ikm
 * @param {string} info
 * @param {number} length in bytes
 * @returns {Promise<Uint8Array>}
 */
export async function hkdf(ikm, info, length) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const params = { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: utf8(info) };
  return new Uint8Array(await crypto.subtle.deriveBits(params, key, 8 * length));
}
