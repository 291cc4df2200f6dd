/**
 * The send page: pick or drop files, show the code, link and QR, then send.
 * @module transfer/send-page
 */

import { ask, openChannel } from "../signalling/link.js";
import { qrSvg } from "../ui/qr.js";
import { SocketClient } from "../signalling/socketio.js";
import { Sender } from "./machines.js";
import { TotalProgress, count, fileRow, formatBytes, formatDuration, setStatus, showOnly, takeDrops } from "../ui/dom.js";

const $ = (id) => document.getElementById(id);

export function setupSendPage() {
  const files = [];
  const rows = [];
  let socket = null;
  let codeRequested = false;
  let pc = null;
  let transfer = null;
  let countdown = null;
  let locked = false;
  let ended = false;
  const status = $("send-status");

  // The first ending wins; what follows from it (the peer reacting) changes nothing.
  // Connections close once `settled` has resolved, so a last word can still go out.
  const end = (text, kind, settled = Promise.resolve()) => {
    if (ended) return;
    ended = true;
    clearInterval(countdown);
    setStatus(status, text, kind);
    $("cancel-send").hidden = true;
    $("send-again").hidden = false;
    $("add-files").hidden = true;
    settled.finally(() => {
      pc?.close();
      socket?.close();
    });
  };
  const fail = (reason) => end(`Failed: ${reason}.`, "error");

  const addFiles = async (list) => {
    if (locked || !list.length) return;
    for (const file of list) {
      files.push(file);
      const row = fileRow(file);
      rows.push(row);
      $("send-files").append(row.row);
    }
    const total = files.reduce((sum, f) => sum + f.size, 0);
    $("send-summary").textContent = `${count(files.length, "file")}, ${formatBytes(total)}`;
    // Files dropped again while the code is on its way join the same code.
    if (!codeRequested) {
      codeRequested = true;
      await createCode();
    }
  };

  const createCode = async () => {
    showOnly(["send-pick", "send-share"], "send-share");
    setStatus(status, "Getting a code…");
    try {
      socket = await SocketClient.connect();
      const created = await ask(socket, "create");
      showCode(created);
      socket.on("peer_joined", () => startTransfer(created.ice_servers));
      socket.on("expired", () => end("This code expired before anyone used it. Start again for a new code.", "error"));
      socket.on("cancelled", ({ reason }) => {
        transfer?.abort(`the receiver cancelled${reason ? `: ${reason}` : ""}`);
        if (!transfer) fail("the receiver cancelled");
      });
      socket.on("peer_left", () => {
        transfer?.abort("the receiver left before the transfer finished");
        if (!transfer) fail("the receiver left before the transfer started");
      });
      socket.on("disconnect", () => {
        // Once the data channel is up the server is no longer needed.
        if (!transfer) fail("lost the connection to the server");
      });
    } catch (error) {
      fail(`could not get a code (${error.message})`);
    }
  };

  const showCode = ({ code, expires_in: expiresIn }) => {
    const link = `${location.origin}/#${code}`;
    $("code").textContent = code;
    $("share-link").value = link;
    $("qr").innerHTML = qrSvg(link);
    setStatus(status, "Waiting for the receiver. Give them the code or the link.");
    const deadline = Date.now() + expiresIn * 1000;
    const tick = () => {
      $("countdown").textContent = `Code expires in ${formatDuration((deadline - Date.now()) / 1000)}`;
    };
    tick();
    countdown = setInterval(tick, 1000);
  };

  const startTransfer = async (iceServers) => {
    locked = true;
    clearInterval(countdown);
    $("countdown").textContent = "Code used: it can't be used again.";
    $("add-files").hidden = true;
    setStatus(status, "Receiver connected. Connecting directly…");
    try {
      const connection = await openChannel(socket, iceServers, "sender");
      pc = connection.pc;
      setStatus(status, "Connected. Waiting for the receiver to accept…");
      await runSender(connection.channel);
      end(`Delivered: ${count(files.length, "file")} received and verified.`, "ok");
    } catch (error) {
      fail(error.message);
    }
  };

  const runSender = async (channel) => {
    let progress = null;
    transfer = new Sender(channel, files, {
      onAccepted: () => {
        setStatus(status, "Sending…");
        $("send-progress").hidden = false;
        progress = new TotalProgress($("send-total"), $("send-rate"), files.reduce((sum, f) => sum + f.size, 0));
      },
      onProgress: ({ index, fileBytes, sentBytes }) => {
        progress.update(sentBytes, rows[index].bar, fileBytes);
      },
      onDelivered: (index) => {
        rows[index].bar.value = rows[index].bar.max;
        rows[index].state.textContent = "delivered ✓ verified";
      },
    });
    await transfer.run();
    progress.finish();
  };

  const input = $("file-input");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  // The whole window takes drops, so a file dropped beside the zone cannot replace
  // this page (and lose the code).
  takeDrops($("drop-zone"), () => !$("send-view").hidden && !locked && !ended, addFiles, () =>
    setStatus(status, "Folders can't be sent from the browser: select the files inside, or zip the folder.", "error"));
  const more = $("add-files-input");
  more.addEventListener("change", () => {
    addFiles([...more.files]);
    more.value = "";
  });

  $("copy-link").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("share-link").value);
      $("copy-link").textContent = "Copied";
    } catch {
      $("share-link").select();
      $("copy-link").textContent = "Press Ctrl+C";
    }
    setTimeout(() => ($("copy-link").textContent = "Copy link"), 2000);
  });
  $("cancel-send").addEventListener("click", () => {
    transfer?.cancel("the sender cancelled");
    const told = socket?.connected ? ask(socket, "cancel", { reason: "the sender cancelled" }).catch(() => {}) : undefined;
    end("Cancelled. The receiver has been told.", "error", told);
  });
  $("send-again").addEventListener("click", () => location.assign("/"));
}
