/**
 * Files written where the person chose (File System Access API, Chromium): one file
 * into the file they picked, several (or a tree, its paths kept) into the folder they
 * picked. Each file is written through `createWritable()`, which the browser keeps
 * apart from the file itself until `close()`: close() comes only after the digest
 * matched, abort() on a mismatch or a break, so an unverified file never appears under
 * its name. That also means a break keeps nothing: this store has no partials, and
 * resuming is the origin-private store's (opfs.js).
 * @module transfer/store/folder
 */

import { pickFile, pickFolder } from "./pickers.js";
import { CannotSave } from "./store.js";

/** The parts of `name`, each to stay inside the folder: protocol.js refused such names
 * on arrival already; whatever else may come this way is refused again, as the CLI does. */
function pathParts(name) {
  const parts = name.split("/");
  if (parts.some((part) => part === "" || part === "." || part === ".." || /[\\\0]/.test(part))) {
    throw new CannotSave(`${name} would be written outside the chosen folder; refused.`);
  }
  return parts;
}

/** The handle of `name` in `dir`, or null if there is none; a folder in its place is an error. */
async function existing(dir, name) {
  try {
    return await dir.getFileHandle(name);
  } catch (error) {
    if (error.name === "NotFoundError") return null;
    if (error.name === "TypeMismatchError") throw new CannotSave(`a folder named ${name} is in the way.`);
    throw error;
  }
}

class FolderWriter {
  /** @param {{writable, handle, parent?: FileSystemDirectoryHandle, created: boolean, entry}} parts */
  constructor(parts) {
    Object.assign(this, parts);
  }

  write(bytes) {
    return this.writable.write(bytes);
  }

  truncate(size) {
    return this.writable.truncate(size);
  }

  async commit() {
    await this.writable.close();
    return { name: this.entry.name };
  }

  async discard() {
    await this.writable.abort();
    // The empty file made to write into must not stay under the name either.
    if (this.created) await (this.parent ? this.parent.removeEntry(this.handle.name) : this.handle.remove?.());
  }
}

export class FolderStore {
  #dir;
  #file;

  /** One of: `dir`, the picked folder; `file`, the picked file. */
  constructor({ dir = null, file = null }) {
    this.#dir = dir;
    this.#file = file;
    this.archive = null;
  }

  /** Asks the person where `files` go (a file for one file, else a folder): call it from the click. */
  static async pick(files) {
    if (files.length === 1 && !files[0].name.includes("/")) return new FolderStore({ file: await pickFile(files[0].name) });
    return new FolderStore({ dir: await pickFolder() });
  }

  /** What is chosen: "folder" or "file", and its name. */
  get where() {
    return this.#dir ? { kind: "folder", name: this.#dir.name } : { kind: "file", name: this.#file.name };
  }

  async check(files) {
    for (const { name } of files) pathParts(name);
  }

  /** The names of `files` a file already has in the folder: the person agrees to replace
   * them, or chooses again (the file picker asked about its one file itself). */
  async clashes(files) {
    if (!this.#dir) return [];
    const found = [];
    for (const { name } of files) {
      let dir = this.#dir;
      const parts = pathParts(name);
      try {
        for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part);
      } catch (error) {
        if (error.name === "NotFoundError") continue;
        if (error.name === "TypeMismatchError") throw new CannotSave(`a file is in the way of the folder of ${name}.`);
        throw error;
      }
      if (await existing(dir, parts.at(-1))) found.push(name);
    }
    return found;
  }

  async partial() {
    return null;
  }

  async open(index, entry, { keep = 0 } = {}) {
    if (keep) throw new Error("a chosen folder keeps no partial files");
    if (this.#file) {
      const handle = this.#file;
      const created = (await handle.getFile()).size === 0;
      return new FolderWriter({ writable: await handle.createWritable(), handle, created, entry });
    }
    const parts = pathParts(entry.name);
    let parent = this.#dir;
    try {
      for (const part of parts.slice(0, -1)) parent = await parent.getDirectoryHandle(part, { create: true });
    } catch (error) {
      if (error.name === "TypeMismatchError") throw new CannotSave(`a file is in the way of the folder of ${entry.name}.`);
      throw error;
    }
    const last = parts.at(-1);
    const found = await existing(parent, last);
    const handle = found ?? (await parent.getFileHandle(last, { create: true }));
    return new FolderWriter({ writable: await handle.createWritable(), handle, parent, created: !found, entry });
  }

  async finish() {}

  describe() {
    const { kind, name } = this.where;
    return kind === "folder" ? `Saved in the folder “${name}”.` : `Saved as “${name}”.`;
  }
}
