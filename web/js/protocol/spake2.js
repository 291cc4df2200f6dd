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

import { concat, fromHex, randomBytes } from "./bytes.js";
import { hkdf, sha256 } from "./kdf.js";

/** A peer's SPAKE2 message that must not be used (see the module's description);
 * `check` names the check that refused it: length, side, canonical, on-curve, identity,
 * subgroup or reflection. */
export class BadMessage extends Error {
  /** @type {string} */
  check;

  constructor(check, message) {
    super(message);
    this.check = check;
  }
}

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

/** The 64 four-bit digits of 0 <= n < 2^256, most significant first. */
const digits = (n) => Array.from(n.toString(16).padStart(64, "0"), (digit) => parseInt(digit, 16));

/** `base`^`exponent` mod p, four bits at a time (exponents here are public constants). */
function power(base, exponent) {
  const table = [1n, base % P];
  for (let i = 2; i < 16; i++) table.push((table[i - 1] * base) % P);
  let result = 1n;
  for (const digit of digits(exponent)) {
    result = (result * result) % P;
    result = (result * result) % P;
    result = (result * result) % P;
    result = (result * result) % P;
    result = (result * table[digit]) % P;
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

// Points are read by index, not destructured: in code the JIT has not compiled yet, as a
// page's one handshake mostly is, destructuring runs the iterator protocol (a fifth of
// the time of a first handshake, measured with the digit strings of `digits`).
function add(p, q) {
  const a = ((p[1] - p[0]) * (q[1] - q[0])) % P;
  const b = ((p[1] + p[0]) * (q[1] + q[0])) % P;
  const c = (((p[3] * D2) % P) * q[3]) % P;
  const d = (2n * p[2] * q[2]) % P;
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [(e * f) % P, (g * h) % P, (f * g) % P, (e * h) % P];
}

/** Doubling reads no T: `withT` false skips it, for a point only doubled again. */
function double(p, withT = true) {
  const a = (p[0] * p[0]) % P;
  const b = (p[1] * p[1]) % P;
  const c = (2n * p[2] * p[2]) % P;
  const sum = p[0] + p[1];
  const e = (sum * sum - a - b) % P;
  const g = b - a;
  const f = g - c;
  const h = -a - b;
  return [(e * f) % P, (g * h) % P, (f * g) % P, withT ? (e * h) % P : null];
}

/** The multiples [0]point .. [15]point. */
function multiples(point) {
  const table = [IDENTITY, point];
  for (let i = 2; i < 16; i++) table.push(add(table[i - 1], point));
  return table;
}

/** [s1]P1 + [s2]P2 + ... for `terms` [[P1, s1], ...], each 0 <= s < 2^256, four bits at a
 * time with the doublings shared (Straus): the same additions and doublings whatever
 * the scalars' bits. */
function combine(...terms) {
  const tables = terms.map((term) => multiples(term[0]));
  const scalars = terms.map((term) => digits(term[1]));
  let sum = IDENTITY;
  for (let window = 0; window < 64; window++) {
    sum = double(double(double(double(sum, false), false), false));
    for (let i = 0; i < terms.length; i++) sum = add(sum, tables[i][scalars[i][window]]);
  }
  return sum;
}

const isIdentity = (p) => mod(p[0]) === 0n && mod(p[1] - p[2]) === 0n;

const fromAffine = (x, y) => [x, y, 1n, (x * y) % P];

/** 32 bytes: y little-endian, the top bit x's lowest. */
function encode(p) {
  const zInverse = inverse(p[2]);
  const x = mod(p[0] * zInverse);
  let value = mod(p[1] * zInverse) | ((x & 1n) << 255n);
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    bytes[i] = Number(value & 255n);
    value >>= 8n;
  }
  return bytes;
}

const littleEndian = (bytes) => bytes.reduceRight((value, byte) => (value << 8n) | BigInt(byte), 0n);
const bigEndian = (bytes) => bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);

/** The point of 32 bytes in their one canonical encoding (RFC 8032 5.1.3, strictly). */
function decode(bytes) {
  const value = littleEndian(bytes);
  const y = value & ((1n << 255n) - 1n);
  if (y >= P) throw new BadMessage("canonical", "the handshake element is not canonically encoded");
  let x = recoverX(y);
  if (x === null) throw new BadMessage("on-curve", "the handshake element is not on the curve");
  // With y < p, the one way the bytes can differ from the point's own encoding: x = 0
  // has no negative, so its sign bit set is a second spelling of the point.
  if (x === 0n && value >> 255n) {
    throw new BadMessage("canonical", "the handshake element is not canonically encoded");
  }
  if ((x & 1n) !== value >> 255n) x = P - x;
  return fromAffine(x, y);
}

/** The point of a peer's 32 bytes, or a BadMessage saying what is wrong with them. */
function decodeInbound(bytes) {
  const point = decode(bytes);
  if (isIdentity(point)) throw new BadMessage("identity", "the handshake element is the identity");
  if (!isIdentity(combine([point, L]))) {
    throw new BadMessage("subgroup", "the handshake element is not in the prime-order subgroup");
  }
  return point;
}

const sameBytes = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** The generator B: y = 4/5 and the even x. */
const BASE = (() => {
  const y = (4n * inverse(5n)) % P;
  const x = recoverX(y);
  return fromAffine(x & 1n ? P - x : x, y);
})();

/**
 * M and N as the package encodes them: its arbitrary_element for the seeds "M" and "N"
 * (y from HKDF of the seed, tried upwards until on the curve, times 8). Written out,
 * since deriving them costs a page a few milliseconds; tests/web/test_spake2.py derives
 * them from the seeds with the package and checks these.
 */
export const BLINDING = Object.freeze({
  M: "15cfd18e385952982b6a8f8c7854963b58e34388c8e6dae891db756481a02312",
  N: "f04f2e7eb734b2a8f8b472eaf9c3c632576ac64aea650b496a8a20ff00e583c3",
});
const M = decode(fromHex(BLINDING.M));
const N = decode(fromHex(BLINDING.N));

const passwordScalar = async (password) => bigEndian(await hkdf(password, "SPAKE2 pw", 48)) % L;

/**
 * One side of an exchange, made by `Spake2.start` (which makes the outbound message);
 * `finish` takes the peer's and gives the 32-byte key, once.
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
    this.message = concat(Uint8Array.of(side.charCodeAt(0)), element);
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
    const pwScalar = await passwordScalar(password);
    const scalar = bigEndian(entropy(64)) % L;
    const element = encode(combine([BASE, scalar], [side === "A" ? M : N, pwScalar]));
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
      throw new BadMessage("length", `a handshake message is ${MESSAGE_LENGTH} bytes`);
    }
    if (inbound[0] !== SIDES[this.#side].charCodeAt(0)) {
      throw new BadMessage("side", "the handshake message is not from the other side");
    }
    const bytes = inbound.subarray(1);
    const point = decodeInbound(bytes);
    if (sameBytes(bytes, this.#element)) {
      throw new BadMessage("reflection", "the handshake message is our own, reflected");
    }
    // [x](Y - [pw]N) as [x]Y + [x(L - pw) mod L]N: the same point, since both are in the
    // subgroup of order L, with one run of doublings instead of two.
    const unblinding = (this.#scalar * (L - this.#passwordScalar)) % L;
    const shared = encode(combine([point, this.#scalar], [this.#side === "A" ? N : M, unblinding]));
    const [X, Y] = this.#side === "A" ? [this.#element, bytes] : [bytes, this.#element];
    const hashes = await Promise.all([this.#password, this.#idA, this.#idB].map(sha256));
    return sha256(concat(...hashes, X, Y, shared));
  }
}
