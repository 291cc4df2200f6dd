/**
 * Runs the `pake` and `hostile_points` sections of docs/protocol-vectors.json against
 * the real /js/protocol/spake2.js and seal.js (the derivations), and the hostile points
 * through /js/protocol/handshake.js too; lists every case that came out differently.
 */

import { fromHex, toBase64, utf8 } from "/js/protocol/bytes.js";
import { Handshake, RECEIVER_ID, SENDER_ID } from "/js/protocol/handshake.js";
import { deriveKeys } from "/js/protocol/seal.js";
import { BLINDING, BadMessage, Spake2 } from "/js/protocol/spake2.js";
import { toHex } from "./common.js";

/** An entropy source that returns `hex`, once, and only for the 64 bytes the package asks. */
function fixedEntropy(hex) {
  let calls = 0;
  return (n) => {
    if (n !== 64 || calls++ > 0) throw new Error(`entropy asked for ${n} bytes, call ${calls}`);
    return fromHex(hex);
  };
}

/** deriveKeys' names for the vectors' keys. */
const DERIVED = { confirmA: "confirm_A", confirmB: "confirm_B", sealA: "seal_A", sealB: "seal_B" };

/** The M and N spake2.js uses, as it encodes them. */
export const blinding = () => ({ ...BLINDING });

export async function runPake(pake) {
  const failures = [];
  const check = (ok, what) => ok || failures.push(what);
  check(BLINDING.M === pake.M && BLINDING.N === pake.N, `M, N ${JSON.stringify(BLINDING)}`);
  const ids = { idA: utf8(pake.idA), idB: utf8(pake.idB) };
  for (const c of pake.cases) {
    const password = utf8(c.code);
    const a = await Spake2.start("A", password, { ...ids, entropy: fixedEntropy(c.entropy_A) });
    const b = await Spake2.start("B", password, { ...ids, entropy: fixedEntropy(c.entropy_B) });
    check(toHex(a.message) === c.msg_A, `${c.code}: msg_A ${toHex(a.message)}`);
    check(toHex(b.message) === c.msg_B, `${c.code}: msg_B ${toHex(b.message)}`);
    const keyA = await a.finish(fromHex(c.msg_B));
    const keyB = await b.finish(fromHex(c.msg_A));
    check(toHex(keyA) === c.key && toHex(keyB) === c.key, `${c.code}: key ${toHex(keyA)} ${toHex(keyB)}`);
    const keys = await deriveKeys(fromHex(c.key));
    for (const [name, vector] of Object.entries(DERIVED)) {
      check(toHex(keys[name]) === c[vector], `${c.code}: ${vector} ${toHex(keys[name])}`);
    }
  }
  return failures;
}

/** `run()`'s refusal as "<errorId or check>", or what happened instead. */
async function refusal(run) {
  try {
    await run();
    return "accepted";
  } catch (error) {
    if (error instanceof BadMessage) return error.check;
    return error.errorId ?? `threw ${error.name}: ${error.message}`;
  }
}

export async function runHostile(hostile) {
  const failures = [];
  for (const c of hostile.cases) {
    const side = c.role === "sender" ? "A" : "B";
    const ids = { idA: utf8(SENDER_ID), idB: utf8(RECEIVER_ID) };
    const spake2 = await Spake2.start(side, utf8(c.code), { ...ids, entropy: fixedEntropy(c.entropy) });
    const bySpake2 = await refusal(() => spake2.finish(fromHex(c.message)));
    if (bySpake2 !== c.refused_by) failures.push(`${c.name}: Spake2 ${bySpake2}, not ${c.refused_by}`);
    const handshake = await Handshake.create(c.role, c.code, { entropy: fixedEntropy(c.entropy) });
    const pake = toBase64(fromHex(c.message));
    const byHandshake = await refusal(() =>
      c.role === "sender" ? handshake.peerJoined(pake) : handshake.receive({ type: "pake", data: pake }),
    );
    if (byHandshake !== "bad-handshake") failures.push(`${c.name}: Handshake ${byHandshake}`);
  }
  return failures;
}
