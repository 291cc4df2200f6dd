/**
 * Runs the `handshake` section of docs/protocol-vectors.json against the real
 * /js/protocol/handshake.js (one Handshake per case, fixed entropy and IVs, every
 * signal out compared byte for byte), and drives pairs of Handshakes for what the
 * vectors cannot show: calls made without waiting, misuse, and the log.
 */

import { fromHex } from "/js/protocol/bytes.js";
import { Handshake } from "/js/protocol/handshake.js";
import { deepEqual } from "./common.js";

/** IVs from the case's list, in order, 12 bytes a call. */
function fixedIvs(ivs) {
  let next = 0;
  return (n) => {
    if (n !== 12 || next >= ivs.length) throw new Error(`IV ${next} of ${n} bytes asked for`);
    return fromHex(ivs[next++]);
  };
}

/** What one step does: [signals sent, inner signal opened]. */
async function perform(handshake, step) {
  if ("peer_joined" in step) return [await handshake.peerJoined(step.peer_joined), null];
  if ("in" in step) {
    const { send, open } = await handshake.receive(step.in);
    return [send, open];
  }
  return [[await handshake.seal(step.seal.type, step.seal.fields)], null];
}

async function runCase(c) {
  const failures = [];
  const fail = (what) => failures.push(`${c.name}: ${what}`);
  const entropy = () => fromHex(c.entropy);
  const handshake = await Handshake.create(c.role, c.code, { entropy, random: fixedIvs(c.ivs) });
  if (handshake.pake !== c.pake) fail(`pake ${handshake.pake}`);
  let raised = null;
  for (const [index, step] of c.steps.entries()) {
    let send, open;
    try {
      [send, open] = await perform(handshake, step);
    } catch (error) {
      raised = error.errorId ?? `${error.name}: ${error.message}`;
      if (raised !== step.error_id) fail(`step ${index} threw ${raised}: ${error.message}`);
      break;
    }
    if ("error_id" in step) {
      fail(`step ${index} went through, where ${step.error_id} was due`);
      break;
    }
    if (!deepEqual(send, step.send)) fail(`step ${index} sent ${JSON.stringify(send)}`);
    if ("in" in step && !deepEqual(open, step.open)) fail(`step ${index} opened ${JSON.stringify(open)}`);
  }
  const outcome = handshake.trusted ? "trusted" : raised;
  if (outcome !== c.outcome) fail(`ended ${outcome} (${handshake.state})`);
  if (raised !== null && handshake.state !== "failed") fail(`state ${handshake.state} after ${raised}`);
  return failures;
}

export async function runHandshakes(vectors) {
  const failures = [];
  for (const c of vectors.cases) failures.push(...(await runCase(c)));
  return failures;
}

/** The error id (or name and message) a promise rejects with, or null if it fulfils. */
const refusal = (promise) =>
  promise.then(
    () => null,
    (error) => error.errorId ?? `${error.name}: ${error.message}`,
  );

/** `run()` with console.debug recorded: [its result, the lines logged]. */
async function logged(run) {
  const lines = [];
  const debug = console.debug;
  console.debug = (...parts) => lines.push(parts.join(" "));
  try {
    return [await run(), lines];
  } finally {
    console.debug = debug;
  }
}

/**
 * A whole handshake between two Handshakes with every signal handed over without
 * waiting for the previous one to be processed: what each opened, in order, their
 * states, and what they logged.
 */
export async function unwaitedPair({ code }) {
  const [result, lines] = await logged(async () => {
    const sender = await Handshake.create("sender", code);
    const receiver = await Handshake.create("receiver", code);
    const first = sender.peerJoined(receiver.pake);
    const offer = sender.seal("offer", { sdp: "v=0 offer" });
    const candidate = (i) => ({ candidate: `c${i}`, sdpMid: "0", sdpMLineIndex: 0, usernameFragment: null });
    const candidates = [0, 1, 2].map((i) => sender.seal("candidate", { candidate: candidate(i) }));
    const toReceiver = await Promise.all([first, offer, ...candidates]);
    const results = await Promise.all(toReceiver.flat().map((signal) => receiver.receive(signal)));
    const answer = receiver.seal("answer", { sdp: "v=0 answer" });
    const replies = results.flatMap(({ send }) => send);
    const back = await Promise.all([...replies, await answer].map((signal) => sender.receive(signal)));
    return {
      receiverOpened: results.map(({ open }) => open?.candidate?.candidate ?? open?.type ?? null),
      senderOpened: back.map(({ open }) => open?.type ?? null),
      states: [sender.state, receiver.state],
      trusted: [sender.trusted, receiver.trusted],
    };
  });
  return { ...result, lines };
}

/** What a receiver says to misuse, and to a signal after it failed. */
export async function misuse({ code }) {
  const receiver = await Handshake.create("receiver", code);
  const sender = await Handshake.create("sender", code);
  const early = {
    createBadRole: await refusal(Handshake.create("peer", code)),
    createTypedCode: await refusal(Handshake.create("sender", code.toUpperCase())),
    receiverSealsBeforeTrust: await refusal(receiver.seal("answer", { sdp: "x" })),
    senderSealsBeforePeer: await refusal(sender.seal("offer", { sdp: "x" })),
  };
  await sender.peerJoined(receiver.pake);
  const later = {
    candidateBeforeOffer: await refusal(sender.seal("candidate", { candidate: null })),
    answerFromSender: await refusal(sender.seal("answer", { sdp: "x" })),
    offerWithExtraField: await refusal(sender.seal("offer", { sdp: "x", n: 5 })),
    emptySdp: await refusal(sender.seal("offer", { sdp: "" })),
  };
  // None of those refusals used up a number: the offer is still the first sealed signal.
  const offer = await sender.seal("offer", { sdp: "x" });
  const wrong = await refusal(receiver.receive({ type: "confirm", data: "AAAA" }));
  const afterFailure = await refusal(receiver.receive({ type: "pake", data: sender.pake }));
  return { ...early, ...later, offer: offer.type, wrong, afterFailure, state: receiver.state };
}

/** The one Handshake the calls below drive, across calls from the test. */
let live = null;

/** A new Handshake to drive; its pake. */
export async function begin({ role, code }) {
  live = await Handshake.create(role, code);
  return live.pake;
}

/** `live[call](...args)`: its result, or the error id it threw, and where it stands. */
export async function act({ call, args }) {
  const standing = () => ({ state: live.state, trusted: live.trusted });
  try {
    return { result: await live[call](...args), ...standing() };
  } catch (error) {
    return { errorId: error.errorId ?? `${error.name}: ${error.message}`, ...standing() };
  }
}
