/**
 * CRC-32 (ISO 3309, the polynomial ZIP uses), computed as bytes go by, for zip.js.
 * @module transfer/store/crc32
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** A running CRC-32: `add(bytes)` as they come, `value` the CRC of everything added. */
export class Crc32 {
  #c = 0xffffffff;

  /** @param {Uint8Array} bytes */
  add(bytes) {
    let c = this.#c;
    for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    this.#c = c;
  }

  get value() {
    return (this.#c ^ 0xffffffff) >>> 0;
  }
}
