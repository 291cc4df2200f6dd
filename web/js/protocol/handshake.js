/**
 * The v2 handshake (docs/PROTOCOL.md, the handshake) as a state machine with no I/O:
 * SPAKE2 over the code, key confirmation each way, then every WebRTC signal sealed.
 * The caller carries signals to and from the server; this module says what to send,
 * what to apply, and when to stop. The twin of sendit_protocol/handshake.py.
 * @module protocol/handshake
 */

import { EncodingError, fromBase64, randomBytes, toBase64, utf8 } from "./bytes.js";
import { SealBroken, deriveKeys, importSealKey, open, sameBytesConstantTime, seal } from "./seal.js";
import { BadMessage, Spake2 } from "./spake2.js";

export const SENDER_ID = "sendit/v2/sender";
export const RECEIVER_ID = "sendit/v2/receiver";
const CONFIRM_LENGTH = 32;
const IV_LENGTH = 12;
const MAX_SDP = 65536;
const MAX_CANDIDATE = 1024;
const MAX_MID = 64;
const MAX_UFRAG = 256;
/** Reconnections (PROTOCOL.md 4.6) a pair may make: a bound, not a budget. */
const MAX_ATTEMPT = 1000;
const MAX_MLINE_INDEX = 255;

/** A handshake that ended. `errorId` is its id on the wire (the server `cancel`);
 * `message` says what went wrong, for a log: the person's words are the page's. */
export class HandshakeError extends Error {
  /** @type {string} */
  errorId;

  constructor(errorId, message) {
    super(message);
    this.errorId = errorId;
  }
}

/** The peer's confirmation does not match: the two sides hold different codes. */
export class WrongCode extends HandshakeError {
  constructor(message) {
    super("wrong-code", message);
  }
}

/** A signal that a peer holding the right code would not send: out of order, repeated,
 * unopenable, or malformed after a good confirmation. */
export class Tampered extends HandshakeError {
  constructor(message) {
    super("tampered", message);
  }
}

/** The peer's PAKE message or confirmation is no valid one of the other side. */
export class BadHandshake extends HandshakeError {
  constructor(message) {
    super("bad-handshake", message);
  }
}

/** What each role seals first (once; then only candidates) and its SPAKE2 side. */
const ROLES = {
  sender: { side: "A", description: "offer", peer: "receiver" },
  receiver: { side: "B", description: "answer", peer: "sender" },
};
const CANONICAL_CODE = /^[1-9][0-9]{0,3}(?:-[a-z]+){3}$/;

/** Named states, the same as sendit_protocol.handshake.State; `failed` is final. */
export const State = Object.freeze({
  WAITING_FOR_PAKE: "waiting-for-pake",
  WAITING_FOR_CONFIRM: "waiting-for-confirm",
  TRUSTED: "trusted",
  FAILED: "failed",
});

/** Fields that break their schema (ours: a bug; the peer's: tampering). */
class InvalidFields extends Error {}

const isPlainObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const hasExactly = (object, keys) =>
  Object.keys(object).length === keys.length && keys.every((key) => Object.hasOwn(object, key));
const isOptionalText = (value, max) => value === null || (typeof value === "string" && value.length <= max);

/** The fields of a sealed `kind` (without `n`), exactly as the schema allows, in the
 * schema's order (both implementations seal the same bytes), an `attempt` only when it
 * is not 0; InvalidFields otherwise. */
function checkedFields(kind, fields) {
  const main = kind === "candidate" ? "candidate" : "sdp";
  const attempted = isPlainObject(fields) && Object.hasOwn(fields, "attempt");
  if (!isPlainObject(fields) || !hasExactly(fields, attempted ? [main, "attempt"] : [main])) {
    throw new InvalidFields(`a sealed ${kind} holds exactly its ${main} (and maybe an attempt)`);
  }
  const checked = {};
  if (kind === "candidate") {
    checked.candidate = checkedCandidate(fields.candidate);
  } else {
    const { sdp } = fields;
    if (typeof sdp !== "string" || sdp.length < 1 || sdp.length > MAX_SDP) {
      throw new InvalidFields(`an sdp is a string of 1 to ${MAX_SDP} characters`);
    }
    checked.sdp = sdp;
  }
  if (attempted) {
    const { attempt } = fields;
    if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_ATTEMPT) {
      throw new InvalidFields(`an attempt is an integer 1 to ${MAX_ATTEMPT}`);
    }
    checked.attempt = attempt;
  }
  return checked;
}

const CANDIDATE_FIELDS = ["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"];

function checkedCandidate(candidate) {
  if (candidate === null) return null;
  if (!isPlainObject(candidate) || !hasExactly(candidate, CANDIDATE_FIELDS)) {
    throw new InvalidFields(`a candidate is null or an object of exactly ${[...CANDIDATE_FIELDS].sort().join(", ")}`);
  }
  const { candidate: line, sdpMid, sdpMLineIndex, usernameFragment } = candidate;
  if (typeof line !== "string" || line.length > MAX_CANDIDATE) {
    throw new InvalidFields(`candidate.candidate is a string of at most ${MAX_CANDIDATE} characters`);
  }
  if (!isOptionalText(sdpMid, MAX_MID)) {
    throw new InvalidFields(`candidate.sdpMid is null or a string of at most ${MAX_MID} characters`);
  }
  if (!isOptionalText(usernameFragment, MAX_UFRAG)) {
    throw new InvalidFields(`candidate.usernameFragment is null or a string of at most ${MAX_UFRAG} characters`);
  }
  const index = sdpMLineIndex;
  if (index !== null && !(Number.isInteger(index) && index >= 0 && index <= MAX_MLINE_INDEX)) {
    throw new InvalidFields(`candidate.sdpMLineIndex is null or an integer 0 to ${MAX_MLINE_INDEX}`);
  }
  return { candidate: line, sdpMid, sdpMLineIndex, usernameFragment };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class Handshake {
  #role;
  #spake2;
  #random;
  #state = State.WAITING_FOR_PAKE;
  /** Calls run one at a time, in the order they were made: the `n` counts depend on it. */
  #queue = Promise.resolve();
  #keys = null;
  #sealKey = null;
  #openKey = null;
  #sealed = 0;
  #opened = 0;
  /** The attempt of our last description and of the peer's (-1: none yet). */
  #attempt = -1;
  #peerAttempt = -1;
  /** @type {string} base64 of this side's 33-byte SPAKE2 message (the receiver's goes in `join`) */
  pake;

  constructor(role, spake2, random) {
    this.#role = role;
    this.#spake2 = spake2;
    this.#random = random;
    this.pake = toBase64(spake2.message);
  }

  /**
   * @param {"sender" | "receiver"} role the sender is SPAKE2 side A, the receiver side B
   * @param {string} code the canonical code (`CodeWords.parse(...).canonical`): the password
   * @param {{entropy?: (n: number) => Uint8Array, random?: (n: number) => Uint8Array}} [sources]
   *   entropy: SPAKE2's (one call, 64 bytes); random: the seals' IVs (12 bytes a call)
   * @returns {Promise<Handshake>}
   */
  static async create(role, code, { entropy = randomBytes, random = randomBytes } = {}) {
    if (!Object.hasOwn(ROLES, role)) throw new TypeError(`a role is sender or receiver, not ${role}`);
    if (typeof code !== "string" || !CANONICAL_CODE.test(code)) throw new TypeError("not a code in canonical form");
    const ids = { idA: utf8(SENDER_ID), idB: utf8(RECEIVER_ID), entropy };
    return new Handshake(role, await Spake2.start(ROLES[role].side, utf8(code), ids), random);
  }

  get state() {
    return this.#state;
  }

  /** The peer's confirmation has been checked: its sealed signals may be opened. */
  get trusted() {
    return this.#state === State.TRUSTED;
  }

  /**
   * Sender: the receiver's pake from `peer_joined`; returns our `pake` and `confirm`
   * signals, to send in that order before anything sealed.
   * @param {string} pake
   * @returns {Promise<{type: string, data: string}[]>}
   */
  peerJoined(pake) {
    return this.#failing(async () => {
      if (this.#role !== "sender" || this.#state !== State.WAITING_FOR_PAKE) {
        throw new Tampered("peer_joined out of order");
      }
      await this.#finish(pake);
      return [{ type: "pake", data: this.pake }, this.#confirm()];
    });
  }

  /**
   * A relayed signal: `send` are the signals to send now, `open` the opened inner
   * signal to apply (`{type: "offer" | "answer" | "candidate", ...fields}`), or null.
   * Throws WrongCode, Tampered or BadHandshake, and then every later call Tampered.
   * @param {{type: string, data: string}} signal
   * @returns {Promise<{send: {type: string, data: string}[], open: object | null}>}
   */
  receive(signal) {
    return this.#failing(async () => {
      if (!isPlainObject(signal)) throw new Tampered("a signal is an object");
      const { type, data } = signal;
      if (this.#state === State.WAITING_FOR_PAKE && type === "pake" && this.#role === "receiver") {
        await this.#finish(data);
        return { send: [this.#confirm()], open: null };
      }
      if (this.#state === State.WAITING_FOR_CONFIRM && type === "confirm") {
        await this.#checkConfirm(data);
        return { send: [], open: null };
      }
      if (this.#state === State.TRUSTED && (type === ROLES[this.#peer].description || type === "candidate")) {
        return { send: [], open: await this.#open(type, data) };
      }
      throw new Tampered(`an unexpected ${JSON.stringify(String(type).slice(0, 20))} signal`);
    });
  }

  /**
   * Our next sealed signal: our description (`offer`/`answer`) first, then candidates;
   * a new description for each reconnection, with its `attempt` (PROTOCOL.md 4.6).
   * `fields` without `n`; breaking the schema or the order is our bug: a TypeError.
   * @param {string} kind
   * @param {object} fields offer/answer `{sdp, attempt?}`, candidate `{candidate, attempt?}`
   * @returns {Promise<{type: string, data: string}>}
   */
  seal(kind, fields) {
    return this.#serialised(async () => {
      // The sender's offer goes out with its confirmation; the receiver answers only an
      // offer it opened, so only once it trusts the sender.
      const ready = this.#role === "sender" ? State.WAITING_FOR_CONFIRM : State.TRUSTED;
      if (this.#state !== ready && this.#state !== State.TRUSTED) {
        throw new TypeError(`a ${this.#role} seals nothing before the handshake reaches ${ready}`);
      }
      const checked = await refusing(() => checkedFields(kind, fields), InvalidFields, (e) => new TypeError(e.message));
      const attempt = checked.attempt ?? 0;
      const { description } = ROLES[this.#role];
      if (kind !== description && kind !== "candidate") {
        throw new TypeError(`a ${this.#role} seals only ${description}s and candidates`);
      }
      if (this.#sealed === 0 && (kind !== description || attempt)) {
        throw new TypeError(`a ${this.#role} seals its ${description} first, of attempt 0`);
      }
      if (kind === description) {
        const answers = this.#role === "sender" || attempt === this.#peerAttempt;
        if (this.#sealed && (attempt <= this.#attempt || !answers)) {
          throw new TypeError(`a new ${description} needs the next attempt (after ${this.#attempt})`);
        }
        this.#attempt = attempt;
      } else if (attempt !== this.#attempt) {
        throw new TypeError(`a ${this.#role} seals candidates of its current attempt, ${this.#attempt}`);
      }
      const plaintext = utf8(JSON.stringify({ n: this.#sealed, ...checked }));
      this.#sealed++;
      return { type: kind, data: await seal(this.#sealKey, kind, plaintext, this.#random(IV_LENGTH)) };
    });
  }

  get #peer() {
    return ROLES[this.#role].peer;
  }

  #serialised(step) {
    const run = this.#queue.then(step);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** `step`, serialised; any refusal ends the handshake: nothing after it is trusted or opened. */
  #failing(step) {
    return this.#serialised(async () => {
      if (this.#state === State.FAILED) throw new Tampered("the handshake has already failed");
      try {
        return await step();
      } catch (error) {
        if (error instanceof HandshakeError) this.#setState(State.FAILED, `${error.errorId}: ${error.message}`);
        throw error;
      }
    });
  }

  #setState(state, why = "") {
    console.debug(`handshake ${this.#role}: ${this.#state} → ${state}`, why);
    this.#state = state;
  }

  async #finish(pake) {
    const notBase64 = () => new BadHandshake("the handshake message is not base64");
    const message = await refusing(() => fromBase64(pake), EncodingError, notBase64);
    const key = await refusing(() => this.#spake2.finish(message), BadMessage, (e) => new BadHandshake(e.message));
    this.#keys = await deriveKeys(key);
    const [mine, theirs] = this.#role === "sender" ? ["sealA", "sealB"] : ["sealB", "sealA"];
    [this.#sealKey, this.#openKey] = await Promise.all([mine, theirs].map((name) => importSealKey(this.#keys[name])));
    this.#setState(State.WAITING_FOR_CONFIRM);
  }

  #confirmation(role) {
    return role === "sender" ? this.#keys.confirmA : this.#keys.confirmB;
  }

  #confirm() {
    return { type: "confirm", data: toBase64(this.#confirmation(this.#role)) };
  }

  async #checkConfirm(data) {
    const notBase64 = () => new BadHandshake("the confirmation is not base64");
    const confirmation = await refusing(() => fromBase64(data), EncodingError, notBase64);
    if (confirmation.length !== CONFIRM_LENGTH) throw new BadHandshake(`a confirmation is ${CONFIRM_LENGTH} bytes`);
    if (!sameBytesConstantTime(this.#confirmation(this.#peer), confirmation)) {
      throw new WrongCode("the confirmation does not match: the two sides hold different codes");
    }
    this.#setState(State.TRUSTED);
  }

  async #open(kind, data) {
    const plaintext = await refusing(() => open(this.#openKey, kind, data), SealBroken, (e) => new Tampered(e.message));
    const { n, ...fields } = parseObject(plaintext);
    if (n !== this.#opened) throw new Tampered(`sealed signal number ${n} where ${this.#opened} was next`);
    const { description } = ROLES[this.#peer];
    if (kind !== description && (n === 0 || kind !== "candidate")) {
      throw new Tampered(`a ${kind} as sealed signal number ${n}`);
    }
    const broken = (error) => new Tampered(`a sealed ${kind} breaks its schema: ${error.message}`);
    const checked = await refusing(() => checkedFields(kind, fields), InvalidFields, broken);
    this.#checkAttempt(kind === description, n, checked.attempt ?? 0);
    this.#opened++;
    return { type: kind, ...checked };
  }

  /** The peer's attempts only go up (a replayed older description is refused), an answer
   * answers an offer we made, and no candidate is of an attempt to come. */
  #checkAttempt(isDescription, n, attempt) {
    if (isDescription) {
      const ours = this.#role === "receiver" || attempt <= Math.max(this.#attempt, 0);
      if ((n === 0) !== (attempt === 0) || attempt <= this.#peerAttempt || !ours) {
        throw new Tampered(`a description of attempt ${attempt} after attempt ${this.#peerAttempt}`);
      }
      this.#peerAttempt = attempt;
    } else if (attempt > this.#peerAttempt) {
      throw new Tampered(`a candidate of attempt ${attempt}, whose description has not come`);
    }
  }
}

/** What `run()` returns; an error of class `kind` it throws becomes `refusal(error)`. */
async function refusing(run, kind, refusal) {
  try {
    return await run();
  } catch (error) {
    if (error instanceof kind) throw refusal(error);
    throw error;
  }
}

/** A sealed signal's plaintext: UTF-8 of a JSON object, or Tampered. */
function parseObject(plaintext) {
  let inner;
  try {
    inner = JSON.parse(strictUtf8.decode(plaintext));
  } catch (error) {
    if (error instanceof TypeError || error instanceof SyntaxError) {
      throw new Tampered("a sealed signal holds no JSON object");
    }
    throw error;
  }
  if (!isPlainObject(inner)) throw new Tampered("a sealed signal holds no JSON object");
  return inner;
}
