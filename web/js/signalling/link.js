/**
 * The WebRTC half of signalling: one RTCPeerConnection whose offer, answer and ICE
 * candidates travel through the server (PROTOCOL.md 2.3), ending in an open data
 * channel. No DOM.
 * @module signalling/link
 */

import { CHANNEL_LABEL } from "../protocol/protocol.js";

const OPEN_TIMEOUT_MS = 30000;

/** The server refused a request; `message` is the server's error text, `retryAfter`
 * the seconds it asks the client to wait (PROTOCOL.md 2.1), or null. */
export class ServerError extends Error {
  constructor(message, retryAfter = null) {
    super(message);
    this.retryAfter = retryAfter;
  }
}

/** Emit `event` and return the acknowledgement, or throw ServerError for an error ack. */
export async function ask(socket, event, payload = {}) {
  const ack = await socket.request(event, payload);
  if (!ack || ack.ok !== true) {
    const retryAfter = Number.isInteger(ack?.retry_after) ? ack.retry_after : null;
    throw new ServerError(ack?.error ?? "the server gave no answer", retryAfter);
  }
  return ack;
}

/**
 * Connect to the paired peer. The sender makes the offer and the channel; the
 * receiver answers. Resolves `{pc, channel}` with the channel open. A receiver takes
 * the first channel it is offered, whatever it is (the Receiver checks it); any other
 * channel goes to `onExtraChannel` once the first is open, and fails the connection
 * before.
 * @param {import("./socketio.js").SocketClient} socket
 * @param {RTCIceServer[]} iceServers exactly what the server handed out
 * @param {"sender"|"receiver"} role
 * @param {{onExtraChannel?: (channel: RTCDataChannel) => void}} [options]
 */
export function openChannel(socket, iceServers, role, { onExtraChannel = () => {} } = {}) {
  const pc = new RTCPeerConnection({ iceServers });
  let queued = [];
  // Signals are handled strictly one after another: a candidate must not be applied
  // while the description it belongs to is still being set.
  let chain = Promise.resolve();

  const addCandidate = (candidate) => (candidate ? pc.addIceCandidate(candidate) : pc.addIceCandidate());

  const handle = async (signal) => {
    if (signal.type === "candidate") {
      if (pc.remoteDescription) await addCandidate(signal.candidate);
      else queued.push(signal.candidate);
      return;
    }
    await pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
    for (const candidate of queued) await addCandidate(candidate);
    queued = [];
    if (signal.type === "offer") {
      await pc.setLocalDescription(await pc.createAnswer());
      await ask(socket, "signal", { type: "answer", sdp: pc.localDescription.sdp });
    }
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      pc.close();
      reject(new Error(message));
    };
    const timer = setTimeout(() => fail("could not reach the other side (no network path found)"), OPEN_TIMEOUT_MS);
    // Stays subscribed after the channel opens: late candidates still need applying.
    // Once open, a bad late candidate is not worth dropping a working connection for.
    const run = (step) => {
      chain = chain.then(step).catch((error) => fail(`connection setup failed: ${error.message}`));
    };
    socket.on("signal", (signal) => run(() => handle(signal)));

    pc.addEventListener("icecandidate", ({ candidate }) => {
      socket.emit("signal", { type: "candidate", candidate: candidate ? candidate.toJSON() : null });
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc.connectionState === "failed") fail("could not reach the other side (no network path found)");
    });
    const opened = (channel) => {
      const ready = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ pc, channel });
      };
      if (channel.readyState === "open") ready();
      else channel.addEventListener("open", ready, { once: true });
    };

    if (role === "sender") {
      opened(pc.createDataChannel(CHANNEL_LABEL, { ordered: true }));
      run(async () => {
        await pc.setLocalDescription(await pc.createOffer());
        await ask(socket, "signal", { type: "offer", sdp: pc.localDescription.sdp });
      });
    } else {
      let offered = false;
      pc.addEventListener("datachannel", ({ channel }) => {
        if (!offered) opened(channel);
        else if (settled) onExtraChannel(channel);
        else fail("the sender opened more than one data channel");
        offered = true;
      });
    }
  });
}
