/**
 * Runs the `seal` section of docs/protocol-vectors.json against the real
 * /js/protocol/seal.js, and lists every case that came out differently.
 */

import { fromHex, utf8 } from "/js/protocol/bytes.js";
import { SealBroken, importSealKey, open, sameBytesConstantTime, seal } from "/js/protocol/seal.js";

const text = new TextDecoder();

export async function runSeal(vectors) {
  const failures = [];
  const check = (ok, what) => ok || failures.push(what);
  for (const c of vectors.accepted) {
    const key = await importSealKey(fromHex(c.key));
    const data = await seal(key, c.type, utf8(c.plaintext), fromHex(c.iv));
    check(data === c.data, `seal ${c.type} ${c.plaintext.slice(0, 30)}: ${data}`);
    const opened = text.decode(await open(key, c.type, c.data));
    check(opened === c.plaintext, `open ${c.type}: ${opened.slice(0, 30)}`);
  }
  for (const c of vectors.tampered) {
    const key = await importSealKey(fromHex(c.key));
    try {
      await open(key, c.type, c.data);
      failures.push(`opened: ${c.why}`);
    } catch (error) {
      check(error instanceof SealBroken, `${c.why}: threw ${error.name}: ${error.message}`);
    }
  }
  return failures;
}

/** sameBytesConstantTime on pairs of byte lists. */
export const compared = (pairs) => pairs.map(([a, b]) => sameBytesConstantTime(Uint8Array.from(a), Uint8Array.from(b)));
