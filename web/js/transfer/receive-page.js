/**
 * The receive page: enter a code (or open a link), see what is offered, accept,
 * and save each file once it is verified. It only renders: the receive itself, and
 * where it is, belong to the ReceiveSession.
 * @module transfer/receive-page
 */

import { TotalProgress, baseName, count, el, fileRow, formatBytes, formatDuration, setStatus } from "../ui/dom.js";
import { endingWords } from "../ui/words.js";
import { ReceivePhase, ReceiveSession } from "./receive-session.js";

const $ = (id) => document.getElementById(id);

/** The server's error texts, in plain words for the person at the keyboard. */
const JOIN_ERRORS = {
  "code not found or expired":
    "No transfer is waiting under this code. Check it for typos, or ask the sender for a new one (codes expire).",
  "code already used": "This code has already been used by someone else. Ask the sender for a new code.",
  "too many attempts": (wait) =>
    `Too many wrong codes from your network. Wait ${wait ? formatDuration(wait) : "a minute"}, then try again.`,
};

/** Why a code was not taken, in plain words; see ReceivePhase's `refused`. */
const REFUSALS = {
  code: (reason) => `That is not a SendIt code: ${reason}.`,
  server: (reason, retryAfter) => {
    const words = JOIN_ERRORS[reason];
    return typeof words === "function" ? words(retryAfter) : words ?? `The server refused: ${reason}.`;
  },
  network: (reason) => `Could not reach the SendIt server (${reason}).`,
};

/** Leaving the page now would cut the transfer off. */
const UNDER_WAY = new Set([ReceivePhase.WAITING_FOR_OFFER, ReceivePhase.OFFERED, ReceivePhase.RECEIVING]);

export function setupReceivePage() {
  const status = $("receive-status");
  const rows = [];
  const saved = [];
  // The total progress bar, once receiving.
  const shown = { progress: null };

  const ended = (text, kind) => {
    setStatus(status, text, kind);
    $("offer-actions").hidden = true;
    $("receive-again").hidden = false;
  };

  const render = {
    [ReceivePhase.JOINING]: ({ code }) => {
      $("receive-form").hidden = true;
      $("receive-code").textContent = code;
      setStatus(status, "Looking up the code…");
    },
    [ReceivePhase.REFUSED]: ({ reason, by, retryAfter }) => {
      setStatus(status, REFUSALS[by](reason, retryAfter), "error");
      // A malformed code never left the form; a refused one gives it back for another try.
      if (by === "code") return;
      $("receive-form").hidden = false;
      $("receive-code").textContent = "";
      $("code-input").select();
    },
    [ReceivePhase.CONNECTING]: () => setStatus(status, "Connecting directly to the sender…"),
    [ReceivePhase.WAITING_FOR_OFFER]: () => setStatus(status, "Connected. Waiting for the list of files…"),
    [ReceivePhase.OFFERED]: ({ files, totalBytes }) => {
      rows.push(...files.map(fileRow));
      $("receive-files").append(...rows.map((r) => r.row));
      $("offer-summary").textContent = `The sender offers ${count(files.length, "file")}, ${formatBytes(totalBytes)}.`;
      $("offer").hidden = false;
      $("offer-actions").hidden = false;
      setStatus(status, "Accept to start the transfer.");
      $("accept").focus();
    },
    [ReceivePhase.RECEIVING]: ({ totalBytes }) => {
      $("offer-actions").hidden = true;
      $("receive-progress").hidden = false;
      setStatus(status, "Receiving…");
      shown.progress = new TotalProgress($("receive-total"), $("receive-rate"), totalBytes);
    },
    [ReceivePhase.RECEIVED]: ({ files }) => {
      shown.progress.finish();
      ended(`All ${count(files.length, "file")} received and verified. Save them below.`, "ok");
      // Accept, which had the focus, is gone: hand it to what comes next.
      saved[0]?.focus();
    },
    [ReceivePhase.DECLINED]: () => ended("You declined the files. Nothing was received.", "info"),
    [ReceivePhase.CANCELLED]: (ending) => ended(endingWords("receiver", ending), "error"),
    [ReceivePhase.FAILED]: (ending) => ended(endingWords("receiver", ending), "error"),
  };

  const session = new ReceiveSession({
    onPhase: ({ phase, detail }) => render[phase](detail),
    onProgress: ({ index, fileBytes, receivedBytes }) => shown.progress.update(receivedBytes, rows[index].bar, fileBytes),
    onFile: ({ index, entry, blob }) => {
      const { bar, state, actions } = rows[index];
      bar.value = bar.max;
      state.textContent = "verified ✓";
      // The page cannot see the disk: a name too long for it is the browser's to shorten
      // (PROTOCOL.md 3.1); the manifest's rules already refused names that deceive.
      const link = el("a", { class: "button save", href: URL.createObjectURL(blob), download: baseName(entry.name) }, "Save");
      saved.push(link);
      actions.append(link);
      $("save-all").hidden = saved.length < 2;
    },
  });

  $("receive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    session.join($("code-input").value);
  });
  $("accept").addEventListener("click", () => session.accept());
  $("decline").addEventListener("click", () => session.decline());
  $("save-all").addEventListener("click", () => saved.forEach((link) => link.click()));
  $("receive-again").addEventListener("click", () => location.assign("/"));
  window.addEventListener("pagehide", () => session.leave());
  window.addEventListener("beforeunload", (event) => {
    if (UNDER_WAY.has(session.phase)) event.preventDefault();
  });

  return { join: (text) => session.join(text) };
}
