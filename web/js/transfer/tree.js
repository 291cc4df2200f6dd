/**
 * A list of files seen as the tree their names make ("photos/sub/b.jpg" lies in the
 * folder "photos/sub"): each folder with its count, size and progress over everything
 * under it, so a page can show 10,000 files as a few rows. No DOM.
 * @module transfer/tree
 */

/** A file of the tree: `index` in the list it came from, `name` its last part, `path`
 * its whole name; `bytes` moved so far and `done` once it is through. */
export class Leaf {
  bytes = 0;
  done = false;

  constructor(index, path, size, parent) {
    Object.assign(this, { index, path, size, parent, name: path.slice(path.lastIndexOf("/") + 1) });
  }
}

/** A folder of the tree (the root's `path` is ""): `children`, the folders and files
 * directly in it in the order they first appear; `count`, `size`, `bytes` and `done`
 * (files through), over everything under it. */
export class Folder {
  children = [];
  count = 0;
  size = 0;
  bytes = 0;
  done = 0;
  #folders = new Map();

  constructor(path, parent) {
    Object.assign(this, { path, parent, name: path.slice(path.lastIndexOf("/") + 1) });
  }

  /** The folder `name` directly in this one, made if new. */
  folder(name) {
    let folder = this.#folders.get(name);
    if (!folder) {
      folder = new Folder(this.path ? `${this.path}/${name}` : name, this);
      this.#folders.set(name, folder);
      this.children.push(folder);
    }
    return folder;
  }
}

/** Everything from `node`'s parent up to the root. */
function* ancestors(node) {
  for (let folder = node.parent; folder; folder = folder.parent) yield folder;
}

export class Tree {
  /** @type {Leaf[]} by index */
  #leaves;

  /** @param {{name: string, size: number}[]} files names as the manifest gives them */
  constructor(files) {
    this.root = new Folder("", null);
    this.#leaves = files.map(({ name, size }, index) => {
      const parts = name.split("/");
      let folder = this.root;
      for (const part of parts.slice(0, -1)) folder = folder.folder(part);
      const leaf = new Leaf(index, name, size, folder);
      folder.children.push(leaf);
      for (const above of ancestors(leaf)) {
        above.count += 1;
        above.size += size;
      }
      return leaf;
    });
  }

  leaf(index) {
    return this.#leaves[index];
  }

  /** File `index` has `bytes` moved (it may go back, after a break); returns the nodes
   * that changed, the file first. */
  progress(index, bytes) {
    const leaf = this.#leaves[index];
    const change = bytes - leaf.bytes;
    leaf.bytes = bytes;
    const changed = [leaf];
    for (const folder of ancestors(leaf)) {
      folder.bytes += change;
      changed.push(folder);
    }
    return changed;
  }

  /** File `index` is through; returns the nodes that changed, the file first. */
  finish(index) {
    const changed = this.progress(index, this.#leaves[index].size);
    const leaf = changed[0];
    if (!leaf.done) {
      leaf.done = true;
      for (const folder of changed.slice(1)) folder.done += 1;
    }
    return changed;
  }
}

/**
 * The order `sendit send` walks a folder in (os.walk, names sorted): a folder's own
 * files first, then each of its folders in turn. A comparator of names.
 */
export function walkOrder(a, b) {
  if (a === b) return 0;
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; ; i += 1) {
    if (x[i] === y[i]) continue;
    const xFile = i === x.length - 1;
    const yFile = i === y.length - 1;
    if (xFile !== yFile) return xFile ? -1 : 1;
    return x[i] < y[i] ? -1 : 1;
  }
}
