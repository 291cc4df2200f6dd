/**
 * The receive page: enter a code (or open a link), see what is offered, accept,
 * and save each file once it is verified. It only renders: the receive itself, and
 * where it is, belong to the ReceiveSession.
 * @module transfer/receive-page
 */

import { InvalidCode } from "../protocol/codes.js";
import { codeWords } from "../signalling/words.js";
import { TotalProgress, baseName, count, el, fileRow, formatBytes, onNextPaint, setStatus, showText } from "../ui/dom.js";
import { endingWords, peerWords, refusalWords, routeWords } from "../ui/words.js";
import { ReceivePhase, ReceiveSession } from "./receive-session.js";
import { BlobStore } from "./store/blob.js";

const $ = (id) => document.getElementById(id);

/** Leaving the page now would cut the transfer off. */
const UNDER_WAY = new Set([ReceivePhase.WAITING_FOR_OFFER, ReceivePhase.OFFERED, ReceivePhase.RECEIVING]);
/** Completions offered at once, at most: enough to pick from, few enough to read. */
const COMPLETIONS = 8;
const LAST_PART = /^(.*[ \t\-_.\u00a0])?([A-Za-z]+)$/s;

/** Suggests, while a word of the code is typed, the code words it may be: `list` is the
 * input's datalist, whose options each hold the whole input with that word completed. */
function completeWords(input, list) {
  input.addEventListener("input", async () => {
    const typed = input.value;
    const [, before = "", part = ""] = LAST_PART.exec(typed) ?? [];
    const words = before.trim() && part ? (await codeWords(location.origin)).complete(part) : [];
    // A later keystroke may have answered first.
    if (input.value !== typed) return;
    const options = words.slice(0, COMPLETIONS).map((word) => el("option", { value: before + word }));
    list.replaceChildren(...(words.length === 1 && words[0] === part.toLowerCase() ? [] : options));
  });
}

/**
 * @param {{relayOnly: () => boolean}} settings whether the person hides their address
 */
export function setupReceivePage({ relayOnly }) {
  const status = $("receive-status");
  const rows = [];
  const saved = [];
  // The total progress bar, once receiving.
  const shown = { progress: null };
  const later = onNextPaint();

  const ended = (text, kind, said = null) => {
    setStatus(status, text, kind);
    showText($("receive-peer-said"), said);
    $("offer-actions").hidden = true;
    $("receive-again").hidden = false;
  };

  const render = {
    [ReceivePhase.JOINING]: ({ code }) => {
      $("receive-form").hidden = true;
      $("receive-code").textContent = code;
      setStatus(status, "Looking up the code…");
    },
    [ReceivePhase.REFUSED]: (refusal) => {
      setStatus(status, refusalWords(refusal), "error");
      // A code that does not read as one never left the form; a refused one gives it back for another try.
      if (refusal.by === "code") return;
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
      // Accept, which had the focus, is gone: hand it to what comes next (once it is there).
      later(() => saved[0]?.focus());
    },
    [ReceivePhase.DECLINED]: () => ended("You declined the files. Nothing was received.", "info"),
    [ReceivePhase.CANCELLED]: (ending) => ended(endingWords("receiver", ending), "error"),
    [ReceivePhase.FAILED]: (ending) => ended(endingWords("receiver", ending), "error", peerWords("receiver", ending)),
  };

  const session = new ReceiveSession({
    relayOnly,
    onRoute: (route) => showText($("receive-route"), routeWords(route)),
    onPhase: ({ phase, detail }) => render[phase](detail),
    onProgress: ({ index, fileBytes, receivedBytes }) => shown.progress.update(receivedBytes, rows[index].bar, fileBytes),
    onFile: ({ index, entry, saved: { file } }) => {
      // The page cannot see the disk: a name too long for it is the browser's to shorten
      // (PROTOCOL.md 4); the manifest's rules already refused names that deceive.
      const link = el("a", { class: "button save", href: URL.createObjectURL(file), download: baseName(entry.name) }, "Save");
      saved.push(link);
      later(() => {
        const { bar, state, actions } = rows[index];
        bar.value = bar.max;
        state.textContent = "verified ✓";
        actions.append(link);
        $("save-all").hidden = saved.length < 2;
      });
    },
  });

  completeWords($("code-input"), $("code-words"));
  $("receive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    session.join($("code-input").value);
  });
  $("accept").addEventListener("click", () => session.accept(new BlobStore()));
  $("decline").addEventListener("click", () => session.decline());
  $("save-all").addEventListener("click", () => saved.forEach((link) => link.click()));
  $("receive-again").addEventListener("click", () => location.assign("/"));
  window.addEventListener("pagehide", () => session.leave());
  window.addEventListener("beforeunload", (event) => {
    if (UNDER_WAY.has(session.phase)) event.preventDefault();
  });

  /**
   * A share link's code, made ready but not used: the person's click on Receive (or
   * Enter) joins. A link previewer or a chat app that runs the page joins nothing, so
   * it cannot use up the one-shot code.
   */
  const ready = async (text) => {
    $("code-input").value = text;
    $("receive-button").focus();
    try {
      const { canonical } = (await codeWords(location.origin)).parse(text);
      setStatus(status, `Ready to receive with code ${canonical}. Press Receive to connect.`);
    } catch (error) {
      setStatus(status, refusalWords({ reason: error.message, by: error instanceof InvalidCode ? "code" : "network" }), "error");
    }
  };
  return { ready };
}
