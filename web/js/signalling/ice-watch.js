/**
 * What this side's ICE stack shows of a connection (PROTOCOL.md 3.5), read from the
 * browser: while it is being set up, the facts that say why it did not open; once it
 * is open, the route of the selected candidate pair. protocol/ice.js decides on both.
 * No DOM.
 * @module signalling/ice-watch
 */

import { TURN_REFUSALS, TurnError, candidateType, diagnose, kinds, route, sdpCandidateTypes, serverKinds } from "../protocol/ice.js";

/** How long the route waits for the peer's candidates to name a peer reflexive remote. */
const ROUTE_WAIT_MS = 10000;

/** Watches `pc` from before its first candidate; the link tells it what the peer signals. */
export class IceWatch {
  #pc;
  #policy;
  #kinds;
  #local = [];
  #remote = [];
  #refused = false;
  /** Whether the peer has signalled all its candidates (its end marker, or an SDP's). */
  #remoteDone = false;
  /** Settles when the next of the peer's candidates has been applied. */
  #applied;
  #pulse = () => {};

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
    pc.addEventListener("icecandidate", ({ candidate }) => {
      if (candidate) this.#local.push(candidateType(candidate.candidate));
    });
    // The relay's own answer to an Allocate; a STUN server's timeout (701) tells nothing
    // that the missing relay candidate does not.
    pc.addEventListener("icecandidateerror", ({ errorCode }) => {
      if (TURN_REFUSALS.has(errorCode)) this.#refused = true;
    });
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete" && !kinds(this.#local).size) onHopeless();
    });
  }

  /** The peer signalled `candidate` (null, its end marker, counts for no type). */
  remoteCandidate(candidate) {
    if (candidate) this.#remote.push(candidateType(candidate.candidate));
    else this.#remoteDone = true;
  }

  /** The peer's offer or answer, whose SDP may carry candidates of its own. */
  remoteDescription(sdp) {
    this.#remote.push(...sdpCandidateTypes(sdp));
    if (/^a=end-of-candidates\r?$/m.test(sdp)) this.#remoteDone = true;
  }

  /** A candidate the peer signalled is now applied to the connection. */
  applied() {
    this.#pulse();
    this.#nextPulse();
  }

  #nextPulse() {
    this.#applied = new Promise((resolve) => (this.#pulse = resolve));
  }

  /**
   * The route of the open connection's selected pair, or null if it has none. A peer
   * reflexive remote (a check that came before the peer's signal of its candidate) is
   * named once the peer's candidates say what it is: the browser then shows it as the
   * candidate signalled. Waits for them until the peer has signalled its last, at most
   * ROUTE_WAIT_MS.
   * @returns {Promise<string|null>} a Route
   */
  async route() {
    const deadline = performance.now() + ROUTE_WAIT_MS;
    for (;;) {
      // Taken before the stats are read, so a candidate applied meanwhile is not missed.
      const applied = this.#applied;
      const pair = await selectedPair(this.#pc);
      if (!pair) return null;
      const { local, remote, signalled } = pair;
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
    return { policy: this.#policy, ...this.#kinds, local, remote: kinds(this.#remote), turnError };
  }

  /** Why the connection did not open (an ErrorId). */
  get diagnosis() {
    return diagnose(this.seen);
  }
}

/**
 * The candidate types of `pc`'s selected pair, and the type of another remote candidate
 * at the remote's address and port (the one that names a peer reflexive remote, where
 * the browser shows its address); null if it has no selected pair.
 * @param {RTCPeerConnection} pc
 * @returns {Promise<{local: string, remote: string, signalled: string|null}|null>}
 */
async function selectedPair(pc) {
  const stats = [...(await pc.getStats()).values()];
  const byId = new Map(stats.map((report) => [report.id, report]));
  const pairId = stats.find((report) => report.type === "transport" && report.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = byId.get(pairId);
  const [local, remote] = [byId.get(pair?.localCandidateId), byId.get(pair?.remoteCandidateId)];
  if (!local || !remote) return null;
  const signalled = stats.find(
    (report) =>
      report.type === "remote-candidate" &&
      report.candidateType !== "prflx" &&
      report.address &&
      report.address === remote.address &&
      report.port === remote.port,
  );
  return { local: local.candidateType, remote: remote.candidateType, signalled: signalled?.candidateType ?? null };
}
