/**
 * A list of files shown as their tree (transfer/tree.js): a folder is one row with its
 * count, size and progress, closed until opened, and a folder opens to a page of rows
 * at a time, so 10,000 files make a few rows, not a page 20,000 px tall. Either page
 * can show its files with it: the send page its offer, the receive page what it is
 * offered.
 * @module ui/tree-list
 */

import { Folder } from "../transfer/tree.js";
import { count, el, fileRow, formatBytes, onNextPaint } from "./dom.js";

/** Rows a folder shows at first, and then at each "show more". */
export const PAGE = 100;

export class TreeList {
  #list;
  #doneWords;
  #onRemove;
  /** @type {import("../transfer/tree.js").Tree | null} */
  #tree = null;
  /** Paths of the folders open, kept when the tree is shown anew. */
  #open = new Set();
  /** The parts of each row on the page, by its node; a node without a row is painted
   * from the tree once its row is made. */
  #rows = new Map();
  #dirty = new Set();
  #later = onNextPaint();

  /**
   * @param {HTMLUListElement} list where the rows go
   * @param {{doneWords: string, onRemove?: (name: string) => void}} options `doneWords`,
   *   what a file through is marked ("delivered ✓ verified"); `onRemove`, if given, is
   *   called with a file's or folder's name when its Remove button is pressed (until
   *   {@link TreeList#lock}).
   */
  constructor(list, { doneWords, onRemove = null }) {
    this.#list = list;
    this.#doneWords = doneWords;
    this.#onRemove = onRemove;
    list.classList.add("tree");
  }

  /** Show `tree` in place of what was there. */
  show(tree) {
    this.#tree = tree;
    this.#rows.clear();
    this.#dirty.clear();
    this.#list.replaceChildren(...this.#page(tree.root, 0));
  }

  /** The list no longer changes (`locked`): its Remove buttons go, or come back. */
  lock(locked = true) {
    this.#list.classList.toggle("locked", locked);
  }

  /** File `index` has `bytes` through so far. */
  progress(index, bytes) {
    this.#mark(this.#tree.progress(index, bytes));
  }

  /** File `index` is through; `action`, if given, goes beside it (a Save link). */
  finish(index, action = null) {
    this.#tree.leaf(index).action = action;
    this.#mark(this.#tree.finish(index));
  }

  #mark(nodes) {
    const idle = !this.#dirty.size;
    for (const node of nodes) if (this.#rows.has(node)) this.#dirty.add(node);
    if (idle && this.#dirty.size) this.#later(() => this.#paintDirty());
  }

  #paintDirty() {
    for (const node of this.#dirty) this.#paint(node);
    this.#dirty.clear();
  }

  /** Rows for `folder`'s children from `from` on, a page of them, and a "show more" row
   * if some are left. */
  #page(folder, from) {
    const rows = folder.children.slice(from, from + PAGE).map((node) => this.#row(node));
    const left = folder.children.length - from - PAGE;
    if (left > 0) {
      const more = el("button", { type: "button", class: "secondary small" }, `Show ${Math.min(left, PAGE)} more (of ${left})`);
      const row = el("li", { class: "more" }, more);
      more.addEventListener("click", () => row.replaceWith(...this.#page(folder, from + PAGE)));
      rows.push(row);
    }
    return rows;
  }

  #row(node) {
    const parts = node instanceof Folder ? this.#folderRow(node) : this.#fileRow(node);
    if (this.#onRemove) {
      const remove = el("button", { type: "button", class: "remove secondary small", "aria-label": `Remove ${node.path}` }, "Remove");
      remove.addEventListener("click", () => this.#onRemove(node.path));
      parts.actions.append(remove);
    }
    this.#rows.set(node, parts);
    this.#paint(node);
    return parts.row;
  }

  #fileRow(leaf) {
    const parts = fileRow({ name: leaf.name, size: leaf.size });
    parts.row.querySelector(".file-name").title = leaf.path;
    return parts;
  }

  #folderRow(folder) {
    const toggle = el("button", { type: "button", class: "folder-toggle", "aria-expanded": "false", title: folder.path }, folder.name);
    const bar = el("progress", { max: folder.size || 1, value: 0, "aria-label": `progress of ${folder.path}` });
    const state = el("span", { class: "file-state" });
    const actions = el("span", { class: "file-actions" });
    const inside = el("ul", { class: "files folder-files", hidden: "" });
    const row = el(
      "li",
      { class: "file folder" },
      toggle,
      el("span", { class: "file-size" }, `${count(folder.count, "file")}, ${formatBytes(folder.size)}`),
      bar,
      state,
      actions,
      inside,
    );
    const open = (opened) => {
      toggle.setAttribute("aria-expanded", String(opened));
      inside.hidden = !opened;
      if (opened && !inside.childElementCount) inside.append(...this.#page(folder, 0));
      if (opened) this.#open.add(folder.path);
      else this.#open.delete(folder.path);
    };
    toggle.addEventListener("click", () => open(inside.hidden));
    if (this.#open.has(folder.path)) open(true);
    return { row, bar, state, actions };
  }

  #paint(node) {
    const { bar, state, actions } = this.#rows.get(node);
    bar.value = node.bytes;
    if (node instanceof Folder) {
      state.textContent = node.done ? `${node.done === node.count ? "all" : `${node.done} of`} ${node.count} ${this.#doneWords}` : "";
    } else {
      state.textContent = node.done ? this.#doneWords : "";
      if (node.action && node.action.parentNode !== actions) actions.prepend(node.action);
    }
  }
}
