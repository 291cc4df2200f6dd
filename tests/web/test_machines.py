"""web/js/transfer/machines.js on its own: Sender and Receiver over a real data channel.

Both peers live in one page: two RTCPeerConnections (no ICE servers, loopback only)
are connected directly, without the signalling server, and the real classes run on
each end of a channel labelled "sendit" -- or a hand-written hostile peer sends
crafted messages to the real class on the other end (PROTOCOL.md section 3).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import pytest

from helpers.server import RunningServer

MiB = 1024 * 1024
CHUNK_SIZE = 65536  # transfer.js CHUNK_SIZE
HIGH_WATER = 4 * MiB  # transfer.js HIGH_WATER

# Shared by every test: imports, helpers, and `openPair()`, which connects two
# RTCPeerConnections in this page and opens the "sendit" channel between them.
SETUP_JS = r"""
const t = await import('/js/transfer/machines.js');
const p = await import('/js/transfer/protocol.js');
const WAIT_MS = 15000;

// Rejects if `promise` has not settled within `ms`: a guard, never a synchronisation.
const within = (promise, ms, what) => {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
};

// How a promise ended, as plain data for Python.
const settle = (promise) => promise.then(
  (value) => ({ ok: true, value: value === false ? false : Array.isArray(value) ? value.map((f) => f.name) : value ?? null }),
  (error) => ({ ok: false, transferError: error instanceof t.TransferError, message: String(error?.message ?? error) }));

// Waits (with a deadline) until `condition()` holds, checking on every macrotask turn.
const until = async (condition, what, ms = WAIT_MS) => {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

async function openPair() {
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  const iceErrors = [];
  const forward = (to) => (event) => {
    if (event.candidate) to.addIceCandidate(event.candidate).catch((e) => iceErrors.push(String(e)));
  };
  a.addEventListener('icecandidate', forward(b));
  b.addEventListener('icecandidate', forward(a));
  const sendCh = a.createDataChannel('sendit', { ordered: true });
  const incoming = new Promise((resolve) => b.addEventListener('datachannel', (e) => resolve(e.channel), { once: true }));
  const opened = (channel) => channel.readyState === 'open' ? Promise.resolve(channel) : new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(channel), { once: true });
    channel.addEventListener('close', () => reject(new Error('channel closed before opening')), { once: true });
  });
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  let recvCh;
  try {
    [, recvCh] = await within(Promise.all([opened(sendCh), incoming.then(opened)]), WAIT_MS, 'the data channel to open');
  } catch (error) {
    a.close();
    b.close();
    throw new Error(`${error.message} (ICE errors: ${JSON.stringify(iceErrors)})`);
  }
  if (recvCh.label !== 'sendit' || !recvCh.ordered) throw new Error('wrong channel');
  return { a, b, sendCh, recvCh, close: () => { a.close(); b.close(); } };
}

// Deterministic pseudo-random bytes (xorshift32).
function bytes(size, seed = 1) {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >> 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (data) => hex(await crypto.subtle.digest('SHA-256', data instanceof Blob ? await data.arrayBuffer() : data));
const digestOf = async (data) => {  // the protocol's block digest (PROTOCOL.md 3.3)
  const d = new p.BlockDigest();
  for (let i = 0; i < data.length; i += p.BLOCK_SIZE) await d.addBlock(data.subarray(i, i + p.BLOCK_SIZE));
  return d.hexdigest();
};

// Records what arrives on a raw channel end; `next(match)` waits for a matching message.
function recorder(channel) {
  channel.binaryType = 'arraybuffer';
  const seen = [];
  let wake = () => {};
  channel.addEventListener('message', (event) => {
    seen.push(typeof event.data === 'string' ? JSON.parse(event.data) : { binary: event.data.byteLength });
    wake();
  });
  let from = 0;
  return {
    seen,
    async next(match, what) {
      const found = async () => {
        for (;;) {
          const i = seen.findIndex((m, k) => k >= from && match(m));
          if (i >= 0) { from = i + 1; return seen[i]; }
          await new Promise((resolve) => (wake = resolve));
        }
      };
      return within(found(), WAIT_MS, what);
    },
  };
}
const ofType = (type) => (m) => m.type === type;
const send = (channel, message) => channel.send(typeof message === 'string' ? message : JSON.stringify(message));

// Counts the binary bytes a channel end sends.
function countSent(channel) {
  const counter = { bytes: 0 };
  const original = channel.send.bind(channel);
  channel.send = (data) => {
    if (typeof data !== 'string') counter.bytes += data.byteLength;
    return original(data);
  };
  return counter;
}
"""


async def run_js(page: Any, body: str, args: Any = None) -> Any:
    """Run ``body`` in the page after SETUP_JS; ``args`` is visible as ``args``."""
    return await page.evaluate("async (args) => {\n" + SETUP_JS + "\n" + body + "\n}", args)


@pytest.fixture
async def page(server: RunningServer, new_person: Callable[[], Awaitable[Any]]) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    return page


def check_progress(events: list[dict[str, int]], sizes: list[int], total_key: str) -> None:
    """Per file, progress never goes back and ends at the file's size; totals add up."""
    last_total = 0
    for event in events:
        assert event[total_key] >= last_total
        last_total = event[total_key]
    for index, size in enumerate(sizes):
        mine = [e["fileBytes"] for e in events if e["index"] == index]
        assert mine == sorted(mine), f"file {index} progress went back: {mine}"
        if size:
            assert mine and mine[-1] == size, f"file {index}: progress {mine[-3:]} never reached {size}"
        else:
            assert all(b == 0 for b in mine)
    assert last_total == sum(sizes)


# --- the real Sender and the real Receiver ------------------------------------------

HAPPY = """
const { sendCh, recvCh, close } = await openPair();
try {
  const files = args.files.map((f, i) => new File([bytes(f.size, i + 1)], f.name, { type: f.type }));
  const sentHashes = await Promise.all(files.map(sha256));
  const log = [];
  // Hold the receiver's `done` until the sender has had every file-ok and a turn of
  // the event loop: the sender must not resolve before `done` reaches it.
  let heldDone = null;
  const recvSend = recvCh.send.bind(recvCh);
  recvCh.send = (data) => {
    if (typeof data === 'string' && JSON.parse(data).type === 'done') {
      log.push('receiver sent done');
      heldDone = data;
    } else {
      recvSend(data);
    }
  };
  const got = [];
  const receiverProgress = [];
  const receiver = new t.Receiver(recvCh, {
    onManifest: async (manifest) => { log.push(`manifest ${manifest.length}`); return true; },
    onProgress: (e) => receiverProgress.push(e),
    onFile: (index, blob) => { log.push(`onFile ${index}`); got.push({ index, blob }); },
  });
  const senderProgress = [];
  const sender = new t.Sender(sendCh, files, {
    onAccepted: () => log.push('accepted'),
    onProgress: (e) => senderProgress.push(e),
    onDelivered: (index) => {
      log.push(`delivered ${index}`);
      if (index === files.length - 1) {
        setTimeout(() => {
          if (heldDone === null) { log.push('done was not sent before the last file-ok arrived'); return; }
          log.push('done released');
          recvSend(heldDone);
        }, 0);
      }
    },
  });
  const receiving = settle(receiver.run());
  const sending = settle(sender.run()).then((r) => { log.push('sender resolved'); return r; });
  const [receiverResult, senderResult] = await within(Promise.all([receiving, sending]), WAIT_MS, 'the transfer');
  const gotFiles = await Promise.all(got.map(async ({ index, blob }) =>
    ({ index, size: blob.size, type: blob.type, sha: await sha256(blob) })));
  return { sentHashes, gotFiles, log, receiverResult, senderResult, senderProgress, receiverProgress };
} finally { close(); }
"""


async def test_files_arrive_intact_in_order_and_delivery_waits_for_done(page: Any) -> None:
    files = [
        {"name": "empty.bin", "size": 0, "type": ""},
        {"name": "one.txt", "size": 1, "type": "text/plain"},
        {"name": "exactly-1MiB.bin", "size": MiB, "type": "application/x-test"},
        {"name": "folder/1MiB-plus-1.bin", "size": MiB + 1, "type": ""},
        {"name": "random.bin", "size": 5 * MiB + 12345, "type": "image/png"},
    ]
    r = await run_js(page, HAPPY, {"files": files})
    sizes = [f["size"] for f in files]
    names = [f["name"] for f in files]
    assert r["receiverResult"] == {"ok": True, "value": names}
    assert r["senderResult"] == {"ok": True, "value": None}
    assert [g["index"] for g in r["gotFiles"]] == list(range(len(files)))
    assert [g["sha"] for g in r["gotFiles"]] == r["sentHashes"]
    assert [g["size"] for g in r["gotFiles"]] == sizes
    assert [g["type"] for g in r["gotFiles"]] == [f["type"] or "application/octet-stream" for f in files]
    log = r["log"]
    assert log[:2] == [f"manifest {len(files)}", "accepted"]
    assert [e for e in log if e.startswith("delivered")] == [f"delivered {i}" for i in range(len(files))]
    assert [e for e in log if e.startswith("onFile")] == [f"onFile {i}" for i in range(len(files))]
    # Every file is verified on the receiver before the sender hears it was delivered.
    for i in range(len(files)):
        assert log.index(f"onFile {i}") < log.index(f"delivered {i}")
    assert log[-3:] == [f"delivered {len(files) - 1}", "done released", "sender resolved"], log
    assert log.index("receiver sent done") < log.index("done released") < log.index("sender resolved")
    check_progress(r["senderProgress"], sizes, "sentBytes")
    check_progress(r["receiverProgress"], sizes, "receivedBytes")


async def test_declined_files_end_both_sides(page: Any) -> None:
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const sent = countSent(sendCh);
        const calls = [];
        const receiver = new t.Receiver(recvCh, {
          onManifest: async (files) => { calls.push(`manifest ${files.map((f) => f.name)}`); return false; },
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        const sender = new t.Sender(sendCh, [new File([bytes(1000)], 'a.bin')], {
          onAccepted: () => calls.push('accepted'),
          onProgress: () => calls.push('progress'),
        });
        const [receiverResult, senderResult] = await within(
          Promise.all([settle(receiver.run()), settle(sender.run())]), WAIT_MS, 'the decline');
        return { receiverResult, senderResult, calls, sentBytes: sent.bytes };
      } finally { close(); }
    """,
    )
    assert r["receiverResult"] == {"ok": True, "value": False}
    assert r["senderResult"]["ok"] is False and r["senderResult"]["transferError"]
    assert "declined" in r["senderResult"]["message"]
    assert r["calls"] == ["manifest a.bin"]
    assert r["sentBytes"] == 0


# --- hostile senders against the real Receiver --------------------------------------

HOSTILE_SENDER = """
const { sendCh, recvCh, close } = await openPair();
try {
  const peer = recorder(sendCh);
  const calls = [];
  const receiver = new t.Receiver(recvCh, {
    onManifest: async (files) => { calls.push('manifest'); return true; },
    onFile: (index, blob) => calls.push(`onFile ${index}`),
  });
  const receiving = settle(receiver.run());
  const accepted = () => peer.next(ofType('accept'), 'accept');
  const fileEnd = async (index, data) => send(sendCh, { type: 'file-end', index, digest: await digestOf(data) });
  const manifest = (files) => send(sendCh, { type: 'manifest', version: 1, files });
  const a = bytes(1000, 7);
  const b = bytes(3000, 8);
  const two = [{ name: 'a.bin', size: a.length, type: '' }, { name: 'b.bin', size: b.length, type: '' }];
  switch (args.case) {
    case 'hash mismatch': {
      manifest(two);
      await accepted();
      sendCh.send(a);
      await fileEnd(0, a);
      sendCh.send(b);
      const other = b.slice();
      other[1234] ^= 1;
      await fileEnd(1, other);
      break;
    }
    case 'more bytes than announced':
      manifest(two);
      await accepted();
      sendCh.send(a);
      sendCh.send(new Uint8Array([1]));
      await fileEnd(0, a);
      break;
    case 'fewer bytes, then file-end':
      manifest(two);
      await accepted();
      sendCh.send(a.subarray(0, 999));
      await fileEnd(0, a.subarray(0, 999));
      break;
    case 'file-end with the wrong index':
      manifest(two);
      await accepted();
      sendCh.send(a);
      await fileEnd(1, a);
      break;
    case 'name ../x':
      manifest([{ name: '../x', size: 1, type: '' }]);
      break;
    case 'name /etc/x':
      manifest([{ name: '/etc/x', size: 1, type: '' }]);
      break;
    case 'version 2':
      send(sendCh, { type: 'manifest', version: 2, files: [{ name: 'a.bin', size: 1, type: '' }] });
      break;
    case 'not JSON':
      send(sendCh, '{"type": "manifest", ');
      break;
    case 'binary before the manifest':
      sendCh.send(a);
      manifest(two);
      break;
    default:
      throw new Error(`no case ${args.case}`);
  }
  const result = await within(receiving, WAIT_MS, 'the receiver to stop');
  const error = await peer.next(ofType('error'), 'an error message from the receiver');
  return { result, error, calls, seen: peer.seen };
} finally { close(); }
"""


BROKEN_SENDERS = [  # case, the reason given, whether the manifest is accepted, files verified
    ("hash mismatch", "hash mismatch: b.bin", True, [0]),
    ("more bytes than announced", "a.bin: more bytes than announced", True, []),
    ("fewer bytes, then file-end", "a.bin: 999 of 1000 bytes arrived", True, []),
    ("file-end with the wrong index", "expected file-end 0", True, []),
    ("name ../x", "file name must be a relative path", False, []),
    ("name /etc/x", "file name must be a relative path", False, []),
    ("version 2", "unsupported protocol version 2", False, []),
    ("not JSON", "not a JSON message", False, []),
    ("binary before the manifest", "unexpected binary message", False, []),
]


@pytest.mark.parametrize(("case", "reason", "accepts", "verified"), BROKEN_SENDERS, ids=[c[0] for c in BROKEN_SENDERS])
async def test_receiver_refuses_a_broken_sender(
    page: Any, case: str, reason: str, accepts: bool, verified: list[int]
) -> None:
    r = await run_js(page, HOSTILE_SENDER, {"case": case})
    result = r["result"]
    assert result["ok"] is False and result["transferError"], result
    assert reason in result["message"]
    assert result["message"].startswith("protocol error: ")
    # The receiver tells the sender why, and never hands over an unverified file.
    assert r["error"]["type"] == "error" and reason in r["error"]["message"]
    assert r["calls"] == (["manifest"] if accepts else []) + [f"onFile {i}" for i in verified]
    types = [m.get("type", "binary") for m in r["seen"]]
    assert types == (["accept"] if accepts else []) + ["file-ok" for _ in verified] + ["error"]


# --- hostile receivers against the real Sender --------------------------------------

HOSTILE_RECEIVER = """
const { sendCh, recvCh, close } = await openPair();
try {
  const peer = recorder(recvCh);
  const delivered = [];
  const files = [new File([bytes(1000, 1)], 'a.bin'), new File([bytes(2000, 2)], 'b.bin')];
  const sender = new t.Sender(sendCh, files, { onDelivered: (i) => delivered.push(i) });
  const sending = settle(sender.run());
  await peer.next(ofType('manifest'), 'the manifest');
  send(recvCh, { type: 'accept' });
  await peer.next(ofType('file-end'), 'file-end 0');
  send(recvCh, args.reply);
  const result = await within(sending, WAIT_MS, 'the sender to stop');
  const error = await peer.next(ofType('error'), 'an error message from the sender');
  return { result, error, delivered };
} finally { close(); }
"""


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"type": "file-ok", "index": 1}, "expected file-ok 0, got file-ok"),
        ({"type": "thanks"}, 'unknown message type "thanks"'),
    ],
    ids=["file-ok with the wrong index", "unknown message type"],
)
async def test_sender_refuses_a_broken_receiver(page: Any, reply: dict[str, Any], reason: str) -> None:
    r = await run_js(page, HOSTILE_RECEIVER, {"reply": reply})
    assert r["result"]["ok"] is False and r["result"]["transferError"]
    assert reason in r["result"]["message"]
    assert r["error"]["type"] == "error" and reason in r["error"]["message"]
    assert r["delivered"] == []


# --- cancel, abort, closed channel --------------------------------------------------


async def test_sender_cancels_mid_transfer(page: Any) -> None:
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const calls = [];
        const files = [new File([bytes(1000, 1)], 'small.bin'), new File([bytes(24 << 20, 2)], 'big.bin')];
        const receiver = new t.Receiver(recvCh, {
          onManifest: async () => true,
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        let sender;
        sender = new t.Sender(sendCh, files, {
          onProgress: ({ index }) => {
            if (index === 1 && !calls.includes('cancel')) { calls.push('cancel'); sender.cancel('changed my mind'); }
          },
        });
        const [receiverResult, senderResult] = await within(
          Promise.all([settle(receiver.run()), settle(sender.run())]), WAIT_MS, 'both sides to stop');
        return { receiverResult, senderResult, calls };
      } finally { close(); }
    """,
    )
    rr = r["receiverResult"]
    assert rr["ok"] is False and rr["transferError"]
    assert "cancelled" in rr["message"] and "changed my mind" in rr["message"]
    assert r["senderResult"]["ok"] is False and r["senderResult"]["transferError"]
    # The first file, finished before the cancel on the ordered channel, was handed
    # over; the unfinished one never is.
    assert sorted(r["calls"]) == ["cancel", "onFile 0"]


async def test_receiver_cancels_mid_transfer_and_the_sender_stops_sending(page: Any) -> None:
    size = 32 * MiB
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const sent = countSent(sendCh);
        let arrived = 0;
        recvCh.addEventListener('message', (e) => { if (typeof e.data !== 'string') arrived += e.data.byteLength; });
        const calls = [];
        let receiver;
        receiver = new t.Receiver(recvCh, {
          onManifest: async () => true,
          onProgress: () => { if (!calls.length) { calls.push('cancel'); receiver.cancel('no space left'); } },
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        const sender = new t.Sender(sendCh, [new File([bytes(args.size, 3)], 'big.bin')]);
        const receiving = settle(receiver.run());
        const senderResult = await within(settle(sender.run()), WAIT_MS, 'the sender to stop');
        const sentAtStop = sent.bytes;
        // A pump still running would keep the channel's buffer from ever emptying
        // until the whole file had gone: wait until everything sent has arrived.
        await until(() => sendCh.bufferedAmount === 0 && arrived === sent.bytes, 'the channel to drain');
        const receiverResult = await within(receiving, WAIT_MS, 'the receiver to stop');
        return { senderResult, receiverResult, calls, sentAtStop, sentAtEnd: sent.bytes };
      } finally { close(); }
    """,
        {"size": size},
    )
    sr = r["senderResult"]
    assert sr["ok"] is False and sr["transferError"]
    assert "cancelled" in sr["message"] and "no space left" in sr["message"]
    assert r["sentAtEnd"] - r["sentAtStop"] <= CHUNK_SIZE
    assert r["sentAtEnd"] < size // 2
    assert r["receiverResult"]["ok"] is False and r["receiverResult"]["transferError"]
    assert r["calls"] == ["cancel"]


async def test_sender_leaving_mid_transfer_fails_the_receiver(page: Any) -> None:
    r = await run_js(
        page,
        """
      const { a, sendCh, recvCh, close } = await openPair();
      try {
        const calls = [];
        const receiver = new t.Receiver(recvCh, {
          onManifest: async () => true,
          onProgress: () => { if (!calls.length) { calls.push('close'); a.close(); } },
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        const sender = new t.Sender(sendCh, [new File([bytes(16 << 20, 4)], 'big.bin')]);
        sender.run().catch(() => {});
        const receiverResult = await within(settle(receiver.run()), WAIT_MS, 'the receiver to stop');
        return { receiverResult, calls };
      } finally { close(); }
    """,
    )
    assert r["receiverResult"] == {
        "ok": False,
        "transferError": True,
        "message": "the sender left before the transfer finished",
    }
    assert r["calls"] == ["close"]


@pytest.mark.parametrize("side", ["Sender", "Receiver"])
async def test_abort_ends_run_with_the_message(page: Any, side: str) -> None:
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const calls = [];
        let receiver, sender;
        const abortOnce = (transfer) => () => {
          if (!calls.includes('abort')) { calls.push('abort'); transfer().abort('the other side vanished'); }
        };
        receiver = new t.Receiver(recvCh, {
          onManifest: async () => true,
          onProgress: args.side === 'Receiver' ? abortOnce(() => receiver) : () => {},
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        sender = new t.Sender(sendCh, [new File([bytes(16 << 20, 5)], 'big.bin')], {
          onProgress: args.side === 'Sender' ? abortOnce(() => sender) : () => {},
        });
        const receiving = settle(receiver.run());
        const sending = settle(sender.run());
        const result = await within(args.side === 'Sender' ? sending : receiving, WAIT_MS, 'run() to stop');
        return { result, calls };
      } finally { close(); }
    """,
        {"side": side},
    )
    assert r["result"] == {"ok": False, "transferError": True, "message": "the other side vanished"}
    assert r["calls"] == ["abort"]


@pytest.mark.parametrize("stage", ["deciding", "hashing a block", "checking the digest"])
async def test_abort_wins_over_messages_already_taken_in(page: Any, stage: str) -> None:
    """abort() stops the Receiver at once, whatever it was busy with and had queued.

    A gate holds the Receiver at ``stage`` until the whole file and its file-end have
    reached it; only then is it aborted and the gate opened. Chromium's digest happens
    to finish within the same turn, so for the two hashing stages the page's digest is
    wrapped to wait for the gate, as a slower (or other) browser's might.
    """
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const calls = [];
        const data = bytes(3000, 6);
        const digest = await digestOf(data);  // before the wrapping below
        let open;
        const gate = new Promise((resolve) => (open = resolve));
        const subtleDigest = crypto.subtle.digest.bind(crypto.subtle);
        const heldSize = { 'hashing a block': data.length, 'checking the digest': 32 }[args.stage];
        crypto.subtle.digest = async (algorithm, input) => {
          if (input.byteLength === heldSize) { calls.push('held'); await gate; }
          return subtleDigest(algorithm, input);
        };
        const receiver = new t.Receiver(recvCh, {
          onManifest: async () => { if (args.stage === 'deciding') { calls.push('held'); await gate; } return true; },
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        // Registered after the Receiver's own listener, so the Receiver has file-end.
        recvCh.addEventListener('message', (e) => {
          if (typeof e.data === 'string' && JSON.parse(e.data).type === 'file-end') {
            calls.push('abort');
            receiver.abort('the sender vanished');
            open();
          }
        });
        const receiving = settle(receiver.run());
        const peer = recorder(sendCh);
        send(sendCh, { type: 'manifest', version: 1, files: [{ name: 'a.bin', size: data.length, type: '' }] });
        // When deciding, this sender does not wait for accept: the file queues up.
        if (args.stage !== 'deciding') await peer.next(ofType('accept'), 'accept');
        sendCh.send(data);
        send(sendCh, { type: 'file-end', index: 0, digest });
        const result = await within(receiving, WAIT_MS, 'the receiver to stop');
        return { result, calls, seen: peer.seen.map((m) => m.type) };
      } finally { close(); }
    """,
        {"stage": stage},
    )
    assert r["result"] == {"ok": False, "transferError": True, "message": "the sender vanished"}, r
    assert r["calls"] == ["held", "abort"]
    assert "file-ok" not in r["seen"] and "done" not in r["seen"]


async def test_receiver_cancel_stops_the_receiver_too(page: Any) -> None:
    """After its own cancel the Receiver verifies nothing more and its run() ends."""
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const calls = [];
        const data = bytes(3000, 9);
        let receiver;
        receiver = new t.Receiver(recvCh, {
          onManifest: async () => true,
          onProgress: () => { if (!calls.length) { calls.push('cancel'); receiver.cancel('stop'); } },
          onFile: (i) => calls.push(`onFile ${i}`),
        });
        const receiving = settle(receiver.run());
        const peer = recorder(sendCh);
        send(sendCh, { type: 'manifest', version: 1, files: [{ name: 'a.bin', size: data.length, type: '' }] });
        await peer.next(ofType('accept'), 'accept');
        // The whole file is on its way before the receiver's cancel can reach us.
        sendCh.send(data.subarray(0, 1000));
        sendCh.send(data.subarray(1000));
        send(sendCh, { type: 'file-end', index: 0, digest: await digestOf(data) });
        await peer.next(ofType('cancel'), 'the cancel');
        const result = await within(receiving, WAIT_MS, 'the receiver to stop');
        return { result, calls, seen: peer.seen };
      } finally { close(); }
    """,
    )
    assert r["result"]["ok"] is False and r["result"]["transferError"], r
    assert "cancel" in r["result"]["message"]
    assert r["calls"] == ["cancel"]
    assert [m["type"] for m in r["seen"]] == ["accept", "cancel"]


# --- backpressure -------------------------------------------------------------------


async def test_sender_keeps_the_channel_buffer_bounded(page: Any) -> None:
    size = 64 * MiB
    r = await run_js(
        page,
        """
      const { sendCh, recvCh, close } = await openPair();
      try {
        const data = bytes(args.size, 10);
        const sentHash = await sha256(data);
        const atProgress = [];
        let afterSend = 0;
        const original = sendCh.send.bind(sendCh);
        sendCh.send = (d) => { original(d); afterSend = Math.max(afterSend, sendCh.bufferedAmount); };
        let blob = null;
        const receiver = new t.Receiver(recvCh, { onManifest: async () => true, onFile: (i, b) => (blob = b) });
        const sender = new t.Sender(sendCh, [new File([data], 'big.bin')], {
          onProgress: () => atProgress.push(sendCh.bufferedAmount),
        });
        const [receiverResult, senderResult] = await within(
          Promise.all([settle(receiver.run()), settle(sender.run())]), 25000, 'the 64 MiB transfer');
        return { receiverResult, senderResult, atProgress, afterSend, same: blob !== null && (await sha256(blob)) === sentHash };
      } finally { close(); }
    """,
        {"size": size},
    )
    assert r["receiverResult"]["ok"] and r["senderResult"]["ok"], r
    assert r["same"]
    assert len(r["atProgress"]) == size // MiB
    limit = HIGH_WATER + CHUNK_SIZE
    assert max(r["atProgress"]) <= limit
    assert r["afterSend"] <= limit
    # The sampling saw the buffer at work (the receiver cannot keep up with memory).
    assert r["afterSend"] > MiB, r["afterSend"]
