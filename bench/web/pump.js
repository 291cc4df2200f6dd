/**
 * The bare browser pump: the baseline that the SendIt page is measured against.
 * A raw RTCDataChannel and nothing else: no protocol, no hashing, no progress, no UI.
 * It moves bytes the way the page does (1 MiB reads, 64 KiB messages, up to 4 MiB
 * buffered) so the difference is what SendIt adds on top. A text message ends the file;
 * an empty one from aiortc's example sender does too.
 * @module pump
 */

const READ_SIZE = 1048576;
const CHUNK_SIZE = 65536;
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
// Exactly the (empty) list: never a default STUN server.
const CONFIG = { iceServers: [] };

let pc = null;
let channel = null;
let outcome = null;

/** The local description once every candidate is in it: the peers do not trickle. */
async function described() {
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => {
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    });
  }
  return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
}

function opened(dc) {
  return dc.readyState === "open" ? Promise.resolve(dc) : new Promise((resolve) => dc.addEventListener("open", () => resolve(dc), { once: true }));
}

/** The sender's side: makes the channel and the offer. */
export async function offer() {
  pc = new RTCPeerConnection(CONFIG);
  channel = pc.createDataChannel("filexfer");
  channel.binaryType = "arraybuffer";
  await pc.setLocalDescription();
  return described();
}

/**
 * The receiver's side: answers the offer, and counts from the first message on (a
 * listener added later could miss the first ones). `received()` tells the outcome.
 */
export async function answer(offerDescription, warmup) {
  pc = new RTCPeerConnection(CONFIG);
  outcome = new Promise((resolve) => {
    pc.addEventListener("datachannel", (event) => {
      channel = event.channel;
      channel.binaryType = "arraybuffer";
      count(channel, warmup, resolve);
    });
  });
  await pc.setRemoteDescription(offerDescription);
  await pc.setLocalDescription();
  return described();
}

export async function accept(answerDescription) {
  await pc.setRemoteDescription(answerDescription);
}

function room() {
  if (channel.bufferedAmount <= HIGH_WATER) return Promise.resolve();
  return new Promise((resolve) => channel.addEventListener("bufferedamountlow", resolve, { once: true }));
}

/** Send the picked file, then the end marker; resolves when the receiver says "done". */
export async function send() {
  const file = document.getElementById("file").files[0];
  await opened(channel);
  channel.bufferedAmountLowThreshold = LOW_WATER;
  const done = new Promise((resolve) => channel.addEventListener("message", (event) => event.data === "done" && resolve()));
  for (let offset = 0; offset < file.size; offset += READ_SIZE) {
    const block = new Uint8Array(await file.slice(offset, offset + READ_SIZE).arrayBuffer());
    for (let start = 0; start < block.length; start += CHUNK_SIZE) {
      await room();
      channel.send(block.subarray(start, start + CHUNK_SIZE));
    }
  }
  channel.send("end");
  await done;
}

/**
 * Keep the bytes as a Blob, as a page would, until the end marker; resolves with the
 * bytes and seconds counted from the moment `warmup` bytes had arrived.
 */
function count(dc, warmup, resolve) {
  const parts = [];
  let received = 0;
  let timedFrom = null;
  dc.addEventListener("message", (event) => {
    const data = event.data;
    if (typeof data !== "string" && data.byteLength > 0) {
      parts.push(data);
      received += data.byteLength;
      if (!timedFrom && received >= warmup) timedFrom = { at: received, time: performance.now() };
      return;
    }
    const seconds = (performance.now() - timedFrom.time) / 1000;
    const blob = new Blob(parts);
    dc.send("done");
    resolve({ bytes: received - timedFrom.at, seconds, size: blob.size });
  });
}

/** The receiver's outcome: `{bytes, seconds, size}`. */
export function received() {
  return outcome;
}
