/**
 * Runs the real /js/ui/qr.js for tests/web/test_qr.py, which checks the symbols
 * against segno. Symbols go back as rows of "0"/"1" strings, which compare (and
 * print) compactly.
 */

import { encodeQR, qrSvg } from "/js/ui/qr.js";
import { thrown } from "./common.js";

const rows = (q) => q.modules.map((r) => r.map((m) => (m ? "1" : "0")).join(""));

/** `text` at each level in `levels`, with each mask forced and with the mask left to the penalty (null). */
export function everyMask({ text, levels }) {
  const out = [];
  for (const ecl of levels) {
    for (const mask of [0, 1, 2, 3, 4, 5, 6, 7, null]) {
      const q = encodeQR(text, { ecl, mask });
      out.push({ ecl, mask, version: q.version, size: q.size, rows: rows(q) });
    }
  }
  return out;
}

/** The version the first `n` characters of `data` get at `ecl`, from `minVersion` up; null if none fits. */
function versionOf(data, n, ecl, minVersion) {
  try {
    return encodeQR(data.slice(0, n), { ecl, mask: 0, minVersion }).version;
  } catch {
    return null;
  }
}

/**
 * For every version and level, the longest prefix of `data` that version holds (found by
 * bisection), its symbol, and the version one byte more needs.
 */
export function fullCapacity({ data, levels }) {
  const out = [];
  for (const ecl of levels) {
    for (let version = 1; version <= 40; version++) {
      let fits = 0;
      let over = data.length;
      while (over - fits > 1) {
        const mid = (fits + over) >> 1;
        if (versionOf(data, mid, ecl, version) === version) fits = mid;
        else over = mid;
      }
      // Even versions force each mask in turn; odd ones leave it to the penalty.
      const mask = version % 2 ? null : (version / 2) % 8;
      const q = encodeQR(data.slice(0, fits), { ecl, mask, minVersion: version });
      const next = versionOf(data, fits + 1, ecl, version);
      out.push({ ecl, version, mask, capacity: fits, got: q.version, rows: rows(q), next });
    }
  }
  return out;
}

/** One symbol: its version and rows. */
export function encodeRows({ text, ecl, minVersion }) {
  const q = encodeQR(text, { ecl, minVersion });
  return { version: q.version, rows: rows(q) };
}

/** The version `run()` produced, or the message it threw. */
function versionOrError(run) {
  try {
    return { version: run().version };
  } catch (error) {
    return { error: String(error.message) };
  }
}

/** Texts of `limits[ecl]` bytes and one byte more, at each level. */
export function tooLong(limits) {
  const out = {};
  for (const [ecl, limit] of Object.entries(limits)) {
    out[ecl] = {
      fits: versionOrError(() => encodeQR("x".repeat(limit), { ecl })),
      over: versionOrError(() => encodeQR("x".repeat(limit + 1), { ecl })),
    };
  }
  // Two UTF-8 bytes a character: the limit is in bytes, not characters.
  out.utf8 = versionOrError(() => encodeQR("é".repeat(limits.L / 2 + 1), { ecl: "L" }));
  out.svg = versionOrError(() => ({ version: qrSvg("x".repeat(limits.L + 1), { ecl: "L" }) }));
  return out;
}

/** What each call with an invalid option threw (null if it did not). */
export function badOptions() {
  const calls = [
    () => encodeQR("a", { ecl: "X" }),
    () => encodeQR("a", { ecl: "LM" }),
    () => encodeQR("a", { mask: 8 }),
    () => encodeQR("a", { mask: 1.5 }),
    () => encodeQR("a", { minVersion: 0 }),
    () => encodeQR("a", { minVersion: 41 }),
    () => qrSvg("a", { border: -1 }),
  ];
  return calls.map(thrown);
}

/**
 * How many cells of the `extent`-square grid (the symbol in a quiet zone of `border`)
 * `isDark(row, column)` gets wrong.
 */
function countWrong(modules, border, extent, isDark) {
  const size = modules.length;
  let wrong = 0;
  for (let r = 0; r < extent; r++) {
    for (let c = 0; c < extent; c++) {
      const mr = r - border;
      const mc = c - border;
      const dark = mr >= 0 && mc >= 0 && mr < size && mc < size && modules[mr][mc];
      if (isDark(r, c) !== dark) wrong++;
    }
  }
  return wrong;
}

/** Rasterises `markup`, `scale` px a module, on white; returns the canvas's width and pixels. */
async function rasterise(markup, extent, scale) {
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([markup], { type: "image/svg+xml" }));
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = extent * scale;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return { width: canvas.width, pixels: ctx.getImageData(0, 0, canvas.width, canvas.height).data };
}

/**
 * qrSvg(text) parsed and put in the page 4 px a module, then checked two ways: the
 * path's geometry and the rasterised pixels must both show exactly the dark modules.
 */
export async function renderSvg({ text, border }) {
  const markup = qrSvg(text, { ecl: "Q", border });
  const { size, modules } = encodeQR(text, { ecl: "Q" });
  const extent = size + 2 * border;
  const parsed = new DOMParser().parseFromString(markup, "image/svg+xml");
  const svg = document.importNode(parsed.documentElement, true);
  svg.setAttribute("width", String(extent * 4));
  document.body.appendChild(svg);
  const path = svg.querySelector("path");
  // Geometry: the centre of each module is inside the path exactly when dark, and the
  // quiet zone is all outside.
  const inPath = (r, c) => path.isPointInFill(new DOMPoint(c + 0.5, r + 0.5));
  const geometry = countWrong(modules, border, extent, inPath);
  // Pixels: read each module's colour back 2 px inside its top left corner.
  const scale = 4;
  const { width, pixels } = await rasterise(markup, extent, scale);
  const darkPixel = (r, c) => pixels[((r * scale + 2) * width + c * scale + 2) * 4] < 128;
  const raster = countWrong(modules, border, extent, darkPixel);
  const box = svg.getBoundingClientRect();
  return {
    markup,
    size,
    geometry,
    raster,
    parseErrors: parsed.getElementsByTagName("parsererror").length,
    root: parsed.documentElement.localName,
    namespace: parsed.documentElement.namespaceURI,
    viewBox: svg.getAttribute("viewBox"),
    shapeRendering: svg.getAttribute("shape-rendering"),
    elements: [...svg.querySelectorAll("*")].map((e) => e.localName),
    styled: svg.querySelectorAll("[style]").length + svg.hasAttribute("style"),
    width: box.width,
    height: box.height,
  };
}

/** qrSvg(text) with its default options. */
export const defaultSvg = ({ text }) => qrSvg(text);
