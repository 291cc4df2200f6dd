/**
 * The send page: pick or drop files and folders, show the code, link and QR, then send.
 * It only renders: the send itself, and where it is, belong to the SendSession.
 * @module transfer/send-page
 */

import { qrSvg } from "../ui/qr.js";
import { TotalProgress, catchDrops, count, formatBytes, formatDuration, setStatus, showOnly, showText } from "../ui/dom.js";
import { fromDrop, fromInput } from "../ui/picked.js";
import { TreeList } from "../ui/tree-list.js";
import { endingWords, peerWords, routeWords } from "../ui/words.js";
import { Refused } from "./offer.js";
import { SendPhase, SendSession } from "./send-session.js";
import { Tree } from "./tree.js";

const $ = (id) => document.getElementById(id);

/** Leaving the page now would cut the transfer off: the receiver is there. */
const UNDER_WAY = new Set([SendPhase.CONNECTING, SendPhase.AWAITING_ACCEPT, SendPhase.SENDING, SendPhase.RECONNECTING]);

/**
 * @param {{relayOnly: () => boolean}} settings whether the person hides their address
 */
export function setupSendPage({ relayOnly }) {
  const status = $("send-status");
  // What is on screen between phases: the code's countdown and the total progress bar.
  const shown = { countdown: 0, progress: null };
  const list = new TreeList($("send-files"), { doneWords: "delivered ✓ verified", onRemove: (name) => remove(name) });

  /** Words about the list (what could not join it, what became of it), where the person looks. */
  const note = (text, kind = "error") => {
    setStatus($("pick-status"), $("send-pick").hidden ? "" : text, kind);
    setStatus($("list-status"), $("send-pick").hidden ? text : "", kind);
  };

  /** The list can no longer change. */
  const freeze = () => {
    $("add-more").hidden = true;
    list.lock();
  };

  const ended = (text, kind, { restart = true, said = null } = {}) => {
    clearInterval(shown.countdown);
    setStatus(status, text, kind);
    showText($("send-peer-said"), said);
    $("cancel-send").hidden = true;
    freeze();
    // The same files can go again under a new code; a receiver that kept part of them resumes.
    $("start-over").hidden = !restart;
    $("send-again").hidden = false;
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
      freeze();
      note("");
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
      ended(`Delivered: ${count(files.length, "file")} received and verified.`, "ok", { restart: false });
    },
    [SendPhase.DECLINED]: () => ended("The receiver declined the files.", "error"),
    [SendPhase.FAILED]: (ending) => ended(endingWords("sender", ending), "error", { said: peerWords("sender", ending) }),
    [SendPhase.CANCELLED]: () => ended("Cancelled. The receiver has been told.", "error"),
    [SendPhase.EXPIRED]: () => ended("This code expired before anyone used it.", "error"),
  };

  const newSession = () => {
    // A session given up (its list emptied, or started over) renders nothing more.
    const mine =
      (handler) =>
      (...args) =>
        made === session && handler(...args);
    /** Bytes of the offered files before the one at `index` (the list is fixed by then). */
    const before = (index) => {
      while (sums.length <= index) sums.push(sums.at(-1) + made.files[sums.length - 1].size);
      return sums[index];
    };
    const sums = [0];
    const made = new SendSession({
      relayOnly,
      onRoute: mine((route) => showText($("send-route"), routeWords(route))),
      onPhase: mine(({ phase, detail }) => render[phase](detail)),
      // Files before `index` are delivered or sent; what the receiver already held
      // counts as done, but not towards the speed (resent bytes do).
      onProgress: mine(({ index, fileBytes, sentBytes }) => {
        shown.progress.update(before(index) + fileBytes, null, 0, sentBytes);
        list.progress(index, fileBytes);
      }),
      onDelivered: mine((index) => list.finish(index)),
    });
    return made;
  };
  let session = newSession();

  const showList = () => {
    const files = session.files;
    list.show(new Tree(files));
    const total = files.reduce((sum, f) => sum + f.size, 0);
    $("send-summary").textContent = `${count(files.length, "file")}, ${formatBytes(total)}`;
  };

  /** Changes the list by `change()`, or words why the session would not; true if it did. */
  const changed = (change) => {
    try {
      change();
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      note(error.message);
      return false;
    }
    note("");
    return true;
  };

  const add = (batch) => changed(() => session.add(batch)) && showList();

  /** A drop's or a pick's files, once read (a big folder takes a moment). */
  const adding = (reading) => {
    note("Reading what was dropped…", "info");
    return reading.then(add, (error) => {
      if (!(error instanceof Refused)) throw error;
      note(error.message);
    });
  };

  /** The share view as it is before a code: nothing of an earlier send left on it. */
  const resetShare = () => {
    clearInterval(shown.countdown);
    $("code").textContent = "";
    $("countdown").textContent = "";
    $("send-files").replaceChildren();
    for (const id of ["start-over", "send-again", "send-progress", "send-route", "send-peer-said"]) $(id).hidden = true;
    for (const id of ["cancel-send", "add-more"]) $(id).hidden = false;
    list.lock(false);
  };

  const remove = (name) => {
    if (!changed(() => session.remove(name))) return;
    if (session.files.length) {
      showList();
      return;
    }
    // Nothing left to offer: the code goes, and the page is back where it began.
    const emptied = session;
    session = newSession();
    emptied.cancel();
    resetShare();
    showOnly(["send-pick", "send-share"], "send-pick");
    note("Everything was removed, so the code was given up. Choose files to get a new one.", "info");
  };

  /** The same files again, under a new code: the old one can no longer be used. */
  const startOver = () => {
    const files = session.files;
    session = newSession();
    resetShare();
    add(files);
  };

  for (const id of ["file-input", "folder-input", "add-files-input", "add-folder-input"]) {
    const input = $(id);
    input.addEventListener("change", () => {
      add(fromInput(input.files));
      input.value = "";
    });
  }
  // The whole window takes drops, so a file dropped beside the zone cannot replace
  // this page (and lose the code).
  catchDrops(
    $("drop-zone"),
    () => !$("send-view").hidden && session.takesFiles,
    (transfer) => adding(fromDrop(transfer)),
  );

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
  window.addEventListener("beforeunload", (event) => {
    if (UNDER_WAY.has(session.phase)) event.preventDefault();
  });
}
