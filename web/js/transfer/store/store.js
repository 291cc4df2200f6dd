/**
 * Where a receiving page keeps files: the interface every store has, and the one
 * error a store gives before anything is accepted. A store is chosen by the page when
 * its person accepts (folder.js, opfs.js, blob.js); the Receiver of machines.js writes
 * through it and lets a file count only once it is committed, after its digest matched.
 *
 * A store (all methods async unless said):
 * - `check(files)`: throws CannotSave, in plain words, when it cannot keep these
 *   manifest entries; called before accepting.
 * - `partial(index, entry)` -> `Blob | null`: what an earlier run left of this entry
 *   (same name, same size offered), for resume; the machine hashes its blocks itself.
 * - `open(index, entry, {keep})` -> Writer: `keep` bytes of the partial stay (0 starts
 *   empty).
 * - `finish()`: after the last file was committed (a ZIP of them becomes available).
 * - `describe()` (sync): words for the page on where the files are.
 *
 * A Writer:
 * - `write(bytes)`: the next bytes, in order; the Uint8Array becomes the writer's, but
 *   is hashed meanwhile: a writer must not transfer (detach) it.
 * - `truncate(bytes)`: keep only the first `bytes` (a reconnection goes back to a block).
 * - `commit()` -> `{name, file?}`: only once the digest matched; `file` is the File to
 *   hand to the person, absent when it is already where they chose.
 * - `discard({keepPartial})`: an unverified file never appears under its name; a
 *   mismatch drops everything, a break keeps the partial (for resume) where the store can.
 * @module transfer/store/store
 */

/** This store cannot keep what is offered; `message` says why, for the person. */
export class CannotSave extends Error {}

/** @typedef {{name: string, size: number, type: string}} Entry a manifest entry */
/** @typedef {{name: string, file?: File}} Saved what a commit hands over */
