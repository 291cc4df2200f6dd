/**
 * What the v2 handshake makes of its SPAKE2 key (docs/PROTOCOL.md, the handshake): the
 * two confirmations and the two seal keys, each by HKDF; sealing a signal with
 * AES-256-GCM (a random 96-bit IV, the signal type as associated data); and comparing
 * confirmations in constant time.
 * @module protocol/seal
 */

import { EncodingError, concat, fromBase64, toBase64, utf8 } from "./bytes.js";
import { hkdf } from "./kdf.js";

const KEY_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/** A sealed blob that does not open (wrong key, altered bytes, another type, too short). */
export class SealBroken extends Error {}

/**
 * @typedef {object} SessionKeys
 * @property {Uint8Array} confirmA the sender's (side A's) confirmation
 * @property {Uint8Array} confirmB the receiver's
 * @property {Uint8Array} sealA the key the sender seals with (sender -> receiver)
 * @property {Uint8Array} sealB the key the receiver seals with
 */

/** @param {Uint8Array} key the 32-byte SPAKE2 key @returns {Promise<SessionKeys>} */
export async function deriveKeys(key) {
  const [confirmA, confirmB, sealA, sealB] = await Promise.all(
    ["confirm A", "confirm B", "seal A", "seal B"].map((what) => hkdf(key, `sendit/v2 ${what}`, KEY_LENGTH)),
  );
  return { confirmA, confirmB, sealA, sealB };
}

/** True if `a` and `b` hold the same bytes, in a time that depends only on their length. */
export function sameBytesConstantTime(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** @param {Uint8Array} raw a seal key from deriveKeys @returns {Promise<CryptoKey>} */
export const importSealKey = (raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);

const gcm = (iv, type) => ({ name: "AES-GCM", iv, additionalData: utf8(type), tagLength: 8 * TAG_LENGTH });

/**
 * The `data` of a sealed signal of type `type`: base64(IV || ciphertext || tag).
 * @param {CryptoKey} key
 * @param {string} type
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} iv 12 random bytes, never used twice with one key
 * @returns {Promise<string>}
 */
export async function seal(key, type, plaintext, iv) {
  if (iv.length !== IV_LENGTH) throw new TypeError(`an IV is ${IV_LENGTH} bytes`);
  return toBase64(concat(iv, new Uint8Array(await crypto.subtle.encrypt(gcm(iv, type), key, plaintext))));
}

/**
 * The plaintext of a sealed signal's `data`; SealBroken unless `seal` made it, in its
 * one base64 spelling, with this key and type.
 * @param {CryptoKey} key
 * @param {string} type
 * @param {unknown} data
 * @returns {Promise<Uint8Array>}
 */
export async function open(key, type, data) {
  let sealed;
  try {
    sealed = fromBase64(data);
  } catch (error) {
    if (error instanceof EncodingError) throw new SealBroken("a sealed signal is not base64");
    throw error;
  }
  if (sealed.length < IV_LENGTH + TAG_LENGTH) throw new SealBroken("a sealed signal is too short");
  const iv = sealed.subarray(0, IV_LENGTH);
  try {
    return new Uint8Array(await crypto.subtle.decrypt(gcm(iv, type), key, sealed.subarray(IV_LENGTH)));
  } catch (error) {
    if (error.name === "OperationError") throw new SealBroken("a signal failed its seal check");
    throw error;
  }
}
