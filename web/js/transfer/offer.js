/**
 * The files a sender offers, as the page gathers them: each under the name the manifest
 * gives it (a path for a file of a folder, as `sendit send` names it), checked as they
 * join so that what no receiver would take is refused with words before any code is
 * made. No DOM.
 * @module transfer/offer
 */

import { MAX_FILES, ProtocolError, checkNames, parseMessage } from "../protocol/protocol.js";

/** One file on offer: its name in the manifest and where its bytes come from. The
 * Sender reads it as it reads a File (`name`, `size`, `type`, `slice`); a File's own
 * name cannot be trusted to keep a path's slashes in every browser. */
export class OfferedFile {
  /**
   * @param {string} name a relative path, `/` between its parts
   * @param {Blob} file
   */
  constructor(name, file) {
    this.name = name;
    this.file = file;
    this.size = file.size;
    this.type = file.type;
  }

  slice(start, end) {
    return this.file.slice(start, end);
  }
}

/** Why files were not added: `message` says it in words for the person. */
export class Refused extends Error {}

/** The receiver's own check of one entry (PROTOCOL.md 3.1): words, or null if it passes. */
function nameProblem({ name, size, type }) {
  try {
    parseMessage(JSON.stringify({ type: "manifest-more", files: [{ name, size, type }] }));
    return null;
  } catch (error) {
    if (error instanceof ProtocolError) return error.message;
    throw error;
  }
}

/**
 * The list on offer. Files join a batch at a time (one pick, one drop), and a batch
 * joins whole or not at all: half a folder would reach the receiver looking complete.
 */
export class Offer {
  /** @type {OfferedFile[]} */
  #files = [];

  /** The files in the order they joined (a copy). */
  get files() {
    return [...this.#files];
  }

  /**
   * Add `batch` after the files already there; throws Refused, adding none, if any of
   * them could not go: a name the protocol refuses, one already on the list (or twice in
   * the batch), a file where another needs a folder of that name, more than MAX_FILES
   * in all, or nothing at all.
   * @param {OfferedFile[]} batch
   */
  add(batch) {
    if (!batch.length) throw new Refused("Nothing to send there: empty folders are not sent.");
    const total = this.#files.length + batch.length;
    if (total > MAX_FILES) {
      throw new Refused(
        `That would make ${total.toLocaleString("en")} files: at most ${MAX_FILES.toLocaleString("en")} go at a time. ` +
          "Send the rest separately, or zip some folders.",
      );
    }
    for (const file of batch) {
      const problem = nameProblem(file);
      if (problem) throw new Refused(`"${file.name}" cannot be sent: ${problem}. Nothing was added.`);
    }
    const all = [...this.#files, ...batch];
    try {
      checkNames(all);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw new Refused(
        `Nothing was added: ${error.message}. Each file needs a name of its own, and no file the name of a folder.`,
      );
    }
    this.#files = all;
  }

  /**
   * Take `name` off the list: the file of that name, or every file in the folder of
   * that name. Returns how many went.
   * @param {string} name
   */
  remove(name) {
    const before = this.#files.length;
    const inside = `${name}/`;
    this.#files = this.#files.filter((file) => file.name !== name && !file.name.startsWith(inside));
    return before - this.#files.length;
  }
}
