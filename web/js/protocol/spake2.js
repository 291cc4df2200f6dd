/**
 * SPAKE2 on Ed25519, byte for byte the format of the python `spake2` 0.9 package
 * (magic-wormhole's), so a page and the CLI agree on a key: a message is the side byte
 * ("A" or "B") and a 32-byte Ed25519 point; M and N are that package's arbitrary
 * elements for the seeds "M" and "N"; the password scalar and the random scalar are
 * reduced from big-endian bytes as it does; the key is SHA-256 of its transcript.
 *
 * Unlike the package, an inbound point must be canonical (y < p, and it re-encodes to
 * the same bytes), not the identity and in the prime-order subgroup: the package takes
 * y >= p and the identity spelled another way. BigInt arithmetic is not constant-time;
 * what it handles is one ephemeral scalar and a password that the confirmation (not this
 * module) protects against guessing, one guess per code.
 * @module protocol/spake2
 */

import { concat, randomBytes, utf8 } from "./bytes.js";
import { hkdf, sha256 } from "./kdf.js";

/** A peer's SPAKE2 message that must not be used (see the module's description). */
export class BadMessage extends Error {}

/** The field's prime p = 2^255 - 19 and the prime-order subgroup's order L. */
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const MESSAGE_LENGTH = 33;
const SIDES = { A: "B", B: "A" };

/** `a` mod p in 0..p-1. Everything else keeps values only in (-p, p): BigInt `%` keeps
 * the sign, and normalising after every step would double the work. */
const mod = (a) => {
  const r = a % P;
  return r < 0n ? r + P : r;
};

/** `base`^`exponent` mod p, square and multiply (exponents here are public constants). */
function power(base, exponent) {
  let result = 1n;
  for (let bit = BigInt(exponent.toString(2).length - 1); bit >= 0n; bit--) {
    result = (result * result) % P;
    if ((exponent >> bit) & 1n) result = (result * base) % P;
  }
  return result;
}

const inverse = (a) => power(a, P - 2n);
/** The curve: -x^2 + y^2 = 1 + d x^2 y^2 (a = -1, d = -121665/121666). */
const D = mod(-121665n * inverse(121666n));
const D2 = (2n * D) % P;
const SQRT_MINUS_1 = power(2n, (P - 1n) / 4n);

/** x with x^2 = u/v mod p, if there is one (RFC 8032 5.1.3: one power for root and
 * quotient); null when u/v is not a square. Which of the two roots is not defined. */
function squareRootOfRatio(u, v) {
  const v3 = (v * v * v) % P;
  const x = (((u * v3) % P) * power((u * v3 * v3 * v) % P, (P - 5n) / 8n)) % P;
  const vx2 = mod(v * x * x);
  if (vx2 === mod(u)) return mod(x);
  if (vx2 === mod(-u)) return mod(x * SQRT_MINUS_1);
  return null;
}

/** x (either root) for y on the curve, or null. */
const recoverX = (y) => squareRootOfRatio(y * y - 1n, D * y * y + 1n);

// Points in extended coordinates [X, Y, Z, T]: x = X/Z, y = Y/Z, xy = T/Z. Addition is
// add-2008-hwcd-3 and doubling dbl-2008-hwcd of the Explicit-Formulas Database, for
// a = -1; both are complete here (d is not a square), so any point, of any order, adds.
const IDENTITY = [0n, 1n, 1n, 0n];

function add([X1, Y1, Z1, T1], [X2, Y2, Z2, T2]) {
  const a = ((Y1 - X1) * (Y2 - X2)) % P;
  const b = ((Y1 + X1) * (Y2 + X2)) % P;
  const c = (((T1 * D2) % P) * T2) % P;
  const d = (2n * Z1 * Z2) % P;
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [(e * f) % P, (g * h) % P, (f * g) % P, (e * h) % P];
}

function double([X1, Y1, Z1]) {
  const a = (X1 * X1) % P;
  const b = (Y1 * Y1) % P;
  const c = (2n * Z1 * Z1) % P;
  const sum = X1 + Y1;
  const e = (sum * sum - a - b) % P;
  const g = b - a;
  const f = g - c;
  const h = -a - b;
  return [(e * f) % P, (g * h) % P, (f * g) % P, (e * h) % P];
}

/** [scalar]point for 0 <= scalar < 2^256, four bits at a time: the same additions and
 * doublings whatever the scalar's bits. */
function multiply(point, scalar) {
  const table = [IDENTITY, point];
  for (let i = 2; i < 16; i++) table.push(add(table[i - 1], point));
  let sum = IDENTITY;
  for (let shift = 252n; shift >= 0n; shift -= 4n) {
    sum = double(double(double(double(sum))));
    sum = add(sum, table[Number((scalar >> shift) & 15n)]);
  }
  return sum;
}

const isIdentity = ([X, Y, Z]) => mod(X) === 0n && mod(Y - Z) === 0n;

const fromAffine = (x, y) => [x, y, 1n, (x * y) % P];

/** 32 bytes: y little-endian, the top bit x's lowest. */
function encode([X, Y, Z]) {
  const zInverse = inverse(Z);
  const x = mod(X * zInverse);
  let value = mod(Y * zInverse) | ((x & 1n) << 255n);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    bytes[i] = Number(value & 255n);
    value >>= 8n;
  }
  return bytes;
}

const littleEndian = (bytes) => bytes.reduceRight((value, byte) => (value << 8n) | BigInt(byte), 0n);
const bigEndian = (bytes) => bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);

/** The point of a peer's 32 bytes, or a BadMessage saying what is wrong with them. */
function decodeInbound(bytes) {
  const value = littleEndian(bytes);
  const y = value & ((1n << 255n) - 1n);
  if (y >= P) throw new BadMessage("the handshake element is not canonically encoded");
  let x = recoverX(y);
  if (x === null) throw new BadMessage("the handshake element is not on the curve");
  if ((x & 1n) !== value >> 255n) x = mod(-x);
  const point = fromAffine(x, y);
  // x = 0 with the sign bit set decodes but spells the point another way.
  if (!sameBytes(encode(point), bytes)) throw new BadMessage("the handshake element is not canonically encoded");
  if (isIdentity(point)) throw new BadMessage("the handshake element is the identity");
  if (!isIdentity(multiply(point, L))) throw new BadMessage("the handshake element is not in the prime-order subgroup");
  return point;
}

const sameBytes = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** The package's arbitrary_element(seed): y from 48 bytes of HKDF, tried upwards until
 * (the even x, y) is on the curve and [8] of it (now in the subgroup) is not the identity. */
async function arbitraryElement(seed) {
  const y = bigEndian(await hkdf(utf8(seed), "SPAKE2 arbitrary element", 48)) % P;
  for (let plus = 0n; ; plus++) {
    const candidateY = (y + plus) % P;
    const x = recoverX(candidateY);
    if (x === null) continue;
    const multiple = double(double(double(fromAffine(x & 1n ? P - x : x, candidateY))));
    if (!isIdentity(multiple)) return multiple;
  }
}

/** The generator B: y = 4/5 and the even x. */
const BASE = (() => {
  const y = (4n * inverse(5n)) % P;
  const x = recoverX(y);
  return fromAffine(x & 1n ? P - x : x, y);
})();

let blinding = null;
/** M and N, derived once per page (a few milliseconds) rather than written out. */
const blindingElements = () => {
  blinding ??= Promise.all([arbitraryElement("M"), arbitraryElement("N")]).then(([M, N]) => ({ M, N }));
  return blinding;
};

const passwordScalar = async (password) => bigEndian(await hkdf(password, "SPAKE2 pw", 48)) % L;

/**
 * One side of an exchange: `start` makes the outbound message, `finish` takes the peer's
 * and gives the 32-byte key, once.
 */
export class Spake2 {
  #side;
  #password;
  #idA;
  #idB;
  #passwordScalar;
  #scalar;
  #element;
  #finished = false;
  /** @type {Uint8Array} this side's 33-byte message */
  message;

  constructor(side, password, idA, idB, passwordScalar, scalar, element) {
    this.#side = side;
    this.#password = password;
    this.#idA = idA;
    this.#idB = idB;
    this.#passwordScalar = passwordScalar;
    this.#scalar = scalar;
    this.#element = element;
    this.message = concat(utf8(side), element);
  }

  /**
   * @param {"A" | "B"} side A (the package's SPAKE2_A) blinds with M, B with N
   * @param {Uint8Array} password
   * @param {{idA: Uint8Array, idB: Uint8Array, entropy?: (n: number) => Uint8Array}} options
   *   entropy: the package's entropy_f, called once for 64 bytes
   * @returns {Promise<Spake2>}
   */
  static async start(side, password, { idA, idB, entropy = randomBytes }) {
    if (!(side in SIDES)) throw new TypeError(`no SPAKE2 side ${side}`);
    const [{ M, N }, pwScalar] = await Promise.all([blindingElements(), passwordScalar(password)]);
    const scalar = bigEndian(entropy(64)) % L;
    const element = encode(add(multiply(BASE, scalar), multiply(side === "A" ? M : N, pwScalar)));
    return new Spake2(side, password, idA, idB, pwScalar, scalar, element);
  }

  /**
   * The shared key from the peer's message; throws BadMessage for anything the module's
   * description refuses, a message from this same side, and our own message sent back.
   * @param {Uint8Array} inbound
   * @returns {Promise<Uint8Array>}
   */
  async finish(inbound) {
    if (this.#finished) throw new Error("SPAKE2 finish may be called once");
    this.#finished = true;
    if (!(inbound instanceof Uint8Array) || inbound.length !== MESSAGE_LENGTH) {
      throw new BadMessage(`a handshake message is ${MESSAGE_LENGTH} bytes`);
    }
    if (inbound[0] !== SIDES[this.#side].charCodeAt(0)) throw new BadMessage("the handshake message is not from the other side");
    const bytes = inbound.subarray(1);
    const point = decodeInbound(bytes);
    if (sameBytes(bytes, this.#element)) throw new BadMessage("the handshake message is our own, reflected");
    const { M, N } = await blindingElements();
    const unblinded = add(point, multiply(this.#side === "A" ? N : M, (L - this.#passwordScalar) % L));
    const shared = encode(multiply(unblinded, this.#scalar));
    const [X, Y] = this.#side === "A" ? [this.#element, bytes] : [bytes, this.#element];
    const hashes = await Promise.all([this.#password, this.#idA, this.#idB].map(sha256));
    return sha256(concat(...hashes, X, Y, shared));
  }
}
