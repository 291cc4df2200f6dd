/**
 * DOM helpers shared by the pages: formatting, file rows with progress, a
 * transfer-rate meter, and window-wide file drops.
 * @module ui/dom
 */

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** 1234567 -> "1.2 MB" (decimal units, as disks and networks are sold). */
export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** (3, "file") -> "3 files"; (1, "file") -> "1 file". */
export function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Seconds -> "1:05" or "1:02:05". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

/** The last path part: the name a browser can save a file under. */
export function baseName(name) {
  return name.split("/").pop();
}

/** Bytes per second over the last few seconds, so the figure follows the link's pace. */
class RateMeter {
  #samples = [];

  constructor(windowMs = 3000) {
    this.windowMs = windowMs;
  }

  /** Record the running total; returns bytes per second (0 until two samples exist). */
  update(totalBytes, now = performance.now()) {
    this.#samples.push([now, totalBytes]);
    while (this.#samples.length > 2 && now - this.#samples[0][0] > this.windowMs) this.#samples.shift();
    const [t0, b0] = this.#samples[0];
    return now > t0 ? ((totalBytes - b0) * 1000) / (now - t0) : 0;
  }
}

/** Milliseconds between progress paints: often enough to look live, and a transfer's
 * thousands of updates a second cost nothing until then (painting every frame cost the
 * page a few percent of its transfer speed, measured with bench/throughput.py). */
const PAINT_INTERVAL = 200;

/** Run `render` on an animation frame at most every PAINT_INTERVAL ms, however often the
 * returned function is called. */
function paintThrottle(render) {
  let pending = false;
  let last = -Infinity;
  return () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      requestAnimationFrame((now) => {
        pending = false;
        last = now;
        render();
      });
    }, Math.max(0, last + PAINT_INTERVAL - performance.now()));
  };
}

/**
 * Changes to the page put off to its next paint, all together, at most every
 * PAINT_INTERVAL ms: one change per file, for thousands of small files, would have the
 * browser lay out the whole list for each, and the transfer wait on it (4,000 files: 80 s
 * instead of 10). Returns `later(change)`; changes run in the order they were made.
 */
export function onNextPaint() {
  const pending = [];
  const flush = paintThrottle(() => {
    for (const change of pending.splice(0)) change();
  });
  return (change) => {
    pending.push(change);
    flush();
  };
}

/**
 * The total progress bar and its line of figures: done / total, speed, time left;
 * at the end, the average speed over the whole transfer.
 */
export class TotalProgress {
  #meter = new RateMeter();
  #done = 0;
  #moved = 0;
  #started = performance.now();
  #finished = false;
  #file = null;
  #render = paintThrottle(() => {
    // A frame queued before finish() must not paint over the final figures.
    if (this.#finished) return;
    if (this.#file) this.#file.bar.value = this.#file.bytes;
    const rate = this.#meter.update(this.#moved);
    const left = rate > 0 ? ` · ${formatDuration((this.total - this.#done) / rate)} left` : "";
    this.bar.value = this.#done;
    this.line.textContent = `${formatBytes(this.#done)} of ${formatBytes(this.total)} · ${formatBytes(rate)}/s${left}`;
  });

  constructor(bar, line, total) {
    Object.assign(this, { bar, line, total });
    bar.max = total || 1;
  }

  /** Record the running total of bytes done and, if given, one file's progress bar and
   * its bytes; the display follows at the next paint. `movedBytes`, the part of them that
   * crossed the connection (what a resume skipped did not), is what the rate is of. */
  update(doneBytes, fileBar = null, fileBytes = 0, movedBytes = doneBytes) {
    this.#done = doneBytes;
    this.#moved = movedBytes;
    if (fileBar) this.#file = { bar: fileBar, bytes: fileBytes };
    this.#render();
  }

  finish() {
    this.#finished = true;
    const seconds = (performance.now() - this.#started) / 1000;
    this.bar.value = this.bar.max;
    this.line.textContent = `${formatBytes(this.total)} in ${formatDuration(seconds)} · average ${formatBytes(this.total / Math.max(seconds, 0.001))}/s`;
  }
}

/** Build an element: el("li", {class: "x"}, child, "text"). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** A file row: name, size, a progress bar and a state line; returns the parts to update. */
export function fileRow(file) {
  const bar = el("progress", { max: file.size || 1, value: 0, "aria-label": `progress of ${file.name}` });
  const state = el("span", { class: "file-state" });
  const actions = el("span", { class: "file-actions" });
  const row = el(
    "li",
    { class: "file" },
    el("span", { class: "file-name", title: file.name }, file.name),
    el("span", { class: "file-size" }, formatBytes(file.size)),
    bar,
    state,
    actions,
  );
  return { row, bar, state, actions };
}

/** Show one of a group of elements (by id) and hide the rest. */
export function showOnly(ids, visible) {
  for (const id of ids) document.getElementById(id).hidden = id !== visible;
}

/** Show `text` in `node`, or hide it when there is none. */
export function showText(node, text) {
  node.textContent = text ?? "";
  node.hidden = !text;
}

/** Set a status line; `kind` is "info", "ok" or "error" for styling and screen readers. */
export function setStatus(node, text, kind = "info") {
  node.textContent = text;
  node.dataset.kind = kind;
}

/**
 * Take drops anywhere in the window for `zone`: a file dropped beside it would otherwise
 * be opened by the browser in place of the page. Drops count while `active()`;
 * `onDrop(dataTransfer)` is called in the drop handler itself, while its items can
 * still be read.
 */
export function catchDrops(zone, active, onDrop) {
  for (const type of ["dragenter", "dragover"]) {
    document.addEventListener(type, (event) => {
      event.preventDefault();
      if (active()) zone.classList.add("dragging");
    });
  }
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (active()) onDrop(event.dataTransfer);
  });
}

/**
 * Take files dropped anywhere in the window for `zone` (see catchDrops): `onFiles(files)`
 * gets them, `onFolder()` is told of a folder instead.
 */
export function takeDrops(zone, active, onFiles, onFolder) {
  catchDrops(zone, active, (transfer) => {
    const items = [...(transfer.items ?? [])];
    if (items.some((item) => item.webkitGetAsEntry?.()?.isDirectory)) onFolder();
    else onFiles([...transfer.files]);
  });
}
