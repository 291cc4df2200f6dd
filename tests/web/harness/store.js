/**
 * Scenarios for /js/transfer/store/*, run by tests/web/test_store.py: the real Sender
 * and Receiver over a real data channel in this page, the Receiver writing through a
 * real store: a folder picked through the pickers' seam (answered with an OPFS folder),
 * the origin-private store, or memory. A hostile sender is the test's own raw channel
 * end. Each scenario returns plain data (file bytes as base64) for the test to judge.
 */

import { Receiver, Sender, TransferError } from "/js/transfer/machines.js";
import { BlobStore } from "/js/transfer/store/blob.js";
import { FolderStore } from "/js/transfer/store/folder.js";
import { OpfsStore } from "/js/transfer/store/opfs.js";
import { answerPickersWith } from "/js/transfer/store/pickers.js";
import { zipBlob } from "/js/transfer/store/zip.js";
import { within } from "./common.js";
import { bytes, digestOf, manifest, ofType, recorder, send, withPair } from "./machines.js";

const WAIT_MS = 20000;

const base64 = async (blob) => {
  const data = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < data.length; i += 0x8000) text += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(text);
};

/** A fresh, empty OPFS folder for the pickers' seam to answer with. */
async function pickedFolder() {
  const root = await navigator.storage.getDirectory();
  const name = `picked-${crypto.randomUUID()}`;
  return root.getDirectoryHandle(name, { create: true });
}

/** Every file under `dir`, as {path: base64}. */
async function tree(dir, prefix = "") {
  const out = {};
  for await (const [name, handle] of dir.entries()) {
    if (handle.kind === "directory") Object.assign(out, await tree(handle, `${prefix}${name}/`));
    else out[prefix + name] = await base64(await handle.getFile());
  }
  return out;
}

/** The store of `kind` for `entries`: "folder" (picked through the seam), "opfs", "blob". */
async function storeFor(kind, entries) {
  if (kind === "folder") {
    const dir = await pickedFolder();
    answerPickersWith(dir);
    try {
      return { store: await FolderStore.pick(entries), dir };
    } finally {
      answerPickersWith(null);
    }
  }
  if (kind === "opfs") return { store: await OpfsStore.open(entries) };
  return { store: new BlobStore() };
}

const settle = (promise) =>
  promise.then(
    () => ({ ok: true }),
    (error) => ({ ok: false, transferError: error instanceof TransferError, message: String(error?.message ?? error) }),
  );

/**
 * `files` ([{name, size}]) sent by the real Sender, received into a `kind` store; what
 * was sent, what each commit handed over, what the chosen folder holds, the ZIP.
 */
export function receive({ kind, files: specs, zip64At = null }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const entries = specs.map((f) => ({ name: f.name, size: f.size, type: "" }));
    const { store, dir } = await storeFor(kind, entries);
    const handed = [];
    const receiver = new Receiver(recvCh, { onManifest: async () => store, onFile: (i, saved) => handed.push(saved) });
    const files = specs.map((f, i) => new File([bytes(f.size, i + 1)], f.name));
    const sender = new Sender(sendCh, files);
    const [received, sent] = await within(Promise.all([settle(receiver.run()), settle(sender.run())]), WAIT_MS, "the transfer");
    return {
      received,
      sent,
      originals: Object.fromEntries(await Promise.all(files.map(async (f) => [f.name, await base64(f)]))),
      handed: await Promise.all(
        handed.map(async ({ name, file }) => ({ name, file: file ? { name: file.name, data: await base64(file) } : null })),
      ),
      folder: dir ? await tree(dir) : null,
      describe: store.describe(),
      where: kind === "folder" ? store.where : null,
      zip: store.archive ? await base64(store.archive) : null,
      zip64: zip64At !== null && store.saved ? await base64(zipBlob(store.saved, { zip64At })) : null,
    };
  });
}

/**
 * A hostile sender offers `good` (which arrives intact) and then `bad`, whose bytes
 * arrive whole but whose file-end carries another digest, into a `kind` store. What
 * the receiver ended with and what the store holds afterwards.
 */
export function badDigest({ kind }) {
  return withPair(async ({ sendCh, recvCh }) => {
    const good = bytes(3000, 1);
    const bad = bytes(BLOCK + 5, 2);
    const entries = [
      { name: "dir/good.bin", size: good.length, type: "" },
      { name: "dir/bad.bin", size: bad.length, type: "" },
    ];
    const { store, dir } = await storeFor(kind, entries);
    const handed = [];
    const receiver = new Receiver(recvCh, { onManifest: async () => store, onFile: (i, saved) => handed.push(saved.name) });
    const receiving = settle(receiver.run());
    const peer = recorder(sendCh);
    send(sendCh, manifest(entries));
    await peer.next(ofType("accept"), "accept");
    sendCh.send(good);
    send(sendCh, { type: "file-end", index: 0, digest: await digestOf(good) });
    for (let i = 0; i < bad.length; i += 65536) sendCh.send(bad.subarray(i, i + 65536));
    send(sendCh, { type: "file-end", index: 1, digest: await digestOf(bytes(bad.length, 3)) });
    const told = await peer.next(ofType("error"), "the receiver's error");
    const result = await within(receiving, WAIT_MS, "the receiver to stop");
    return {
      result,
      told,
      handed,
      folder: dir ? await tree(dir) : null,
      partial: (await (await OpfsStore.open([])).partial(1, entries[1])) !== null,
    };
  });
}

const BLOCK = 1 << 20;

/**
 * The origin-private store keeps a partial across runs: a sender that leaves after
 * about `cut` bytes of one file of `size`, then a new store for the same offer.
 */
export function partialKept({ size, cut }) {
  return withPair(async ({ a, sendCh, recvCh }) => {
    const name = `resume-${crypto.randomUUID()}.bin`;
    const entry = { name, size, type: "" };
    const data = bytes(size, 7);
    const store = await OpfsStore.open([entry]);
    let left = false;
    const receiver = new Receiver(recvCh, {
      onManifest: async () => store,
      onProgress: ({ fileBytes }) => {
        if (fileBytes >= cut && !left) {
          left = true;
          a.close();
        }
      },
    });
    new Sender(sendCh, [new File([data], name)]).run().catch(() => {});
    const result = await within(settle(receiver.run()), WAIT_MS, "the receiver to stop");
    // A later run, with the same offer: another store, as a new page would have.
    const later = await OpfsStore.open([entry]);
    const held = await later.partial(0, entry);
    const heldBytes = held ? new Uint8Array(await held.arrayBuffer()) : null;
    const other = await later.partial(0, { ...entry, size: size + 1 });
    // Keeping part of it and writing the rest gives the whole file.
    const kept = heldBytes ? heldBytes.length - (heldBytes.length % BLOCK) : 0;
    const writer = await later.open(0, entry, { keep: kept });
    await writer.write(data.slice(kept));
    const { file } = await writer.commit();
    const whole = new Uint8Array(await file.arrayBuffer());
    return {
      result,
      heldSize: held?.size ?? null,
      heldIsPrefix: heldBytes !== null && heldBytes.every((b, i) => b === data[i]),
      otherSize: other,
      kept,
      wholeSame: whole.length === size && whole.every((b, i) => b === data[i]),
      wholeName: file.name,
      // Its CRC, taken over the kept part read back and the rest written, is checked on unzipping.
      zip: await base64(zipBlob(later.saved)),
    };
  });
}

/** What the memory store says of an offer of `sizes`, before accepting. */
export async function blobLimit({ sizes }) {
  try {
    await new BlobStore().check(sizes.map((size, i) => ({ name: `f${i}`, size, type: "" })));
    return null;
  } catch (error) {
    return { name: error.constructor.name, message: error.message };
  }
}
