/**
 * The error identifiers of docs/PROTOCOL.md, the twin of sendit_protocol/errors.py:
 * every refusal on the wire carries one beside its English words, and the page decides
 * on the id, never on the words.
 * @module protocol/errors
 */

/** What any error id looks like on the wire (ids this page does not know are still valid). */
export const ERROR_ID = /^[a-z][a-z0-9-]{0,39}$/;

export const ErrorId = Object.freeze({
  // Server acknowledgements.
  INVALID_PAYLOAD: "invalid-payload",
  CODE_NOT_FOUND: "code-not-found",
  CODE_USED: "code-used",
  TOO_MANY_ATTEMPTS: "too-many-attempts",
  TOO_MANY_CODES: "too-many-codes",
  NO_FREE_SLOT: "no-free-slot",
  NOT_PAIRED: "not-paired",
  PEER_NOT_CONNECTED: "peer-not-connected",
  // The handshake.
  WRONG_CODE: "wrong-code",
  TAMPERED: "tampered",
  BAD_HANDSHAKE: "bad-handshake",
  // The transfer (data channel).
  PROTOCOL_ERROR: "protocol-error",
  HASH_MISMATCH: "hash-mismatch",
  NO_MANIFEST: "no-manifest",
  OFFER_TIMEOUT: "offer-timeout",
  CANNOT_SAVE: "cannot-save",
  READ_FAILED: "read-failed",
  CANCELLED: "cancelled",
  OLD_PROTOCOL: "old-protocol",
  NEW_PROTOCOL: "new-protocol",
  // Outcomes only this side knows of: nobody is told them over the channel.
  PEER_LEFT: "peer-left",
  // Why a connection did not open (PROTOCOL.md 3.5), local too.
  NO_PATH: "no-path",
  RELAY_UNAVAILABLE: "relay-unavailable",
  TURN_REFUSED: "turn-refused",
  TURN_UNREACHABLE: "turn-unreachable",
  NO_LOCAL_CANDIDATES: "no-local-candidates",
  NO_REMOTE_CANDIDATES: "no-remote-candidates",
  NO_STUN: "no-stun",
  NEEDS_TURN: "needs-turn",
});

/** A refusal with its id; `message` is its words. */
export class ProtocolError extends Error {
  /**
   * @param {string} message
   * @param {string} [errorId]
   */
  constructor(message, errorId = ErrorId.PROTOCOL_ERROR) {
    super(message);
    this.errorId = errorId;
  }
}
