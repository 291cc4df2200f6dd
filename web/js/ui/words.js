/**
 * How a transfer that did not deliver ended, in plain words for the person: decided on
 * the error id, never on the English the other side (or the machine) wrote. The one
 * place both pages word an ending.
 * @module ui/words
 */

import { ErrorId } from "../protocol/errors.js";

/** The other side, seen from `role`. */
const PEER = { sender: "receiver", receiver: "sender" };

/** Words by error id when this side found the problem: `(ending, peer) => text`. */
const FOUND_HERE = {
  [ErrorId.HASH_MISMATCH]: ({ file }) =>
    `"${file}" arrived damaged (hash mismatch: its SHA-256 did not match), so it was thrown away. Ask the sender to try again.`,
  [ErrorId.OLD_PROTOCOL]: (_, peer) => `The ${peer}'s SendIt speaks an older protocol than this page: ask them to update it.`,
  [ErrorId.NEW_PROTOCOL]: (_, peer) => `The ${peer}'s SendIt speaks a newer protocol than this page: reload the page and try again.`,
  [ErrorId.NO_MANIFEST]: ({ reason }) => `Failed: ${reason}.`,
  [ErrorId.OFFER_TIMEOUT]: ({ reason }) => `Cancelled: ${reason}.`,
  [ErrorId.READ_FAILED]: ({ file }) =>
    `Failed: "${file}" could not be read (it changed or went away since it was picked). Pick it again and send again.`,
  [ErrorId.PEER_LEFT]: ({ reason }) => `Failed: ${reason}.`,
};

/** Words by error id when the other side said so (its cancel or error). */
const SAID_BY_PEER = {
  [ErrorId.CANCELLED]: (_, peer) => `The ${peer} cancelled the transfer.`,
  [ErrorId.HASH_MISMATCH]: ({ file }, peer) =>
    `"${file}" arrived damaged at the ${peer} (hash mismatch: its SHA-256 did not match), so it was thrown away. Try again.`,
  // The other side found this page's protocol older, or newer, than its own.
  [ErrorId.OLD_PROTOCOL]: (_, peer) => `The ${peer}'s SendIt speaks a newer protocol than this page: reload the page and try again.`,
  [ErrorId.NEW_PROTOCOL]: (_, peer) => `The ${peer}'s SendIt speaks an older protocol than this page: ask them to update it.`,
  [ErrorId.CANNOT_SAVE]: ({ said }, peer) => `The ${peer} cannot save these files${said ? ` (${said})` : ""}.`,
  [ErrorId.OFFER_TIMEOUT]: (_, peer) => `The ${peer} stopped waiting for an answer to the offer.`,
  [ErrorId.NO_MANIFEST]: (_, peer) => `The ${peer} stopped waiting for the list of files.`,
  [ErrorId.READ_FAILED]: (_, peer) => `The ${peer} could not read a file it offered.`,
};

/**
 * @param {"sender"|"receiver"} role this page's
 * @param {{reason: string, errorId: string|null, said: string|null, file: string|null}} ending
 *   as the session reports it: `said` is the peer's own words (shown safe) if the peer ended it
 * @returns {string}
 */
export function endingWords(role, ending) {
  const words = (ending.said === null ? FOUND_HERE : SAID_BY_PEER)[ending.errorId];
  return words ? words(ending, PEER[role]) : `Failed: ${ending.reason}.`;
}
