/**
 * QR Code encoder (ISO/IEC 18004): byte mode, UTF-8 text, versions 1 to 40,
 * error-correction levels L, M, Q and H. No state and no DOM: qrSvg returns
 * markup for the caller to insert.
 * @module ui/qr
 */

const LEVELS = "LMQH";
// The two format-information bits of each level, in LEVELS order.
const LEVEL_FORMAT_BITS = [0b01, 0b00, 0b11, 0b10];

// Annex tables of the standard, per level then per version 1..40: error-correction
// codewords in each block, and number of blocks. Data capacity follows from them.
const EC_CODEWORDS_PER_BLOCK = [
  [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
    28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
    26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
    28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
    30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
];
const BLOCK_COUNT = [
  [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
    8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
  [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
    17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
  [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
    23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
  [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
    25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
];

const BYTE_MODE = 0b0100;
const PAD_BYTES = [0xec, 0x11];

// GF(256) with the field polynomial 0x11D; EXP is doubled so products need no modulo.
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++, x = (x << 1) ^ (x & 0x80 ? 0x11d : 0)) {
  EXP[i] = EXP[i + 255] = x;
  LOG[x] = i;
}
const gfMul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

const generators = new Map();

/** Coefficients, highest power first, of the product of (x - α^i) for i < degree. */
function generator(degree) {
  let poly = generators.get(degree);
  if (!poly) {
    poly = [1];
    for (let i = 0; i < degree; i++) {
      const next = [...poly, 0];
      for (let j = 0; j < poly.length; j++) next[j + 1] ^= gfMul(poly[j], EXP[i]);
      poly = next;
    }
    generators.set(degree, poly);
  }
  return poly;
}

function errorCorrection(data, degree) {
  const gen = generator(degree);
  const rem = new Array(degree).fill(0);
  for (const byte of data) {
    const factor = byte ^ rem.shift();
    rem.push(0);
    for (let j = 0; j < degree; j++) rem[j] ^= gfMul(gen[j + 1], factor);
  }
  return rem;
}

const sizeOf = (version) => 17 + 4 * version;

/** Centre coordinates of the alignment patterns along either axis. */
function alignmentCentres(version) {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const last = sizeOf(version) - 7;
  // Evenly spaced from the last centre back towards 6, on an even step; only the
  // first gap (after 6) absorbs the slack. Version 32 is the table's one exception.
  const step = version === 32 ? 26 : 2 * Math.ceil((last - 6) / (2 * (count - 1)));
  const centres = [6];
  for (let i = count - 2; i >= 0; i--) centres.push(last - i * step);
  return centres;
}

/** Modules left for codewords once every function pattern is in place. */
function codewordCapacity(version) {
  const size = sizeOf(version);
  let modules = size * size - 3 * 64 - 2 * (size - 16) - 31;
  const n = alignmentCentres(version).length;
  if (n) {
    const patterns = n * n - 3;
    // Alignment patterns in row or column 6 overlap the timing patterns by 5 modules.
    modules -= 25 * patterns - 10 * (n - 2);
  }
  if (version >= 7) modules -= 36;
  return Math.floor(modules / 8);
}

function dataCapacity(version, level) {
  const v = version - 1;
  return codewordCapacity(version) - EC_CODEWORDS_PER_BLOCK[level][v] * BLOCK_COUNT[level][v];
}

const countBits = (version) => (version < 10 ? 8 : 16);

/** The data codewords: mode, count, bytes, terminator and padding. */
function dataCodewords(bytes, version, capacity) {
  const bits = [];
  const put = (value, length) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(BYTE_MODE, 4);
  put(bytes.length, countBits(version));
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, capacity * 8 - bits.length));
  put(0, (8 - (bits.length % 8)) % 8);
  const codewords = [];
  for (let i = 0; i < bits.length; i += 8) {
    codewords.push(bits.slice(i, i + 8).reduce((acc, bit) => (acc << 1) | bit, 0));
  }
  for (let i = 0; codewords.length < capacity; i++) codewords.push(PAD_BYTES[i % 2]);
  return codewords;
}

/** Splits data into blocks, adds error correction, and interleaves it all. */
function finalCodewords(data, version, level) {
  const blockCount = BLOCK_COUNT[level][version - 1];
  const ecLength = EC_CODEWORDS_PER_BLOCK[level][version - 1];
  const total = codewordCapacity(version);
  const shortBlocks = blockCount - (total % blockCount);
  const shortData = Math.floor(total / blockCount) - ecLength;
  const blocks = [];
  for (let b = 0, offset = 0; b < blockCount; b++) {
    const length = shortData + (b < shortBlocks ? 0 : 1);
    blocks.push(data.slice(offset, offset + length));
    offset += length;
  }
  const ecBlocks = blocks.map((block) => errorCorrection(block, ecLength));
  const result = [];
  for (let i = 0; i <= shortData; i++) {
    for (const block of blocks) if (i < block.length) result.push(block[i]);
  }
  for (let i = 0; i < ecLength; i++) {
    for (const block of ecBlocks) result.push(block[i]);
  }
  return result;
}

/** BCH code of `data`: the data followed by its remainder modulo `poly`. */
function bch(data, poly, polyDegree) {
  let rem = data << polyDegree;
  for (let bit = 31 - Math.clz32(rem); bit >= polyDegree; bit--) {
    if ((rem >>> bit) & 1) rem ^= poly << (bit - polyDegree);
  }
  return (data << polyDegree) | rem;
}

const MASKS = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (r, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

const grid = (size) => Array.from({ length: size }, () => new Array(size).fill(false));

class Matrix {
  /** `reserved` marks function-pattern modules, which data and masks leave alone. */
  constructor(size, reserved = grid(size)) {
    this.size = size;
    this.dark = grid(size);
    this.reserved = reserved;
  }

  set(row, col, dark) {
    this.dark[row][col] = dark;
    this.reserved[row][col] = true;
  }

  drawFunctionPatterns(version) {
    const size = this.size;
    for (let i = 0; i < size; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    // Finder at each corner but bottom-right, with its light separator.
    for (const [cr, cc] of [[3, 3], [3, size - 4], [size - 4, 3]]) {
      for (let dr = -4; dr <= 4; dr++) {
        for (let dc = -4; dc <= 4; dc++) {
          const r = cr + dr, c = cc + dc;
          if (r < 0 || r >= size || c < 0 || c >= size) continue;
          const ring = Math.max(Math.abs(dr), Math.abs(dc));
          this.set(r, c, ring !== 2 && ring !== 4);
        }
      }
    }
    const centres = alignmentCentres(version);
    const last = centres.length - 1;
    centres.forEach((cr, i) => centres.forEach((cc, j) => {
      if ((i === 0 && (j === 0 || j === last)) || (i === last && j === 0)) return;
      for (let dr = -2; dr <= 2; dr++) {
        for (let dc = -2; dc <= 2; dc++) {
          this.set(cr + dr, cc + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
        }
      }
    }));
    // Format and version areas stay light until the mask is chosen (see encodeQR).
    this.drawFormat(0, false);
    if (version >= 7) this.drawVersion(0);
  }

  drawVersion(bits) {
    const size = this.size;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3), b = Math.floor(i / 3);
      this.set(b, a, dark);
      this.set(a, b, dark);
    }
  }

  drawFormat(bits, darkModule) {
    const size = this.size;
    const bit = (i) => ((bits >>> i) & 1) === 1;
    // Copy 1 wraps the top-left finder, skipping the timing row and column.
    for (let i = 0; i <= 5; i++) this.set(i, 8, bit(i));
    this.set(7, 8, bit(6));
    this.set(8, 8, bit(7));
    this.set(8, 7, bit(8));
    for (let i = 9; i < 15; i++) this.set(8, 14 - i, bit(i));
    // Copy 2 is split between the top-right and bottom-left finders.
    for (let i = 0; i < 8; i++) this.set(8, size - 1 - i, bit(i));
    for (let i = 8; i < 15; i++) this.set(size - 15 + i, 8, bit(i));
    this.set(size - 8, 8, darkModule);
  }

  /** Places codewords in two-module-wide columns, zigzagging up and down from the right. */
  drawCodewords(codewords) {
    const size = this.size;
    const totalBits = codewords.length * 8;
    let index = 0;
    let upward = true;
    for (let right = size - 1; right > 0; right -= 2) {
      if (right === 6) right = 5; // the vertical timing pattern takes a whole column
      for (let step = 0; step < size; step++) {
        const row = upward ? size - 1 - step : step;
        for (const col of [right, right - 1]) {
          if (this.reserved[row][col]) continue;
          // Remainder bits after the last codeword are zeros.
          if (index < totalBits) {
            this.dark[row][col] = ((codewords[index >>> 3] >>> (7 - (index & 7))) & 1) === 1;
          }
          index++;
        }
      }
      upward = !upward;
    }
  }

  /** A copy with the data modules masked; the function patterns are shared, as they never move. */
  masked(mask) {
    const copy = new Matrix(this.size, this.reserved);
    const flip = MASKS[mask];
    copy.dark = this.dark.map((row, r) => row.map((dark, c) => (
      this.reserved[r][c] || !flip(r, c) ? dark : !dark)));
    return copy;
  }

  penalty() {
    const { size, dark } = this;
    let score = 0;
    let darkCount = 0;
    const column = new Array(size);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) column[j] = dark[j][i];
      score += linePenalty(dark[i]) + linePenalty(column);
    }
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        if (dark[r][c]) darkCount++;
        if (r && c) {
          const v = dark[r][c];
          if (v === dark[r - 1][c] && v === dark[r][c - 1] && v === dark[r - 1][c - 1]) score += 3;
        }
      }
    }
    const total = size * size;
    // 10 points per full 5% that the dark share strays from 50%.
    score += 10 * Math.floor(Math.abs(20 * darkCount - 10 * total) / total);
    return score;
  }
}

const FINDER_LIKE = [true, false, true, true, true, false, true];

/** Penalty rules 1 (runs of five or more) and 3 (finder-like patterns) for one line. */
function linePenalty(line) {
  let score = 0;
  let run = 1;
  for (let i = 1; i <= line.length; i++) {
    if (i < line.length && line[i] === line[i - 1]) {
      run++;
    } else {
      if (run >= 5) score += run - 2;
      run = 1;
    }
  }
  // Beyond the edge is the quiet zone, which is light too.
  const lightRun = (from) => {
    for (let i = Math.max(from, 0); i < Math.min(from + 4, line.length); i++) {
      if (line[i]) return false;
    }
    return true;
  };
  for (let i = 0; i + 7 <= line.length; i++) {
    if (!FINDER_LIKE.every((v, k) => line[i + k] === v)) continue;
    if (lightRun(i - 4) || lightRun(i + 7)) score += 40;
  }
  return score;
}

/**
 * Encodes text as a QR Code symbol, in byte mode with UTF-8.
 * @param {string} text
 * @param {object} [options]
 * @param {"L"|"M"|"Q"|"H"} [options.ecl="M"] error-correction level
 * @param {?number} [options.mask=null] mask pattern 0..7; null picks the one with
 *   the lowest penalty score, as the standard prescribes
 * @param {number} [options.minVersion=1] smallest version (1..40) to use, for a
 *   stable symbol size across texts of similar length
 * @returns {{version: number, size: number, modules: boolean[][]}} the symbol without
 *   quiet zone: `modules[row][column]`, true for dark
 * @throws {Error} on bad options, or when the text does not fit version 40
 */
export function encodeQR(text, { ecl = "M", mask = null, minVersion = 1 } = {}) {
  const level = typeof ecl === "string" && ecl.length === 1 ? LEVELS.indexOf(ecl) : -1;
  if (level < 0) {
    throw new Error(`QR: error-correction level must be one of L, M, Q, H, not ${ecl}`);
  }
  if (mask !== null && !(Number.isInteger(mask) && mask >= 0 && mask <= 7)) {
    throw new Error(`QR: mask must be null or an integer 0..7, not ${mask}`);
  }
  if (!(Number.isInteger(minVersion) && minVersion >= 1 && minVersion <= 40)) {
    throw new Error(`QR: minVersion must be an integer 1..40, not ${minVersion}`);
  }
  const bytes = new TextEncoder().encode(String(text));
  let version = minVersion;
  while (4 + countBits(version) + 8 * bytes.length > 8 * dataCapacity(version, level)) {
    if (++version > 40) {
      throw new Error(`QR: ${bytes.length} bytes are too long for a QR code at level ${ecl} ` +
        `(at most ${Math.floor((dataCapacity(40, level) * 8 - 20) / 8)})`);
    }
  }
  const codewords = finalCodewords(
    dataCodewords(bytes, version, dataCapacity(version, level)), version, level);

  const unmasked = new Matrix(sizeOf(version));
  unmasked.drawFunctionPatterns(version);
  unmasked.drawCodewords(codewords);
  // The standard picks the mask (step 6) before adding format and version information
  // (step 7): the penalty sees those areas, and the dark module with them, as light.
  let chosen = mask;
  if (chosen === null) {
    let bestScore = Infinity;
    for (let m = 0; m < 8; m++) {
      const score = unmasked.masked(m).penalty();
      if (score < bestScore) [chosen, bestScore] = [m, score];
    }
  }
  const best = unmasked.masked(chosen);
  // The XOR keeps format information from ever being all light.
  best.drawFormat(bch((LEVEL_FORMAT_BITS[level] << 3) | chosen, 0x537, 10) ^ 0x5412, true);
  if (version >= 7) best.drawVersion(bch(version, 0x1f25, 12));
  return { version, size: best.size, modules: best.dark };
}

/**
 * Renders text as a QR Code in SVG: one path of dark modules in a viewBox measured
 * in modules, so it scales crisply to any size the stylesheet gives it. The light
 * background is left to the page (the quiet zone needs it light, too).
 * @param {string} text
 * @param {object} [options]
 * @param {"L"|"M"|"Q"|"H"} [options.ecl="M"] error-correction level
 * @param {number} [options.border=4] quiet zone width, in modules
 * @returns {string} `<svg>` markup, with presentation attributes only (no style)
 * @throws {Error} as {@link encodeQR}
 */
export function qrSvg(text, { ecl = "M", border = 4 } = {}) {
  if (!(Number.isInteger(border) && border >= 0)) {
    throw new Error(`QR: border must be a non-negative integer, not ${border}`);
  }
  const { size, modules } = encodeQR(text, { ecl });
  const extent = size + 2 * border;
  let d = "";
  modules.forEach((row, r) => {
    for (let c = 0; c < size; c++) {
      if (!row[c]) continue;
      const start = c;
      while (c < size && row[c]) c++;
      d += `M${start + border} ${r + border}h${c - start}v1h-${c - start}z`;
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${extent} ${extent}" ` +
    `shape-rendering="crispEdges"><path fill="#000" d="${d}"/></svg>`;
}
