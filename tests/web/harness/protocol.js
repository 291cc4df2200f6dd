/**
 * Runs docs/protocol-vectors.json (handed in by the test) against the real
 * /js/protocol/protocol.js, and lists every case that came out differently.
 */

import * as p from "/js/protocol/protocol.js";
import { deepEqual } from "./common.js";

const pattern = (n) => {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = i % 251;
  return bytes;
};

/** What `run` returns instead of throwing, so a failing case names itself. */
const attempt = (run) => {
  try {
    return run();
  } catch (error) {
    return `threw ${error.message}`;
  }
};
const throwsA = (kind, run) => {
  try {
    run();
  } catch (error) {
    return error instanceof kind;
  }
  return false;
};

export async function runVectors(vectors) {
  const failures = [];
  const check = (ok, what) => ok || failures.push(what);
  for (const c of vectors.digests.cases) {
    const data = pattern(c.size);
    const digest = new p.BlockDigest();
    for (let i = 0; i < data.length; i += p.BLOCK_SIZE) await digest.addBlock(data.subarray(i, i + p.BLOCK_SIZE));
    const got = await digest.hexdigest();
    check(got === c.digest, `digest of ${c.size} bytes: ${got}`);
  }
  for (const c of vectors.messages.valid) {
    const got = attempt(() => p.parseMessage(c.text));
    check(deepEqual(got, c.parsed), `message ${c.text.slice(0, 60)} -> ${JSON.stringify(got)}`);
  }
  for (const c of vectors.messages.invalid) {
    check(throwsA(p.ProtocolError, () => p.parseMessage(c.text)), `message accepted: ${c.why}`);
  }
  for (const c of vectors.shown.cases) {
    const got = p.neutralised(c.text);
    check(got === c.shown, `shown ${JSON.stringify(c.text)} -> ${JSON.stringify(got)}`);
  }
  return failures;
}
