/**
 * The exchange page: give a file by drop or picker, then take a random file that
 * someone else gave, while the pool's statistics follow along.
 * @module pool/page
 */

import { PoolError, downloadRandom, explain, fetchStats, sortedTypes, uploadFile } from "./api.js";
import { TotalProgress, count, el, formatBytes, setStatus, showOnly, takeDrops } from "../ui/dom.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["give-view", "get-view", "got-view"];
const STATS_EVERY_MS = 2000;
// The token survives a reload: it is the right to one download, paid for with a file.
const GIVEN_KEY = "sendit-pool-given";

const status = $("pool-status");
let maxFileSize = Infinity;
let busy = false;
let savedUrl = null;

const describe = ({ name, size, type }) => `${name} · ${formatBytes(size)} · ${type}`;

function loadGiven() {
  try {
    return JSON.parse(localStorage.getItem(GIVEN_KEY));
  } catch {
    return null;
  }
}

function showStats(stats) {
  $("pool-count").textContent = count(stats.count, "file");
  $("pool-bytes").textContent = formatBytes(stats.total_bytes);
  $("pool-types").replaceChildren(
    ...sortedTypes(stats.types).map(([type, n]) => el("li", { class: "pool-type" }, `${type} × ${n}`)));
  maxFileSize = stats.max_file_size;
  $("pool-limit").textContent = `one file, up to ${formatBytes(maxFileSize)}`;
}

async function refreshStats() {
  try {
    showStats(await fetchStats());
  } catch {
    // The next round tries again; the figures on screen stay as they were.
  }
}

function showGiven(given) {
  $("given").textContent = describe(given);
  showOnly(VIEWS, "get-view");
}

async function give(files) {
  if (busy) return;
  if (files.length !== 1) {
    setStatus(status, "Give one file at a time.", "error");
    return;
  }
  const [file] = files;
  if (file.size > maxFileSize) {
    const tooLarge = new PoolError(413, `the limit is ${formatBytes(maxFileSize)}`, "file-too-large");
    setStatus(status, explain(tooLarge), "error");
    return;
  }
  busy = true;
  $("upload-name").textContent = describe({ name: file.name, size: file.size, type: file.type || "unknown type" });
  $("upload-progress").hidden = false;
  setStatus(status, "Giving…");
  const progress = new TotalProgress($("upload-total"), $("upload-rate"), file.size);
  try {
    const given = await uploadFile(file, (sent) => progress.update(Math.min(sent, file.size)));
    progress.finish();
    localStorage.setItem(GIVEN_KEY, JSON.stringify(given));
    showGiven(given);
    setStatus(status, "Thank you. Now get a random file that someone else gave.", "ok");
    $("get-file").focus();
  } catch (error) {
    setStatus(status, explain(error), "error");
  } finally {
    $("upload-progress").hidden = true;
    busy = false;
    refreshStats();
  }
}

async function take() {
  const given = loadGiven();
  if (busy || !given) return;
  busy = true;
  $("get-file").disabled = true;
  setStatus(status, "Getting a random file…");
  let progress = null;
  try {
    const got = await downloadRandom(given.token, (received, total) => {
      if (!progress) {
        $("download-progress").hidden = false;
        progress = new TotalProgress($("download-total"), $("download-rate"), total);
      }
      progress.update(received);
    });
    progress?.finish();
    localStorage.removeItem(GIVEN_KEY);
    savedUrl = URL.createObjectURL(got.blob);
    const save = $("save-file");
    save.href = savedUrl;
    save.download = got.name;
    $("received").textContent = describe(got);
    showOnly(VIEWS, "got-view");
    setStatus(status, "Here is your random file. It has left the pool: save it now.", "ok");
    save.focus();
  } catch (error) {
    // pool-empty: nothing from someone else yet, and the token is kept for another try.
    if (error.errorId === "token-refused") {
      localStorage.removeItem(GIVEN_KEY);
      showOnly(VIEWS, "give-view");
    }
    setStatus(status, explain(error), error.errorId === "pool-empty" ? "info" : "error");
  } finally {
    $("download-progress").hidden = true;
    $("get-file").disabled = false;
    busy = false;
    refreshStats();
  }
}

const input = $("file-input");
input.addEventListener("change", () => {
  give([...input.files]);
  input.value = "";
});
takeDrops($("drop-zone"), () => !$("give-view").hidden && !busy, give, () =>
  setStatus(status, "A folder can't be given: zip it first.", "error"));
$("get-file").addEventListener("click", take);
$("give-again").addEventListener("click", () => {
  URL.revokeObjectURL(savedUrl);
  setStatus(status, "");
  showOnly(VIEWS, "give-view");
});

const given = loadGiven();
if (given?.token) showGiven(given);
else showOnly(VIEWS, "give-view");
setInterval(() => {
  if (!document.hidden) refreshStats();
}, STATS_EVERY_MS);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refreshStats();
});
refreshStats().finally(() => (document.body.dataset.ready = "true"));
