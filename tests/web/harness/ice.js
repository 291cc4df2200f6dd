/**
 * Runs the `ice` section of docs/protocol-vectors.json against the real
 * /js/protocol/ice.js, and lists every case that came out differently; and hands the
 * page's words of PROTOCOL.md 3.5 back for comparing with the Python side's.
 */

import { ErrorId } from "/js/protocol/errors.js";
import { candidateType, diagnose, route, sdpCandidateTypes, serverKinds } from "/js/protocol/ice.js";
import { FAILURE_WORDS, ROUTE_WORDS } from "/js/ui/words.js";

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
  return failures;
}

/** The page's words, and the ids it knows. */
export const words = () => ({ routes: ROUTE_WORDS, failures: FAILURE_WORDS, ids: Object.values(ErrorId) });

/** The candidate types of each candidate text, and of an SDP's candidate lines. */
export const types = ({ candidates, sdp }) => ({ candidates: candidates.map(candidateType), sdp: sdpCandidateTypes(sdp) });
