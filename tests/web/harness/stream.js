/**
 * Scenarios for /js/transfer/store/stream.js, run by tests/web/test_stream.py: the real
 * Sender and Receiver over a real data channel in this page, the Receiver writing
 * through the real StreamStore into a real browser download (through its service
 * worker), which the test catches as Playwright's download. A hostile sender is the
 * test's own raw channel end. Each scenario returns plain data for the test to judge.
 */

import { Receiver, Sender, TransferError } from "/js/transfer/machines.js";
import { StreamStore } from "/js/transfer/store/stream.js";
import { within } from "./common.js";
import { bytes, digestOf, manifest, ofType, recorder, send, withPair } from "./machines.js";

const WAIT_MS = 20000;

const base64 = async (blob) => {
  const data = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(text);
};

const settle = (promise) =>
  promise.then(
    () => ({ ok: true }),
    (error) => ({ ok: false, transferError: error instanceof TransferError, message: String(error?.message ?? error) }),
  );

/**
 * `files` ([{name, size}]) sent by the real Sender, received into a StreamStore (its
 * ZIP64 fields from `zip64At` on, if given); what was sent and what each commit gave.
 * With `originals` false the bytes sent are not returned (a large file).
 */
export function receive({ files: specs, zip64At, originals = true }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const entries = specs.map((f) => ({ name: f.name, size: f.size, type: "" }));
    const store = await StreamStore.open(entries, { zip64At: zip64At ?? undefined });
    const handed = [];
    const receiver = new Receiver(recvCh, { onManifest: async () => store, onFile: (i, saved) => handed.push(saved) });
    const files = specs.map((f, i) => new File([bytes(f.size, i + 1)], f.name));
    const sender = new Sender(sendCh, files);
    const [received, sent] = await within(Promise.all([settle(receiver.run()), settle(sender.run())]), WAIT_MS, "the transfer");
    return {
      received,
      sent,
      originals: originals ? Object.fromEntries(await Promise.all(files.map(async (f) => [f.name, await base64(f)]))) : null,
      handed: handed.map(({ name, file }) => ({ name, file: file ?? null })),
      describe: store.describe(),
    };
  });
}

/**
 * A hostile sender offers `names` (the last one bad): each file's bytes arrive whole,
 * but the last one's file-end carries another digest. What the receiver ended with.
 */
export function badDigest({ names }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const datas = names.map((name, i) => bytes(i === names.length - 1 ? BLOCK + 5 : 3000, i + 1));
    const entries = names.map((name, i) => ({ name, size: datas[i].length, type: "" }));
    const store = await StreamStore.open(entries);
    const handed = [];
    const receiver = new Receiver(recvCh, { onManifest: async () => store, onFile: (i, saved) => handed.push(saved.name) });
    const receiving = settle(receiver.run());
    const peer = recorder(sendCh);
    send(sendCh, manifest(entries));
    await peer.next(ofType("accept"), "accept");
    for (const [index, data] of datas.entries()) {
      for (let i = 0; i < data.length; i += 65536) sendCh.send(data.subarray(i, i + 65536));
      const bad = index === datas.length - 1;
      send(sendCh, { type: "file-end", index, digest: await digestOf(bad ? bytes(data.length, 99) : data) });
    }
    const told = await peer.next(ofType("error"), "the receiver's error");
    const result = await within(receiving, WAIT_MS, "the receiver to stop");
    return { result, told, handed };
  });
}

const BLOCK = 1 << 20;
