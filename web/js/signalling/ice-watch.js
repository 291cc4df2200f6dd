/**
 * What this side's ICE stack shows of a connection (PROTOCOL.md 3.5), read from the
 * browser: while it is being set up, the facts that say why it did not open; once it
 * is open, the route of the selected candidate pair. protocol/ice.js decides on both.
 * No DOM.
 * @module signalling/ice-watch
 */

import { ErrorId } from "../protocol/errors.js";
import {
  TURN_REFUSALS,
  TurnError,
  candidateType,
  diagnose,
  kinds,
  offeredCandidate,
  route,
  sdpCandidateLines,
  serverKinds,
  signalledType,
} from "../protocol/ice.js";

/** How long the route waits for the peer's candidates to name a peer reflexive remote. */
const ROUTE_WAIT_MS = 10000;

/** Watches `pc` from before its first candidate; the link tells it what the peer signals. */
export class IceWatch {
  #pc;
  #policy;
  #kinds;
  #local = [];
  /** The peer's candidates as it signalled them (their `candidate:` text). */
  #remote = [];
  #refused = false;
  /** Whether the peer has signalled all its candidates (its end marker, or an SDP's). */
  #remoteDone = false;
  /** Settles when the next of the peer's candidates has been applied. */
  #applied;
  #pulse = () => {};
  /** Settles once this side has gathered all its candidates. */
  #gathered;

  /**
   * @param {RTCPeerConnection} pc
   * @param {{iceServers: RTCIceServer[], policy: string, onHopeless: () => void}} watch
   *   `onHopeless` is told once gathering has ended with nothing to offer: no pair can
   *   form, so waiting for one is pointless.
   */
  constructor(pc, { iceServers, policy, onHopeless }) {
    this.#pc = pc;
    this.#policy = policy;
    this.#nextPulse();
    this.#kinds = serverKinds(iceServers);
    let gathered;
    this.#gathered = new Promise((resolve) => (gathered = resolve));
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) this.#local.push(candidateType(candidate.candidate));
    });
    // The relay's own answer to an Allocate; a STUN server's timeout (701) tells nothing
    // that the missing relay candidate does not.
    pc.addEventListener("icecandidateerror", ({ errorCode }) => {
      if (TURN_REFUSALS.has(errorCode)) this.#refused = true;
    });
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState !== "complete") return;
      gathered();
      if (!kinds(this.#local).size) onHopeless();
    });
  }

  /** The peer signalled `candidate` (null, its end marker, counts for no type). */
  remoteCandidate(candidate) {
    if (candidate) this.#remote.push(candidate.candidate);
    else this.#remoteDone = true;
  }

  /** The peer's offer or answer, whose SDP may carry candidates of its own. */
  remoteDescription(sdp) {
    this.#remote.push(...sdpCandidateLines(sdp));
    if (/^a=end-of-candidates\r?$/m.test(sdp)) this.#remoteDone = true;
  }

  /** A candidate the peer signalled is now applied to the connection. */
  applied() {
    this.#pulse();
    this.#nextPulse();
  }

  /** Settles once this side has gathered all its candidates (never, if it never does). */
  get gathered() {
    return this.#gathered;
  }

  #nextPulse() {
    this.#applied = new Promise((resolve) => (this.#pulse = resolve));
  }

  /**
   * The route of the open connection's selected pair, or null if it has none. A peer
   * reflexive remote (a check that came before the peer's signal of its candidate) is
   * named once the peer's candidates say what it is (3.5's signalledType); the browser
   * itself shows it as the candidate signalled at its address and port once that has
   * come. Waits for them until the peer has signalled its last, at most ROUTE_WAIT_MS.
   * @returns {Promise<string|null>} a Route
   */
  async route() {
    const deadline = performance.now() + ROUTE_WAIT_MS;
    for (;;) {
      // Taken before the stats are read, so a candidate applied meanwhile is not missed.
      const applied = this.#applied;
      const pair = await selectedPair(this.#pc);
      if (!pair) return null;
      const { local, remote, address, port } = pair;
      // Chromium's stats hide a prflx remote's address: then only the mDNS rule, on the
      // port, can name it here (the exact match on address and port is the browser's own).
      const offered = this.#remote.map(offeredCandidate).filter(Boolean);
      const signalled = remote === "prflx" ? signalledType(address, port, offered) : null;
      if (remote !== "prflx" || signalled || this.#remoteDone) return route(local, remote, signalled);
      const left = deadline - performance.now();
      let timer;
      const late = new Promise((resolve) => (timer = setTimeout(() => resolve(true), Math.max(0, left))));
      const timedOut = await Promise.race([applied.then(() => false), late]);
      clearTimeout(timer);
      if (timedOut) return route(local, remote, null);
    }
  }

  /** What this side saw so far, as 3.5 has it. */
  get seen() {
    const local = kinds(this.#local);
    // A relay that gave no candidate and did not refuse either did not answer in time.
    const unreachable = this.#kinds.turn && !local.has("relay");
    const turnError = this.#refused ? TurnError.REFUSED : unreachable ? TurnError.UNREACHABLE : null;
    return { policy: this.#policy, ...this.#kinds, local, remote: kinds(this.#remote.map(candidateType)), turnError };
  }

  /** Why the connection did not open (an ErrorId). A receiver the offer never reached
   * gathered nothing because it had nothing to answer: its empty list says nothing of
   * its addresses (3.5). */
  get diagnosis() {
    if (!this.#pc.localDescription && !this.#pc.remoteDescription) return ErrorId.NO_REMOTE_CANDIDATES;
    return diagnose(this.seen);
  }
}

/**
 * The candidate types of `pc`'s selected pair, and its remote candidate's address (""
 * where the browser hides it) and port; null if it has no selected pair.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<{local: string, remote: string, address: string, port: number}|null>}
 */
async function selectedPair(pc) {
  const stats = [...(await pc.getStats()).values()];
  const byId = new Map(stats.map((report) => [report.id, report]));
  const pairId = stats.find((report) => report.type === "transport" && report.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = byId.get(pairId);
  const [local, remote] = [byId.get(pair?.localCandidateId), byId.get(pair?.remoteCandidateId)];
  if (!local || !remote) return null;
  return { local: local.candidateType, remote: remote.candidateType, address: remote.address ?? "", port: remote.port };
}
