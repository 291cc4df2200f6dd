/**
 * What this side's ICE stack shows of a connection (PROTOCOL.md 3.5), read from the
 * browser: while it is being set up, the facts that say why it did not open; once it
 * is open, the route of the selected candidate pair. protocol/ice.js decides on both.
 * No DOM.
 * @module signalling/ice-watch
 */

import { TURN_REFUSALS, TurnError, candidateType, diagnose, kinds, route, sdpCandidateTypes, serverKinds } from "../protocol/ice.js";

/** Watches `pc` from before its first candidate; the link tells it what the peer signals. */
export class IceWatch {
  #policy;
  #kinds;
  #local = [];
  #remote = [];
  #refused = false;

  /**
   * @param {RTCPeerConnection} pc
   * @param {{iceServers: RTCIceServer[], policy: string, onHopeless: () => void}} watch
   *   `onHopeless` is told once gathering has ended with nothing to offer: no pair can
   *   form, so waiting for one is pointless.
   */
  constructor(pc, { iceServers, policy, onHopeless }) {
    this.#policy = policy;
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

  /** The peer signalled `candidate` (null, its end marker, counts for nothing). */
  remoteCandidate(candidate) {
    if (candidate) this.#remote.push(candidateType(candidate.candidate));
  }

  /** The peer's offer or answer, whose SDP may carry candidates of its own. */
  remoteDescription(sdp) {
    this.#remote.push(...sdpCandidateTypes(sdp));
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
 * The route of `pc`'s selected candidate pair, or null if it has none (yet).
 * @param {RTCPeerConnection} pc
 * @returns {Promise<string|null>} a Route
 */
export async function selectedRoute(pc) {
  const stats = [...(await pc.getStats()).values()];
  const byId = new Map(stats.map((report) => [report.id, report]));
  const pairId = stats.find((report) => report.type === "transport" && report.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = byId.get(pairId);
  const [local, remote] = [byId.get(pair?.localCandidateId), byId.get(pair?.remoteCandidateId)];
  if (!local || !remote) return null;
  // A prflx remote was learnt from a check: the candidate the peer signalled at its address says what it is.
  const signalled = stats.find(
    (report) =>
      report.type === "remote-candidate" &&
      report.candidateType !== "prflx" &&
      report.address === remote.address &&
      report.port === remote.port,
  );
  return route(local.candidateType, remote.candidateType, signalled?.candidateType ?? null);
}
