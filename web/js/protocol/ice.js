/**
 * What ICE tells a person (PROTOCOL.md 3.5): the route a connection took, and why one
 * did not open. Pure decisions over facts this side collects from the browser
 * (signalling/ice-watch.js); the twin of sendit_protocol/ice.py, and both are held to
 * the `ice` vectors. The words for each live with the page's other words (ui/words.js).
 * @module protocol/ice
 */

import { ErrorId } from "./errors.js";

export const CANDIDATE_TYPES = Object.freeze(new Set(["host", "srflx", "prflx", "relay"]));

export const Route = Object.freeze({ LAN: "lan", NAT: "nat", RELAY: "relay" });

/** The ICE transport policy: `relay` when the person hides their address. */
export const Policy = Object.freeze({ ALL: "all", RELAY: "relay" });

export const TurnError = Object.freeze({ REFUSED: "refused", UNREACHABLE: "unreachable" });

/** How a connection went (PROTOCOL.md 3.5), the same words on every side. */
export const ROUTE_WORDS = Object.freeze({
  [Route.LAN]: "direct (same network)",
  [Route.NAT]: "direct (through NAT)",
  [Route.RELAY]: "relayed via TURN",
});

/** Why a connection did not open (PROTOCOL.md 3.5), the same words on every side. */
export const FAILURE_WORDS = Object.freeze({
  [ErrorId.RELAY_UNAVAILABLE]: "You asked to hide your address (relay only), but this server offers no TURN relay.",
  [ErrorId.TURN_REFUSED]:
    "The TURN relay refused the credentials this server gave out (they may have expired, or the server's TURN secret does not match the relay's).",
  [ErrorId.TURN_UNREACHABLE]: "The TURN relay did not answer.",
  [ErrorId.NO_LOCAL_CANDIDATES]: "This computer found no network address to offer.",
  [ErrorId.NO_REMOTE_CANDIDATES]: "The other side offered no network address to connect to.",
  [ErrorId.NO_STUN]:
    "This server gives out no STUN or TURN server, so only computers on the same network can connect, and these two could not reach each other.",
  [ErrorId.NEEDS_TURN]:
    "No direct path crosses the NATs between you, and this server has no TURN relay to fall back on.",
  [ErrorId.NO_PATH]: "Could not reach the other side (no network path found).",
});

/** The STUN error codes of an Allocate answer that mean the relay will not have us. */
export const TURN_REFUSALS = Object.freeze(new Set([401, 403, 437, 441, 486]));

/**
 * The route of a selected pair whose candidates are of types `local` and `remote`;
 * `remoteSignalled` is the type of a candidate the peer signalled with the remote
 * candidate's address and port, if any (it names a `prflx` remote).
 * @param {string} local
 * @param {string} remote
 * @param {string|null} [remoteSignalled]
 * @returns {string} a Route
 */
export function route(local, remote, remoteSignalled = null) {
  const seenAs = remote === "prflx" && remoteSignalled !== null ? remoteSignalled : remote;
  if (local === "relay" || seenAs === "relay") return Route.RELAY;
  if (local === "host" && seenAs === "host") return Route.LAN;
  return Route.NAT;
}

/**
 * The type a `prflx` remote candidate at `host`:`port` counts as (3.5): that of the
 * candidate the peer signalled at that address and port; else `host` if it signalled a
 * host candidate under an mDNS name (a browser hides its address so) with that port,
 * since no NAT changed the port it was seen from; else null.
 * @param {string} host
 * @param {number} port
 * @param {Iterable<{type: string, host: string, port: number}>} signalled what the peer signalled
 * @returns {string|null}
 */
export function signalledType(host, port, signalled) {
  const offered = [...signalled];
  const exact = offered.find((c) => c.host === host && c.port === port);
  if (exact) return exact.type;
  const hidden = offered.some((c) => c.type === "host" && c.port === port && c.host.toLowerCase().endsWith(".local"));
  return hidden ? "host" : null;
}

/**
 * Whether the server's ICE list has a STUN URL, and a TURN URL.
 * @param {RTCIceServer[]} iceServers
 * @returns {{stun: boolean, turn: boolean}}
 */
export function serverKinds(iceServers) {
  const schemes = new Set();
  for (const server of iceServers) {
    const urls = server.urls ?? [];
    for (const url of typeof urls === "string" ? [urls] : urls) schemes.add(String(url).split(":", 1)[0].toLowerCase());
  }
  const any = (...kinds) => kinds.some((kind) => schemes.has(kind));
  return { stun: any("stun", "stuns"), turn: any("turn", "turns") };
}

/** Every reason diagnose() gives. */
export const FAILURES = Object.freeze(
  new Set([
    ErrorId.RELAY_UNAVAILABLE,
    ErrorId.TURN_REFUSED,
    ErrorId.TURN_UNREACHABLE,
    ErrorId.NO_LOCAL_CANDIDATES,
    ErrorId.NO_REMOTE_CANDIDATES,
    ErrorId.NO_STUN,
    ErrorId.NEEDS_TURN,
    ErrorId.NO_PATH,
  ]),
);

/**
 * Why the connection did not open: the first row of 3.5's table that holds.
 * @param {{policy: string, stun: boolean, turn: boolean, local: Set<string>, remote: Set<string>,
 *   turnError: string|null}} seen what this side saw (`local`, `remote`: candidate types)
 * @returns {string} an ErrorId
 */
export function diagnose({ policy, stun, turn, local, remote, turnError }) {
  if (policy === Policy.RELAY && !turn) return ErrorId.RELAY_UNAVAILABLE;
  if (turnError === TurnError.REFUSED) return ErrorId.TURN_REFUSED;
  if (turnError === TurnError.UNREACHABLE && !local.has("relay")) return ErrorId.TURN_UNREACHABLE;
  if (!local.size) return ErrorId.NO_LOCAL_CANDIDATES;
  if (!remote.size) return ErrorId.NO_REMOTE_CANDIDATES;
  if (!stun && !turn) return ErrorId.NO_STUN;
  if (!turn) return ErrorId.NEEDS_TURN;
  return ErrorId.NO_PATH;
}

const TYPE = /(?:^|\s)typ\s+(\S+)/;

/**
 * The type of the candidate an `a=candidate:` line (or a candidate's own `candidate:`
 * text) describes, or null if it names none.
 * @param {string} line
 * @returns {string|null}
 */
export const candidateType = (line) => TYPE.exec(line)?.[1] ?? null;

const OFFERED = /^(?:a=)?candidate:\S+\s+\d+\s+\S+\s+\d+\s+(\S+)\s+(\d+)\s+typ\s+(\S+)/;

/**
 * Where a candidate line says its candidate is, and its type, or null if it does not
 * read as one (RFC 8839: foundation, component, transport, priority, address, port, typ).
 * @param {string} line
 * @returns {{type: string, host: string, port: number}|null}
 */
export function offeredCandidate(line) {
  const found = OFFERED.exec(line);
  return found && { type: found[3], host: found[1], port: Number(found[2]) };
}

/**
 * The `a=candidate:` lines of a session description (aiortc puts every candidate there
 * and trickles none).
 * @param {string} sdp
 * @returns {string[]}
 */
export const sdpCandidateLines = (sdp) => sdp.split(/\r?\n/).filter((line) => line.startsWith("a=candidate:"));

/**
 * The candidate types among `types` that 3.5 counts.
 * @param {Iterable<string>} types
 * @returns {Set<string>}
 */
export const kinds = (types) => new Set([...types].filter((type) => CANDIDATE_TYPES.has(type)));
