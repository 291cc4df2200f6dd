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
  for (const c of vectors.digests.prefixes.cases) {
    const data = pattern(c.size);
    const digest = new p.BlockDigest();
    for (let i = 0; i < data.length; i += p.BLOCK_SIZE) await digest.addBlock(data.subarray(i, i + p.BLOCK_SIZE));
    const got = await p.prefixDigest(digest.hashes.slice(0, c.blocks));
    check(got === c.digest, `prefix digest of ${c.blocks} blocks of ${c.size} bytes: ${got}`);
  }
  for (const c of vectors.messages.resumes.cases) {
    const files = c.sizes.map((size, i) => ({ name: `f${i}`, size, type: "" }));
    const got = attempt(() => {
      const parts = new p.ResumeParts(files, p.parseMessage(c.accept));
      for (const text of c.more) parts.add(p.parseMessage(text));
      return true;
    });
    check((got === true) === c.ok, `resume entries (${c.why}) -> ${got}`);
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

/** What a receiver holding part of each of `count` files sends: the texts' lengths, and
 * whether the sender's ResumeParts puts every entry back together. */
export function acceptOf({ count }) {
  const files = Array.from({ length: count }, (_, i) => ({ name: `f${i}`, size: Number.MAX_SAFE_INTEGER, type: "" }));
  const held = files.map((_, index) => ({ index, blocks: 8589934592, digest: index.toString(16).padStart(64, "0") }));
  const texts = p.acceptMessages(held).map((message) => JSON.stringify(message));
  const parts = new p.ResumeParts(files, p.parseMessage(texts[0]));
  for (const text of texts.slice(1)) parts.add(p.parseMessage(text));
  return { lengths: texts.map((text) => text.length), complete: parts.complete, same: deepEqual([...parts.entries.values()], held) };
}
