/**
 * Why a send or a receive did not go through, in plain words for the person: decided on
 * the error id, never on the English that the other side, the server or the machine
 * wrote. The one place both pages word a refusal or an ending.
 * @module ui/words
 */

import { ErrorId } from "../protocol/errors.js";
import { FAILURE_WORDS, ROUTE_WORDS } from "../protocol/ice.js";
import { formatDuration } from "./dom.js";

/** The other side, seen from `role`. */
const PEER = { sender: "receiver", receiver: "sender" };

const TAMPERED =
  "The connection was tampered with on the way (a signal failed its seal check); the transfer was stopped and nothing was kept.";

/** The handshake's refusals read the same whichever side found them first. */
const HANDSHAKE = {
  [ErrorId.WRONG_CODE]: {
    sender: "Someone tried this code with the wrong words; it no longer works.",
    receiver: "That code doesn't match. Check the words with the sender and ask for a new code.",
  },
  [ErrorId.TAMPERED]: { sender: TAMPERED, receiver: TAMPERED },
  [ErrorId.BAD_HANDSHAKE]: {
    sender: "The receiver's side of the handshake was not valid, so nothing was trusted or sent. Start over with a new code.",
    receiver: "The sender's side of the handshake was not valid, so nothing was trusted or sent. Ask the sender for a new code.",
  },
};

/** The server's refusals: `(ending) => words`. */
const SERVER = {
  [ErrorId.CODE_NOT_FOUND]: () =>
    "No transfer is waiting under this code. Check its number for typos, or ask the sender for a new one (codes expire).",
  [ErrorId.CODE_USED]: () => "This code has already been used by someone else. Ask the sender for a new code.",
  [ErrorId.TOO_MANY_ATTEMPTS]: ({ retryAfter }) =>
    `Too many wrong codes from your network. Wait ${retryAfter ? formatDuration(retryAfter) : "a minute"}, then try again.`,
  [ErrorId.NO_FREE_SLOT]: () => "The server has no free codes just now. Try again in a minute.",
  [ErrorId.TOO_MANY_CODES]: () => "Too many codes are open from your network. Finish or cancel one, then try again.",
  // The server speaks a newer protocol than the page it served, or an older one.
  [ErrorId.OLD_PROTOCOL]: () => "This page is older than the SendIt server: reload the page and try again.",
  [ErrorId.NEW_PROTOCOL]: () => "This page is newer than the SendIt server: reload the page, or try again later.",
};

/** The line beside the progress once the channel is open. */
export const routeWords = (route) => `Connected: ${ROUTE_WORDS[route]}`;

/** This side found it: `(ending, peer) => words`. */
const FOUND_HERE = {
  // Only this side's own Cancel ends it so: the receiver's, mid-transfer.
  [ErrorId.CANCELLED]: () => "You cancelled the transfer. The sender has been told, and nothing unverified was kept.",
  [ErrorId.HASH_MISMATCH]: ({ file }) =>
    `"${file}" arrived damaged (hash mismatch: its SHA-256 did not match), so it was thrown away. Ask the sender to try again.`,
  [ErrorId.OLD_PROTOCOL]: (_, peer) => `The ${peer} uses an older SendIt: ask them to update it.`,
  [ErrorId.NEW_PROTOCOL]: (_, peer) => `The ${peer} uses a newer SendIt than this page: reload the page and try again.`,
  [ErrorId.READ_FAILED]: ({ file }) =>
    `"${file}" could not be read (it changed or went away since it was picked): nothing more was sent.`,
  ...Object.fromEntries(Object.entries(FAILURE_WORDS).map(([id, words]) => [id, () => words])),
};

/** The other side said so, in its cancel or error: `(ending, peer) => words`. */
const SAID_BY_PEER = {
  [ErrorId.CANCELLED]: (_, peer) => `The ${peer} cancelled the transfer.`,
  [ErrorId.HASH_MISMATCH]: ({ file }, peer) =>
    `"${file}" arrived damaged at the ${peer} (hash mismatch: its SHA-256 did not match), so it was thrown away. Try again.`,
  // It found this page's protocol older, or newer, than its own.
  [ErrorId.OLD_PROTOCOL]: (_, peer) => `The ${peer} uses a newer SendIt than this page: reload the page and try again.`,
  [ErrorId.NEW_PROTOCOL]: (_, peer) => `The ${peer} uses an older SendIt: ask them to update it.`,
  [ErrorId.PROTOCOL_ERROR]: ({ said }, peer) => `The ${peer} stopped the transfer: this side broke the protocol (${said}).`,
  [ErrorId.CANNOT_SAVE]: ({ said }, peer) => `The ${peer} cannot save these files${said ? ` (${said})` : ""}.`,
  [ErrorId.OFFER_TIMEOUT]: (_, peer) => `The ${peer} stopped waiting for an answer to the offer.`,
  [ErrorId.READ_FAILED]: (_, peer) => `The ${peer} could not read a file it offered.`,
};

const WORDS = { here: FOUND_HERE, peer: SAID_BY_PEER, server: SERVER };

/**
 * @param {"sender"|"receiver"} role this page's
 * @param {{reason: string, errorId: string|null, source: string, said: string|null, file: string|null,
 *   retryAfter: number|null}} ending a run's ending, as the session reports it (transfer/run.js)
 * @returns {string}
 */
export function endingWords(role, ending) {
  const handshake = HANDSHAKE[ending.errorId];
  if (handshake) return handshake[role];
  const words = WORDS[ending.source][ending.errorId];
  if (words) return words(ending, PEER[role]);
  if (ending.source === "peer") return `The ${PEER[role]} stopped the transfer${ending.said ? `: ${ending.said}` : ""}.`;
  return `Failed: ${ending.reason}.`;
}

/**
 * What the other side said of its own failure to connect, beside this side's words for
 * its own (3.5: its reason is its own, shown safe), or null when it said nothing of it.
 * @param {"sender"|"receiver"} role this page's
 * @param {{peer: {errorId: string, said: string}|null}} ending
 * @returns {string|null}
 */
export function peerWords(role, { peer }) {
  if (!peer) return null;
  return peer.said ? `The ${PEER[role]} says: "${peer.said}"` : `The ${PEER[role]} could not connect either.`;
}

/**
 * Why a code was not taken (the receive session's `refused` detail).
 * @param {{reason: string, by: "code"|"server"|"network", errorId: string|null, retryAfter: number|null}} refusal
 * @returns {string}
 */
export function refusalWords(refusal) {
  if (refusal.by === "code") return `That is not a SendIt code: ${refusal.reason}.`;
  if (refusal.by === "network") return `Could not reach the SendIt server (${refusal.reason}).`;
  return SERVER[refusal.errorId]?.(refusal) ?? `The server refused: ${refusal.reason}.`;
}

/**
 * What to do instead, for a page opened outside a secure context (plain HTTP on an
 * address other than this computer's), where the browser withholds the cryptography
 * SendIt needs.
 * @param {{origin: string, port: string}} where the page's location
 * @returns {{title: string, why: string, ways: string[]}}
 */
export function insecureWords({ origin, port }) {
  return {
    title: "This page needs a secure connection",
    why:
      `It was opened over plain HTTP (${origin}), and browsers give the encryption SendIt needs only to secure ` +
      "pages, so nothing can be sent or received from here.",
    ways: [
      "Open it over HTTPS, at an address that starts with https://. Whoever runs the server sets that up " +
        "(sendit-server --tls-cert and --tls-key, or an HTTPS proxy in front of it).",
      `Or, on the computer that runs the server, open http://localhost${port ? `:${port}` : ""}/`,
    ],
  };
}
