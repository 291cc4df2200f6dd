/**
 * Runs the transfer transcripts of docs/protocol-vectors.json (section "transcripts",
 * whose _about is the format) against the real Sender and Receiver of
 * /js/transfer/machines.js, each over an in-memory channel in this page: no network.
 * For tests/web/test_transcripts.py, which hands in one case at a time.
 */

import { MAX_MESSAGE } from "/js/protocol/protocol.js";
import { Receiver, Sender } from "/js/transfer/machines.js";
import { BlobStore } from "/js/transfer/store/blob.js";
import { within } from "./common.js";

const WAIT_MS = 10000;
const INPUTS = new Set(["in", "in_text", "in_binary", "in_close", "cancel"]);

/** A mismatch between the case and what the machine did: the runner's verdict. */
class Mismatch extends Error {}

/** Byte i is (start + i) mod 251; or the hex given. */
function bytesOf(spec) {
  if ("hex" in spec) return Uint8Array.from(spec.hex.match(/../g) ?? [], (h) => parseInt(h, 16));
  const start = spec.start ?? 0;
  return Uint8Array.from({ length: spec.size }, (_, i) => (start + i) % 251);
}

/** A sender's file or a kept file's content. */
const content = (file) => bytesOf("hex" in file ? { hex: file.hex } : { size: file.size });

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** A sender case's files, each `repeat` spelled out. */
function offered(files) {
  return files.flatMap(({ repeat, ...file }) =>
    repeat === undefined ? [file] : Array.from({ length: repeat }, (_, i) => ({ ...file, name: file.name.replace("{}", i) })),
  );
}

/** The text an `in` or `in_text` step sends: compact JSON, padded to `size` bytes if asked. */
function textOf(step) {
  if ("in_text" in step) return step.in_text;
  const text = JSON.stringify(step.in);
  return step.size === undefined ? text : text + " ".repeat(step.size - new TextEncoder().encode(text).length);
}

/** JSON equality as an `out` step means it: the listed fields only, at the top. */
function equal(expected, actual) {
  if (Array.isArray(expected) || Array.isArray(actual)) {
    return Array.isArray(expected) && Array.isArray(actual) && expected.length === actual.length &&
      expected.every((value, i) => equal(value, actual[i]));
  }
  if (expected && actual && typeof expected === "object" && typeof actual === "object") {
    const keys = Object.keys(expected);
    return keys.length === Object.keys(actual).length && keys.every((key) => key in actual && equal(expected[key], actual[key]));
  }
  return expected === actual;
}
const matches = (expected, actual) =>
  actual !== null && typeof actual === "object" && !Array.isArray(actual) &&
  Object.entries(expected).every(([key, value]) => key in actual && equal(value, actual[key]));

/**
 * One end of a data channel, as the machine sees it: open, ordered, reliable, labelled
 * sendit, and nothing ever buffered. The runner plays the peer: `deliver` and
 * `peerClose`, and takes what the machine sent with `nextSent`.
 */
class MemoryChannel extends EventTarget {
  label = "sendit";
  ordered = true;
  maxRetransmits = null;
  maxPacketLifeTime = null;
  readyState = "open";
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  binaryType = "blob";
  #sent = [];
  #wake = () => {};
  closedByMachine = false;

  /** Whether the machine reads this channel yet: a real one delivers nothing before the
   * tasks after its opening, by when the machine that took it listens. */
  listened = false;

  addEventListener(type, listener, options) {
    super.addEventListener(type, listener, options);
    if (type === "message") {
      this.listened = true;
      this.#wake();
    }
  }

  send(data) {
    if (this.readyState !== "open") throw new DOMException("the channel is not open", "InvalidStateError");
    if (typeof data === "string") this.#sent.push(data);
    else if (ArrayBuffer.isView(data)) this.#sent.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    else this.#sent.push(new Uint8Array(data.slice(0)));
    this.#wake();
  }

  close() {
    if (this.readyState === "closed") return;
    this.closedByMachine = true;
    this.#closeNow();
  }

  deliver(data) {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }

  peerClose() {
    if (this.readyState !== "closed") this.#closeNow();
  }

  #closeNow() {
    this.readyState = "closed";
    this.dispatchEvent(new Event("close"));
    this.#wake();
  }

  /** What was sent and not yet taken. */
  get unread() {
    return this.#sent.length;
  }

  /** Waits until `ready()` holds, woken by each send and close. */
  async until(ready, what) {
    const waiting = (async () => {
      while (!ready()) await new Promise((resolve) => (this.#wake = resolve));
    })();
    await within(waiting, WAIT_MS, what).catch(() => {
      throw new Mismatch(`waited ${WAIT_MS / 1000} s for ${what}`);
    });
  }

  /** The next message the machine sent (a string or a Uint8Array), once there is one. */
  async nextSent(what) {
    await this.until(() => this.#sent.length > 0, what);
    return this.#sent.shift();
  }

  peekSent() {
    return this.#sent[0];
  }
}

const describe = (data) => (typeof data === "string" ? data.slice(0, 120) : `binary of ${data.length} bytes`);
const parsed = (data) => (typeof data === "string" ? JSON.parse(data) : null);
const kindOf = (data) => (typeof data === "string" ? parsed(data).type : "binary");

/**
 * The real in-memory store, holding what a case's `holdings` say is left of files from
 * an earlier run: `partial` hands it out, and a writer told to keep bytes starts with them.
 */
class HeldStore extends BlobStore {
  #held;

  constructor(holdings = []) {
    super();
    this.#held = new Map(holdings.map(({ index, bytes }) => [index, new Blob([bytesOf(bytes)])]));
  }

  async partial(index) {
    return this.#held.get(index) ?? null;
  }

  async open(index, entry, { keep = 0 } = {}) {
    const writer = await super.open(index, entry);
    if (keep) await writer.write(new Uint8Array(await this.#held.get(index).slice(0, keep).arrayBuffer()));
    return writer;
  }
}

/** Resolves each time the machine says it lost its channel and waits for a new one. */
function losses() {
  let mark;
  let lost = new Promise((resolve) => (mark = resolve));
  return {
    onLost: () => mark(),
    next: async () => {
      await within(lost, WAIT_MS, "the machine to wait for a new channel").catch((error) => {
        throw new Mismatch(error.message);
      });
      lost = new Promise((resolve) => (mark = resolve));
    },
  };
}

/** The person of a receiver case: asked once, answers when a `decide` step says so. */
function person(holdings) {
  let markAsked;
  const asked = new Promise((resolve) => (markAsked = resolve));
  return {
    ask: () => new Promise((answer) => markAsked(answer)),
    answer: async (decision) => {
      const answer = await within(asked, WAIT_MS, "the machine to ask its person").catch((error) => {
        throw new Mismatch(error.message);
      });
      answer(decision === "accept" && new HeldStore(holdings));
    },
  };
}

/** The machine a case drives, and what it handed over or counted delivered. */
function machineFor(testCase, channel, asker, onLost) {
  const limits = testCase.limits ?? {};
  if (testCase.role === "sender") {
    const delivered = [];
    const files = offered(testCase.files).map(({ name, type, ...file }) => {
      const blob = new Blob([content(file)]);
      return { name, type, size: blob.size, slice: (start, end) => blob.slice(start, end) };
    });
    const machine = new Sender(channel, files, {
      onDelivered: (index) => delivered.push(index),
      onLost,
      ...(limits.answer_seconds === undefined ? {} : { answerMs: limits.answer_seconds * 1000 }),
    });
    return { machine, handed: { delivered } };
  }
  const kept = [];
  const machine = new Receiver(channel, {
    onManifest: asker.ask,
    onFile: (index, { file }) => kept.push({ index, blob: file }),
    onLost,
    ...(limits.manifest_seconds === undefined ? {} : { manifestMs: limits.manifest_seconds * 1000 }),
  });
  return { machine, handed: { kept } };
}

/** Drops what the machine sent of the `skip` kinds, then takes the next message. */
async function nextUnskipped(channel, skip, what) {
  for (;;) {
    const data = await channel.nextSent(what);
    if (!skip.includes(kindOf(data))) return data;
  }
}

async function expectOut(channel, step) {
  const data = await nextUnskipped(channel, step.skip ?? [], `out ${JSON.stringify(step.out)}`);
  if (typeof data !== "string" || !matches(step.out, parsed(data))) {
    throw new Mismatch(`expected out ${JSON.stringify(step.out)}, got ${describe(data)}`);
  }
  const present = (step.absent ?? []).filter((field) => field in parsed(data));
  if (present.length) throw new Mismatch(`expected no ${present}, got ${describe(data)}`);
}

async function expectBytes(channel, spec) {
  const want = bytesOf(spec);
  let got = 0;
  while (got < want.length) {
    const data = await channel.nextSent(`${want.length - got} more bytes`);
    if (typeof data === "string") throw new Mismatch(`expected ${want.length - got} more bytes, got ${describe(data)}`);
    if (got + data.length > want.length) throw new Mismatch(`a binary message goes past the ${want.length} bytes expected`);
    if (hex(data) !== hex(want.subarray(got, got + data.length))) throw new Mismatch(`bytes ${got}.. differ from the case's`);
    got += data.length;
  }
}

async function expectManifest(channel, files, fields) {
  const want = offered(files).map(({ name, size, type }) => ({ name, size, type }));
  const first = await channel.nextSent("the manifest");
  const manifest = parsed(first);
  const head = { type: "manifest", version: 2, count: want.length, ...(fields === true ? {} : fields) };
  if (!matches(head, manifest)) {
    throw new Mismatch(`expected a manifest of ${want.length} files, got ${describe(first)}`);
  }
  const got = [];
  for (let data = first; ; data = await channel.nextSent("manifest-more")) {
    if (typeof data !== "string" || new TextEncoder().encode(data).length > MAX_MESSAGE) {
      throw new Mismatch(`a manifest part is not a text message of at most ${MAX_MESSAGE} bytes: ${describe(data)}`);
    }
    const part = parsed(data);
    if (data !== first && part.type !== "manifest-more") throw new Mismatch(`expected manifest-more, got ${describe(data)}`);
    got.push(...part.files);
    if (got.length >= want.length) break;
  }
  if (!equal(want, got)) throw new Mismatch(`the manifest's files are not the case's: ${JSON.stringify(got).slice(0, 200)}`);
}

/** Does one step; inputs are synchronous, so a burst of them reaches the machine together. */
function input(channel, machine, step) {
  if ("in" in step || "in_text" in step) channel.deliver(textOf(step));
  else if ("in_binary" in step) channel.deliver(bytesOf(step.in_binary).buffer);
  else if ("in_close" in step) channel.peerClose();
  else machine.cancel(step.cancel);
}

async function awaitStep(channel, step, asker, testCase) {
  if ("decide" in step) await asker.answer(step.decide);
  else if ("out" in step) await expectOut(channel, step);
  else if ("out_bytes" in step) await expectBytes(channel, step.out_bytes);
  else if ("out_manifest" in step) await expectManifest(channel, testCase.files, step.out_manifest);
  else if ("out_close" in step) await channel.until(() => channel.readyState === "closed", "the machine to close its channel");
  else throw new Mismatch(`unknown step ${JSON.stringify(step)}`);
}

async function checkOutcome(testCase, machine, handed, channel, ran) {
  const ending = await within(ran, WAIT_MS, "the machine to end").catch((error) => {
    throw new Mismatch(error.message);
  });
  const { outcome } = testCase;
  const problems = [];
  if (machine.state !== outcome.state) problems.push(`expected state ${outcome.state}, got ${machine.state} (${ending})`);
  if (machine.errorId !== outcome.error_id) problems.push(`expected error_id ${outcome.error_id}, got ${machine.errorId}`);
  if (channel.unread) problems.push(`the machine sent more than the case takes: ${describe(channel.peekSent())}`);
  if ("delivered" in outcome && !equal(outcome.delivered, handed.delivered)) {
    problems.push(`expected delivered ${JSON.stringify(outcome.delivered)}, got ${JSON.stringify(handed.delivered)}`);
  }
  if ("kept" in outcome) {
    const kept = await Promise.all(
      handed.kept.map(async ({ index, blob }) => ({ index, size: blob.size, hex: hex(new Uint8Array(await blob.arrayBuffer())) })),
    );
    const want = outcome.kept.map((file) => ({ size: file.size, hex: hex(content(file)) }));
    if (!equal(want, kept.map(({ size, hex: h }) => ({ size, hex: h })))) {
      problems.push(`expected kept ${outcome.kept.map((f) => f.name)}, got files ${kept.map((f) => f.index)} (${kept.map((f) => f.size)} bytes)`);
    }
  }
  return problems;
}

/** The channel is lost: once the machine waits for a new one, it gets it (returned). */
async function reconnect(channel, machine, lost) {
  channel.peerClose();
  await lost.next();
  if (channel.unread) throw new Mismatch(`sent on the lost channel and not taken: ${describe(channel.peekSent())}`);
  const next = new MemoryChannel();
  machine.resume(next);
  await next.until(() => next.listened, "the machine to read the new channel");
  return next;
}

/** Runs one case; returns its problems ([] when the machine did exactly what it says). */
export async function runTranscript(testCase) {
  let channel = new MemoryChannel();
  const asker = person(testCase.holdings);
  const lost = losses();
  const { machine, handed } = machineFor(testCase, channel, asker, lost.onLost);
  const ran = machine.run().then(
    (value) => `resolved ${JSON.stringify(value)}`,
    (error) => `rejected: ${error.message}`,
  );
  try {
    for (const step of testCase.steps) {
      if (Object.keys(step).some((key) => INPUTS.has(key))) input(channel, machine, step);
      else if ("reconnect" in step) channel = await reconnect(channel, machine, lost);
      else await awaitStep(channel, step, asker, testCase);
    }
    return await checkOutcome(testCase, machine, handed, channel, ran);
  } catch (error) {
    if (!(error instanceof Mismatch)) throw error;
    return [`${error.message}; the machine is ${machine.state} (${await Promise.race([ran, "still running"])})`];
  }
}
