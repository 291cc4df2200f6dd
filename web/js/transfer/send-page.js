/**
 * The send page: pick or drop files, show the code, link and QR, then send. It only
 * renders: the send itself, and where it is, belong to the SendSession.
 * @module transfer/send-page
 */

import { ErrorId } from "../protocol/errors.js";
import { qrSvg } from "../ui/qr.js";
import {
  TotalProgress,
  count,
  fileRow,
  formatBytes,
  formatDuration,
  onNextPaint,
  setStatus,
  showOnly,
  showText,
  takeDrops,
} from "../ui/dom.js";
import { endingWords, peerWords, routeWords } from "../ui/words.js";
import { SendPhase, SendSession } from "./send-session.js";

const $ = (id) => document.getElementById(id);

/** Endings after which the same files can go again under a new code: the handshake's
 * refusals, which used the old one up, and a receiver that could not have connected
 * as it asked to (relay only) but may without it. */
const RESTARTABLE = new Set([ErrorId.WRONG_CODE, ErrorId.TAMPERED, ErrorId.BAD_HANDSHAKE]);
const restartable = ({ errorId, peer }) => RESTARTABLE.has(errorId) || peer?.errorId === ErrorId.RELAY_UNAVAILABLE;

/**
 * @param {{relayOnly: () => boolean}} settings whether the person hides their address
 */
export function setupSendPage({ relayOnly }) {
  const rows = [];
  const status = $("send-status");
  // What is on screen between phases: the code's countdown and the total progress bar.
  const shown = { countdown: 0, progress: null };
  const later = onNextPaint();

  const ended = (text, kind, { restart = false, said = null } = {}) => {
    clearInterval(shown.countdown);
    setStatus(status, text, kind);
    showText($("send-peer-said"), said);
    $("cancel-send").hidden = true;
    $("add-files").hidden = true;
    $("start-over").hidden = !restart;
    $("send-again").hidden = restart;
    if (restart) $("start-over").focus();
  };

  const showCode = ({ code, link, expiresIn }) => {
    $("code").textContent = code;
    $("share-link").value = link;
    $("qr").innerHTML = qrSvg(link);
    setStatus(status, "Waiting for the receiver. Give them the code or the link.");
    const deadline = Date.now() + expiresIn * 1000;
    const tick = () => {
      $("countdown").textContent = `Code expires in ${formatDuration((deadline - Date.now()) / 1000)}`;
    };
    tick();
    shown.countdown = setInterval(tick, 1000);
  };

  const render = {
    [SendPhase.REQUESTING_CODE]: () => {
      showOnly(["send-pick", "send-share"], "send-share");
      setStatus(status, "Getting a code…");
    },
    [SendPhase.WAITING_FOR_RECEIVER]: showCode,
    [SendPhase.CONNECTING]: () => {
      clearInterval(shown.countdown);
      $("countdown").textContent = "Code used: it can't be used again.";
      $("add-files").hidden = true;
      setStatus(status, "Receiver connected. Connecting directly…");
    },
    [SendPhase.AWAITING_ACCEPT]: () => setStatus(status, "Connected. Waiting for the receiver to accept…"),
    [SendPhase.SENDING]: ({ totalBytes, resumed }) => {
      setStatus(status, "Sending…");
      // Back from reconnecting, the progress goes on where it was.
      if (resumed) return;
      $("send-progress").hidden = false;
      shown.progress = new TotalProgress($("send-total"), $("send-rate"), totalBytes);
    },
    [SendPhase.RECONNECTING]: () => setStatus(status, "The connection dropped: reconnecting…"),
    [SendPhase.DELIVERED]: ({ files }) => {
      shown.progress.finish();
      ended(`Delivered: ${count(files.length, "file")} received and verified.`, "ok");
    },
    [SendPhase.DECLINED]: () => ended("The receiver declined the files.", "error"),
    [SendPhase.FAILED]: (ending) =>
      ended(endingWords("sender", ending), "error", { restart: restartable(ending), said: peerWords("sender", ending) }),
    [SendPhase.CANCELLED]: () => ended("Cancelled. The receiver has been told.", "error"),
    [SendPhase.EXPIRED]: () =>
      ended("This code expired before anyone used it.", "error", { restart: true }),
  };

  const newSession = () =>
    new SendSession({
      relayOnly,
      onRoute: (route) => showText($("send-route"), routeWords(route)),
      onPhase: ({ phase, detail }) => render[phase](detail),
      onProgress: ({ index, fileBytes, sentBytes }) => shown.progress.update(sentBytes, rows[index].bar, fileBytes),
      onDelivered: (index) => {
        const row = rows[index];
        later(() => {
          row.bar.value = row.bar.max;
          row.state.textContent = "delivered ✓ verified";
        });
      },
    });
  let session = newSession();

  const addFiles = (list) => {
    // Files dropped again while the code is on its way join the same code.
    const taken = session.addFiles(list);
    if (taken.length < list.length && session.takesFiles) {
      setStatus(status, "A file of the same name is already on the list (or the list is full): it was left out.", "error");
    }
    for (const file of taken) {
      const row = fileRow(file);
      rows.push(row);
      $("send-files").append(row.row);
    }
    const files = session.files;
    const total = files.reduce((sum, f) => sum + f.size, 0);
    $("send-summary").textContent = `${count(files.length, "file")}, ${formatBytes(total)}`;
  };

  /** The same files again, under a new code: the old one can no longer be used. */
  const startOver = () => {
    const files = session.files;
    session = newSession();
    rows.length = 0;
    $("send-files").replaceChildren();
    $("code").textContent = "";
    $("countdown").textContent = "";
    for (const id of ["start-over", "send-again", "send-progress", "send-route", "send-peer-said"]) $(id).hidden = true;
    for (const id of ["cancel-send", "add-files"]) $(id).hidden = false;
    addFiles(files);
  };

  const input = $("file-input");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = "";
  });
  // The whole window takes drops, so a file dropped beside the zone cannot replace
  // this page (and lose the code).
  takeDrops($("drop-zone"), () => !$("send-view").hidden && session.takesFiles, addFiles, () =>
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
  $("cancel-send").addEventListener("click", () => session.cancel());
  $("start-over").addEventListener("click", startOver);
  $("send-again").addEventListener("click", () => location.assign("/"));
  window.addEventListener("pagehide", () => session.leave());
}
