/**
 * Runs the `ice` section of docs/protocol-vectors.json against the real
 * /js/protocol/ice.js, and lists every case that came out differently; and hands the
 * page's words of PROTOCOL.md 3.5 back for comparing with the Python side's.
 */

import { ErrorId } from "/js/protocol/errors.js";
import {
  FAILURE_WORDS,
  ROUTE_WORDS,
  candidateType,
  diagnose,
  offeredCandidate,
  route,
  sdpCandidateLines,
  serverKinds,
  signalledType,
} from "/js/protocol/ice.js";

export function runIce(vectors) {
  const failures = [];
  for (const c of vectors.routes) {
    const got = route(c.local, c.remote, c.remote_signalled);
    if (got !== c.route) failures.push(`route ${c.local}-${c.remote}-${c.remote_signalled}: ${got}`);
  }
  for (const { name, seen, error_id: expected } of vectors.failures) {
    const { policy, stun, turn, turn_error: turnError } = seen;
    const got = diagnose({ policy, stun, turn, local: new Set(seen.local), remote: new Set(seen.remote), turnError });
    if (got !== expected) failures.push(`failure ${name}: ${got}`);
  }
  for (const c of vectors.server_kinds) {
    const { stun, turn } = serverKinds(c.ice_servers);
    if (stun !== c.stun || turn !== c.turn) failures.push(`server kinds ${JSON.stringify(c.ice_servers)}: ${stun} ${turn}`);
  }
  for (const c of vectors.signalled) {
    const got = signalledType(c.host, c.port, c.signalled.map(([type, host, port]) => ({ type, host, port })));
    if (got !== c.type) failures.push(`signalled ${c.host}:${c.port} ${JSON.stringify(c.signalled)}: ${got}`);
  }
  return failures;
}

/** The page's words, and the ids it knows. */
export const words = () => ({ routes: ROUTE_WORDS, failures: FAILURE_WORDS, ids: Object.values(ErrorId) });

/** The type of each candidate text, where each says it is, and the types of an SDP's candidate lines. */
export const types = ({ candidates, sdp }) => ({
  candidates: candidates.map(candidateType),
  offered: candidates.map(offeredCandidate),
  sdp: sdpCandidateLines(sdp).map(candidateType),
});

/** The diagnosis of a connection given up before any description was set, as a
 * receiver the offer never reached gives it up. */
export async function unoffered({ iceServers, policy }) {
  const { IceWatch } = await import("/js/signalling/ice-watch.js");
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy });
  try {
    return new IceWatch(pc, { iceServers, policy, onHopeless: () => {} }).diagnosis;
  } finally {
    pc.close();
  }
}
