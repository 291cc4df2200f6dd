/**
 * The receive page: enter a code (or open a link), see what is offered, accept,
 * and save each file once it is verified. It only renders: the receive itself, and
 * where it is, belong to the ReceiveSession.
 * @module transfer/receive-page
 */

import { InvalidCode } from "../protocol/codes.js";
import { codeWords } from "../signalling/words.js";
import { TotalProgress, baseName, count, el, fileRow, formatBytes, onNextPaint, setStatus, showText } from "../ui/dom.js";
import { streamToDownloadsSetting } from "../ui/settings.js";
import { endingWords, peerWords, refusalWords, routeWords } from "../ui/words.js";
import { ReceivePhase, ReceiveSession } from "./receive-session.js";
import { BlobStore, LIMIT } from "./store/blob.js";
import { FolderStore } from "./store/folder.js";
import { OpfsStore } from "./store/opfs.js";
import { canPick } from "./store/pickers.js";
import { CannotSave } from "./store/store.js";
import { StreamStore } from "./store/stream.js";
import { archiveName } from "./store/zip.js";

const $ = (id) => document.getElementById(id);

/** Leaving the page now would cut the transfer off. */
const UNDER_WAY = new Set([
  ReceivePhase.WAITING_FOR_OFFER,
  ReceivePhase.OFFERED,
  ReceivePhase.RECEIVING,
  ReceivePhase.RECONNECTING,
]);
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
 * Where the files go when no folder is picked: "stream" (straight into a download, see
 * store/stream.js) when the person asked for it, or when this browser's own storage is
 * missing (Firefox's private windows) or has too little room left for the offer (a
 * private window's is small, and kept in memory); else "opfs"; "memory" last.
 */
async function keeping(totalBytes, { streamToDownloads }) {
  if (StreamStore.available && (streamToDownloads || !(await roomInBrowser(totalBytes)))) return "stream";
  return OpfsStore.available ? "opfs" : "memory";
}

/** Whether this browser's own storage is there and says it has room for `bytes`. */
async function roomInBrowser(bytes) {
  if (!OpfsStore.available) return false;
  try {
    const { quota, usage } = await navigator.storage.estimate();
    return quota - usage >= bytes;
  } catch {
    // No estimate: the storage is tried, and a disk that fills is an error in words.
    return true;
  }
}

/** Where accepting will put the files (`keep` from `keeping`), said with the offer. */
function whereWords(totalBytes, keep) {
  if (canPick()) return "When you accept, you choose where the files go.";
  if (keep === "stream") {
    return "The files go straight to your Downloads folder as they arrive; a transfer that breaks cannot resume.";
  }
  if (keep === "opfs") return "The files are kept in this browser's storage on disk; you save them once they have arrived.";
  const words = `This browser can keep about ${formatBytes(LIMIT)} in memory; use Chrome or the \`sendit\` command for larger files.`;
  return totalBytes > LIMIT ? `These files are ${formatBytes(totalBytes)}. ${words}` : words;
}

/**
 * Where the person's files go, from the Accept click (the picker needs its gesture): the
 * folder or file they pick where the browser can ask; if they pick none, or elsewhere,
 * as `keeping` says (`settings` the person's). Resolves to the store, or to null (and
 * says why on `status`) when the offer cannot be taken as it is, the offer still standing.
 */
async function chooseStore(files, status, settings) {
  let note = "";
  try {
    if (canPick()) {
      try {
        const store = await FolderStore.pick(files);
        await store.check(files);
        const clashes = await store.clashes(files);
        const { name } = store.where;
        if (clashes.length && !window.confirm(`${count(clashes.length, "file")} of these already in “${name}” (${clashes.slice(0, 3).join(", ")}${clashes.length > 3 ? ", …" : ""}) will be replaced. Replace them?`)) {
          setStatus(status, `Nothing was replaced in “${name}”. Accept again to choose another folder, or decline.`);
          return null;
        }
        return store;
      } catch (error) {
        if (error instanceof CannotSave || error.name !== "AbortError") throw error;
        note = "No folder was chosen, so ";
      }
    }
    const keep = await keeping(files.reduce((sum, f) => sum + f.size, 0), settings);
    const store =
      keep === "stream" ? await StreamStore.open(files) : keep === "opfs" ? await OpfsStore.open(files) : new BlobStore();
    await store.check(files);
    if (note) note += keep === "stream" ? "the files go straight to your Downloads folder. " : "the files are kept in this browser. ";
    return Object.assign(store, { note });
  } catch (error) {
    setStatus(status, error instanceof CannotSave ? error.message : `These files cannot be saved here: ${error.message}`, "error");
    return null;
  }
}

/**
 * @param {{relayOnly: () => boolean}} settings whether the person hides their address
 */
export function setupReceivePage({ relayOnly }) {
  const streamToDownloads = streamToDownloadsSetting();
  const status = $("receive-status");
  const rows = [];
  const saved = [];
  // The offer's files, then the store they go to once accepted.
  const chosen = { files: [], store: null };
  // The total progress bar, once receiving.
  const shown = { progress: null };
  const later = onNextPaint();

  const ended = (text, kind, said = null) => {
    setStatus(status, text, kind);
    showText($("receive-peer-said"), said);
    $("offer-actions").hidden = true;
    $("cancel-receive").hidden = true;
    $("receive-again").hidden = false;
  };

  // A streamed download cannot be taken up again, and the browser drops what it had of it.
  const stopped = (text, said = null) => {
    ended(text, "error", said);
    if (chosen.store instanceof StreamStore && chosen.store.download) {
      showText($("receive-where"), "The download was stopped and your browser keeps none of it: receiving these files again starts from the beginning.");
    }
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
      chosen.files = files;
      const settings = { streamToDownloads: streamToDownloads() };
      keeping(totalBytes, settings).then((keep) => showText($("offer-where"), whereWords(totalBytes, keep)));
      $("offer").hidden = false;
      $("offer-actions").hidden = false;
      setStatus(status, "Accept to start the transfer.");
      $("accept").focus();
    },
    [ReceivePhase.RECEIVING]: ({ totalBytes, resumed }) => {
      setStatus(status, `${chosen.store.note ?? ""}Receiving…`);
      // Back from reconnecting, the progress goes on where it was.
      if (resumed) return;
      $("offer-actions").hidden = true;
      $("offer-where").hidden = true;
      $("receive-progress").hidden = false;
      shown.progress = new TotalProgress($("receive-total"), $("receive-rate"), totalBytes);
    },
    [ReceivePhase.RECONNECTING]: () =>
      setStatus(status, "The connection dropped: reconnecting… What has arrived is kept."),
    [ReceivePhase.RECEIVED]: ({ files }) => {
      shown.progress.finish();
      const { store } = chosen;
      // Files in the picked folder or a download are where they go: nothing to save below.
      const placed = store instanceof FolderStore || store instanceof StreamStore;
      ended(`All ${count(files.length, "file")} received and verified. ${placed ? store.describe() : "Save them below."}`, "ok");
      showText($("receive-where"), placed ? null : store.describe());
      if (store.archive) {
        const name = archiveName(files.map((f) => f.name));
        Object.assign($("save-all"), { href: URL.createObjectURL(store.archive), download: name, textContent: `Save all (${name})`, hidden: false });
      }
      // Accept, which had the focus, is gone: hand it to what comes next (once it is there).
      later(() => saved[0]?.focus());
    },
    [ReceivePhase.DECLINED]: () => ended("You declined the files. Nothing was received.", "info"),
    [ReceivePhase.CANCELLED]: (ending) => stopped(endingWords("receiver", ending)),
    [ReceivePhase.FAILED]: (ending) => stopped(endingWords("receiver", ending), peerWords("receiver", ending)),
  };

  /** Bytes of the offered files before the one at `index`. */
  const before = (index) => {
    while (sums.length <= index) sums.push(sums.at(-1) + chosen.files[sums.length - 1].size);
    return sums[index];
  };
  const sums = [0];
  const session = new ReceiveSession({
    relayOnly,
    onRoute: (route) => showText($("receive-route"), routeWords(route)),
    onPhase: ({ phase, detail }) => render[phase](detail),
    // Files before `index` are verified; what it held of a resumed file counts as done,
    // but not towards the speed.
    onProgress: ({ index, fileBytes, receivedBytes }) =>
      shown.progress.update(before(index) + fileBytes, rows[index].bar, fileBytes, receivedBytes),
    onFile: ({ index, entry, saved: { file } }) => {
      // A file already where the person chose is not handed over again. The page cannot
      // see the disk: a name too long for it is the browser's to shorten (PROTOCOL.md 4);
      // the manifest's rules already refused names that deceive.
      const link = file && el("a", { class: "button save", href: URL.createObjectURL(file), download: baseName(entry.name) }, "Save");
      if (link) saved.push(link);
      later(() => {
        const { bar, state, actions } = rows[index];
        bar.value = bar.max;
        state.textContent = link ? "verified ✓" : "verified ✓ saved";
        if (link) actions.append(link);
      });
    },
  });

  completeWords($("code-input"), $("code-words"));
  $("receive-form").addEventListener("submit", (event) => {
    event.preventDefault();
    session.join($("code-input").value);
  });
  $("accept").addEventListener("click", async () => {
    $("accept").disabled = true;
    const store = await chooseStore(chosen.files, status, { streamToDownloads: streamToDownloads() });
    $("accept").disabled = false;
    if (!store) return;
    chosen.store = store;
    session.accept(store);
  });
  $("decline").addEventListener("click", () => session.decline());
  $("cancel-receive").addEventListener("click", () => session.cancel());
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
