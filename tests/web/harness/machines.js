/**
 * Scenarios for /js/transfer/machines.js, run by tests/web/test_machines.py.
 *
 * Both peers live in one page: two RTCPeerConnections (no ICE servers, loopback only)
 * are connected directly, without the signalling server, and the real classes run on
 * each end of a real data channel: what an in-memory channel cannot show (backpressure,
 * a channel closing, the channel's own properties). Every exchange of messages, good or
 * hostile, is a shared transcript instead (tests/web/harness/transcripts.js).
 * Each exported scenario returns what happened as plain data; the test judges it.
 */

import { BLOCK_SIZE, BlockDigest } from "/js/protocol/protocol.js";
import { Receiver, Sender, TransferError } from "/js/transfer/machines.js";
import { BlobStore } from "/js/transfer/store/blob.js";
import { until, within } from "./common.js";

const WAIT_MS = 15000;

// --- helpers ------------------------------------------------------------------------

/**
 * How a run() ended, as plain data. A Receiver resolves to its files (sent back as
 * names) or to false when it declined; a Sender resolves to nothing (null).
 */
function settle(promise) {
  return promise.then(
    (value) => ({ ok: true, value: Array.isArray(value) ? value.map((f) => f.name) : (value ?? null) }),
    (error) => ({ ok: false, transferError: error instanceof TransferError, message: String(error?.message ?? error) }),
  );
}

/** Resolves with `channel` once it is open; rejects if it closes first. */
function opened(channel) {
  if (channel.readyState === "open") return Promise.resolve(channel);
  return new Promise((resolve, reject) => {
    channel.addEventListener("open", () => resolve(channel), { once: true });
    channel.addEventListener("close", () => reject(new Error("channel closed before opening")), { once: true });
  });
}

/** Two RTCPeerConnections in this page, connected, with a channel open between them:
 * the "sendit" one a sender makes, unless `label` and `options` say otherwise. */
async function openPair(label = "sendit", options = { ordered: true }) {
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  const iceErrors = [];
  const forward = (to) => (event) => {
    if (event.candidate) to.addIceCandidate(event.candidate).catch((e) => iceErrors.push(String(e)));
  };
  a.addEventListener("icecandidate", forward(b));
  b.addEventListener("icecandidate", forward(a));
  const sendCh = a.createDataChannel(label, options);
  const incoming = new Promise((resolve) => {
    b.addEventListener("datachannel", (e) => resolve(e.channel), { once: true });
  });
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  let recvCh;
  try {
    const both = Promise.all([opened(sendCh), incoming.then(opened)]);
    [, recvCh] = await within(both, WAIT_MS, "the data channel to open");
  } catch (error) {
    a.close();
    b.close();
    throw new Error(`${error.message} (ICE errors: ${JSON.stringify(iceErrors)})`);
  }
  const close = () => {
    a.close();
    b.close();
  };
  return { a, b, sendCh, recvCh, close };
}

/** Runs `scenario(pair)` on a fresh pair, which is closed afterwards whatever happened. */
export async function withPair(scenario, label, options) {
  const pair = await openPair(label, options);
  try {
    return await scenario(pair);
  } finally {
    pair.close();
  }
}

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be reproduced. */
export function bytes(size, seed = 1) {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >> 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

async function sha256(data) {
  const buffer = data instanceof Blob ? await data.arrayBuffer() : data;
  return hex(await crypto.subtle.digest("SHA-256", buffer));
}

/** The protocol's block digest (PROTOCOL.md 3.3), as a hostile sender must compute it. */
export async function digestOf(data) {
  const digest = new BlockDigest();
  for (let i = 0; i < data.length; i += BLOCK_SIZE) await digest.addBlock(data.subarray(i, i + BLOCK_SIZE));
  return digest.hexdigest();
}

/** Records what arrives on a raw channel end; `next(match)` waits for a matching message. */
export function recorder(channel) {
  channel.binaryType = "arraybuffer";
  const seen = [];
  let wake = () => {};
  channel.addEventListener("message", (event) => {
    seen.push(typeof event.data === "string" ? JSON.parse(event.data) : { binary: event.data.byteLength });
    wake();
  });
  let from = 0;
  const found = async (match) => {
    for (;;) {
      const i = seen.findIndex((m, k) => k >= from && match(m));
      if (i >= 0) {
        from = i + 1;
        return seen[i];
      }
      await new Promise((resolve) => (wake = resolve));
    }
  };
  return { seen, next: (match, what) => within(found(match), WAIT_MS, what) };
}

export const ofType = (type) => (m) => m.type === type;
export const manifest = (files) => ({ type: "manifest", version: 2, count: files.length, files });
export const send = (channel, message) => channel.send(typeof message === "string" ? message : JSON.stringify(message));

/** Counts the binary bytes and the text messages a channel end sends. */
function countSent(channel) {
  const counter = { bytes: 0, texts: 0 };
  const original = channel.send.bind(channel);
  channel.send = (data) => {
    if (typeof data === "string") counter.texts += 1;
    else counter.bytes += data.byteLength;
    return original(data);
  };
  return counter;
}

/**
 * A real Receiver that accepts, and at its first progress does `act(receiver)` once;
 * `calls` gets `what` then, and each file handed over.
 */
function receiverActingOnce(channel, calls, what, act) {
  const receiver = new Receiver(channel, {
    onManifest: async () => new BlobStore(),
    onProgress: () => {
      if (!calls.length) {
        calls.push(what);
        act(receiver);
      }
    },
    onFile: (i) => calls.push(`onFile ${i}`),
  });
  return receiver;
}

// --- the real Sender and the real Receiver ------------------------------------------

/** `files` ({name, size, type}) sent and received in full, with a log of every callback. */
export function happyPath({ files: specs }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const files = specs.map((f, i) => new File([bytes(f.size, i + 1)], f.name, { type: f.type }));
    const sentHashes = await Promise.all(files.map(sha256));
    const log = [];
    // Hold the receiver's `done` until the sender has had every file-ok and a turn of
    // the event loop: the sender must not resolve before `done` reaches it.
    let heldDone = null;
    const recvSend = recvCh.send.bind(recvCh);
    recvCh.send = (data) => {
      if (typeof data === "string" && JSON.parse(data).type === "done") {
        log.push("receiver sent done");
        heldDone = data;
      } else {
        recvSend(data);
      }
    };
    const releaseDone = () => {
      if (heldDone === null) {
        log.push("done was not sent before the last file-ok arrived");
        return;
      }
      log.push("done released");
      recvSend(heldDone);
    };
    const got = [];
    const receiverProgress = [];
    const receiver = new Receiver(recvCh, {
      onManifest: async (manifest) => {
        log.push(`manifest ${manifest.length}`);
        return new BlobStore();
      },
      onProgress: (e) => receiverProgress.push(e),
      onFile: (index, { file }) => {
        log.push(`onFile ${index}`);
        got.push({ index, blob: file });
      },
    });
    const senderProgress = [];
    const sender = new Sender(sendCh, files, {
      onAccepted: () => log.push("accepted"),
      onProgress: (e) => senderProgress.push(e),
      onDelivered: (index) => {
        log.push(`delivered ${index}`);
        if (index === files.length - 1) setTimeout(releaseDone, 0);
      },
    });
    const receiving = settle(receiver.run());
    const sending = settle(sender.run()).then((r) => {
      log.push("sender resolved");
      return r;
    });
    const [receiverResult, senderResult] = await within(Promise.all([receiving, sending]), WAIT_MS, "the transfer");
    const gotFiles = await Promise.all(
      got.map(async ({ index, blob }) => ({ index, size: blob.size, type: blob.type, sha: await sha256(blob) })),
    );
    return { sentHashes, gotFiles, log, receiverResult, senderResult, senderProgress, receiverProgress };
  });
}

/**
 * `count` files of a few bytes each, with names long enough that their list needs more
 * than one message: the sender pipelines them (it sends each file without waiting for
 * the last file-ok), and the receiver, after its `done`, lets its queued file-oks out
 * and waits for the sender to close before it closes.
 */
export function manyFiles({ count }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const files = Array.from({ length: count }, (_, i) => new File([bytes(1 + (i % 3), i)], `${"n".repeat(60)}-${i}.txt`));
    let manifestParts = 0;
    const recvSent = countSent(recvCh);
    const original = sendCh.send.bind(sendCh);
    sendCh.send = (data) => {
      if (typeof data === "string" && /^\{"type":"manifest/.test(data)) manifestParts += 1;
      return original(data);
    };
    const delivered = [];
    const receiver = new Receiver(recvCh, { onManifest: async () => new BlobStore() });
    const sender = new Sender(sendCh, files, { onDelivered: (i) => delivered.push(i) });
    const [receiverResult, senderResult] = await within(
      Promise.all([settle(receiver.run()), settle(sender.run())]),
      WAIT_MS,
      "the transfer of many files",
    );
    await within(receiver.closed, WAIT_MS, "the receiver to close");
    return {
      receiverResult: { ok: receiverResult.ok, count: receiverResult.value?.length },
      senderResult,
      delivered: delivered.length,
      inOrder: delivered.every((index, i) => index === i),
      manifestParts,
      states: [sender.state, receiver.state],
      receiverTexts: recvSent.texts,
    };
  });
}

/** The real Receiver on a channel made with `label` and `options`, which it must refuse. */
export function strangeChannel({ label, options }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const peer = recorder(sendCh);
    const calls = [];
    const receiver = new Receiver(recvCh, { onManifest: async () => calls.push("manifest") });
    send(sendCh, manifest([{ name: "a.bin", size: 1, type: "" }]));
    const result = await within(settle(receiver.run()), WAIT_MS, "the receiver to refuse the channel");
    const told = await peer.next(ofType("error"), "the receiver's error");
    await within(receiver.closed, WAIT_MS, "the receiver to close");
    return { result, told, calls, state: receiver.state, errorId: receiver.errorId, closed: recvCh.readyState };
  }, label, options);
}

/** The receiver declines the offer of one file. */
export function decline() {
  return withPair(async ({ sendCh, recvCh }) => {
    const sent = countSent(sendCh);
    const calls = [];
    const receiver = new Receiver(recvCh, {
      onManifest: async (files) => {
        calls.push(`manifest ${files.map((f) => f.name)}`);
        return false;
      },
      onFile: (i) => calls.push(`onFile ${i}`),
    });
    const sender = new Sender(sendCh, [new File([bytes(1000)], "a.bin")], {
      onAccepted: () => calls.push("accepted"),
      onProgress: () => calls.push("progress"),
    });
    const [receiverResult, senderResult] = await within(
      Promise.all([settle(receiver.run()), settle(sender.run())]),
      WAIT_MS,
      "the decline",
    );
    return { receiverResult, senderResult, calls, sentBytes: sent.bytes };
  });
}

// --- cancel, abort, closed channel --------------------------------------------------

/** The sender cancels once the second file has begun. */
export function senderCancels() {
  return withPair(async ({ sendCh, recvCh }) => {
    const calls = [];
    const files = [new File([bytes(1000, 1)], "small.bin"), new File([bytes(24 << 20, 2)], "big.bin")];
    const receiver = new Receiver(recvCh, {
      onManifest: async () => new BlobStore(),
      onFile: (i) => calls.push(`onFile ${i}`),
    });
    const sender = new Sender(sendCh, files, {
      onProgress: ({ index }) => {
        if (index === 1 && !calls.includes("cancel")) {
          calls.push("cancel");
          sender.cancel("changed my mind");
        }
      },
    });
    const [receiverResult, senderResult] = await within(
      Promise.all([settle(receiver.run()), settle(sender.run())]),
      WAIT_MS,
      "both sides to stop",
    );
    return { receiverResult, senderResult, calls };
  });
}

/** The receiver cancels at its first progress, during one file of `size` bytes. */
export function receiverCancels({ size }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const sent = countSent(sendCh);
    const calls = [];
    const receiver = receiverActingOnce(recvCh, calls, "cancel", (r) => r.cancel("no space left"));
    const sender = new Sender(sendCh, [new File([bytes(size, 3)], "big.bin")]);
    const receiving = settle(receiver.run());
    const senderResult = await within(settle(sender.run()), WAIT_MS, "the sender to stop");
    const sentAtStop = sent.bytes;
    // A pump still running would go on sending until the channel closed: the receiver
    // closes it once its cancel is out, and the sender on hearing it.
    await within(sender.closed, WAIT_MS, "the sender to close");
    await until(() => sendCh.readyState === "closed", "the channel to close", WAIT_MS);
    const receiverResult = await within(receiving, WAIT_MS, "the receiver to stop");
    return { senderResult, receiverResult, calls, sentAtStop, sentAtEnd: sent.bytes };
  });
}

/** The sender's connection closes at the receiver's first progress. */
export function senderLeaves() {
  return withPair(async ({ a, sendCh, recvCh }) => {
    const calls = [];
    const receiver = receiverActingOnce(recvCh, calls, "close", () => a.close());
    const sender = new Sender(sendCh, [new File([bytes(16 << 20, 4)], "big.bin")]);
    sender.run().catch(() => {}); // its own end is not under test here
    const receiverResult = await within(settle(receiver.run()), WAIT_MS, "the receiver to stop");
    return { receiverResult, calls };
  });
}

/** `side` ("Sender" or "Receiver") is aborted at its first progress; what its run() ended with. */
export function abortRun({ side }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const calls = [];
    const abortOnce = (transfer) => () => {
      if (!calls.includes("abort")) {
        calls.push("abort");
        transfer().abort("the other side vanished");
      }
    };
    const receiver = new Receiver(recvCh, {
      onManifest: async () => new BlobStore(),
      onProgress: side === "Receiver" ? abortOnce(() => receiver) : () => {},
      onFile: (i) => calls.push(`onFile ${i}`),
    });
    const sender = new Sender(sendCh, [new File([bytes(16 << 20, 5)], "big.bin")], {
      onProgress: side === "Sender" ? abortOnce(() => sender) : () => {},
    });
    const receiving = settle(receiver.run());
    const sending = settle(sender.run());
    const result = await within(side === "Sender" ? sending : receiving, WAIT_MS, "run() to stop");
    return { result, calls };
  });
}

/**
 * Holds the page's SHA-256 of inputs of `heldSize` bytes until `gate` resolves, as a
 * slower browser's digest might take; returns what puts the real one back.
 */
function holdDigests(heldSize, gate, calls) {
  const subtle = crypto.subtle;
  const original = subtle.digest;
  const subtleDigest = original.bind(subtle);
  subtle.digest = async (algorithm, input) => {
    if (input.byteLength === heldSize) {
      calls.push("held");
      await gate;
    }
    return subtleDigest(algorithm, input);
  };
  return () => (subtle.digest = original);
}

/**
 * A gate holds the Receiver at `stage` ("hashing a block", "checking the digest") until
 * the whole file and its file-end have reached it; then it is aborted. At "deciding" it
 * is aborted while its person decides, who then accepts.
 */
export function abortWhileBusy({ stage }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const calls = [];
    const data = bytes(3000, 6);
    const digest = await digestOf(data); // before the digest is held below
    let open;
    const gate = new Promise((resolve) => (open = resolve));
    // The hashing stages hold the digest of the one block, or of the 32-byte block digests.
    const heldSize = { "hashing a block": data.length, "checking the digest": 32 }[stage];
    const restoreDigest = holdDigests(heldSize, gate, calls);
    try {
      const receiver = new Receiver(recvCh, {
        onManifest: async () => {
          if (stage === "deciding") {
            calls.push("held", "abort");
            receiver.abort("the sender vanished");
          }
          return new BlobStore();
        },
        onFile: (i) => calls.push(`onFile ${i}`),
      });
      // Registered after the Receiver's own listener, so the Receiver has file-end.
      recvCh.addEventListener("message", (e) => {
        if (typeof e.data === "string" && JSON.parse(e.data).type === "file-end") {
          calls.push("abort");
          receiver.abort("the sender vanished");
          open();
        }
      });
      const receiving = settle(receiver.run());
      const peer = recorder(sendCh);
      send(sendCh, manifest([{ name: "a.bin", size: data.length, type: "" }]));
      if (stage !== "deciding") {
        await peer.next(ofType("accept"), "accept");
        sendCh.send(data);
        send(sendCh, { type: "file-end", index: 0, digest });
      }
      const result = await within(receiving, WAIT_MS, "the receiver to stop");
      return { result, calls, seen: peer.seen.map((m) => m.type) };
    } finally {
      restoreDigest();
    }
  });
}

/** The receiver cancels at its first progress while the rest of the file is already on its way. */
export function receiverCancelStopsItself() {
  return withPair(async ({ sendCh, recvCh }) => {
    const calls = [];
    const data = bytes(3000, 9);
    const receiver = receiverActingOnce(recvCh, calls, "cancel", (r) => r.cancel("stop"));
    const receiving = settle(receiver.run());
    const peer = recorder(sendCh);
    send(sendCh, manifest([{ name: "a.bin", size: data.length, type: "" }]));
    await peer.next(ofType("accept"), "accept");
    // The whole file is on its way before the receiver's cancel can reach us.
    sendCh.send(data.subarray(0, 1000));
    sendCh.send(data.subarray(1000));
    send(sendCh, { type: "file-end", index: 0, digest: await digestOf(data) });
    await peer.next(ofType("cancel"), "the cancel");
    const result = await within(receiving, WAIT_MS, "the receiver to stop");
    return { result, calls, seen: peer.seen };
  });
}

// --- backpressure -------------------------------------------------------------------

/** One file of `size` bytes, with the channel's buffered amount sampled at each progress and after each send. */
export function bufferBounded({ size }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const data = bytes(size, 10);
    const sentHash = await sha256(data);
    const atProgress = [];
    let afterSend = 0;
    const original = sendCh.send.bind(sendCh);
    sendCh.send = (d) => {
      original(d);
      afterSend = Math.max(afterSend, sendCh.bufferedAmount);
    };
    let blob = null;
    const receiver = new Receiver(recvCh, { onManifest: async () => new BlobStore(), onFile: (i, { file }) => (blob = file) });
    const sender = new Sender(sendCh, [new File([data], "big.bin")], {
      onProgress: () => atProgress.push(sendCh.bufferedAmount),
    });
    const [receiverResult, senderResult] = await within(
      Promise.all([settle(receiver.run()), settle(sender.run())]),
      25000,
      "the 64 MiB transfer",
    );
    const same = blob !== null && (await sha256(blob)) === sentHash;
    return { receiverResult, senderResult, atProgress, afterSend, same };
  });
}
