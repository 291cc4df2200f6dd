/**
 * Drives web/js/transfer/tree.js and web/js/ui/tree-list.js in the page, for
 * tests/web/test_tree.py: the order of a folder's names, a tree's totals and progress,
 * and the list as a receive page would use it (a file finished before its row is shown).
 */

import { Folder, Tree, walkOrder } from "/js/transfer/tree.js";
import { TreeList } from "/js/ui/tree-list.js";
import { until } from "./common.js";

/** `names` sorted as sendit walks a folder. */
export const order = (names) => [...names].sort(walkOrder);

/** Every folder of `node` and under it, as {path: [count, size, bytes, done]}. */
function folders(node, into = {}) {
  into[node.path] = [node.count, node.size, node.bytes, node.done];
  for (const child of node.children) if (child instanceof Folder) folders(child, into);
  return into;
}

/** A tree of `files` ([{name, size}]) after `steps` ([["progress", index, bytes] or ["finish", index]]). */
export function totals({ files, steps }) {
  const tree = new Tree(files);
  const changed = steps.map(([step, index, bytes]) => tree[step](index, bytes).map((node) => node.path));
  return { folders: folders(tree.root), changed };
}

/** A receive page's use: `files` shown, file `index` verified with a Save link before
 * its folder is opened; then the folder opened and paged to it. What its rows show. */
export async function receiveRows({ files, index }) {
  const list = document.createElement("ul");
  document.body.append(list);
  const view = new TreeList(list, { doneWords: "verified ✓" });
  const tree = new Tree(files);
  view.show(tree);
  view.finish(index, Object.assign(document.createElement("a"), { className: "save", textContent: "Save" }));
  const folder = list.querySelector(".folder");
  // Changes are painted together at the next frame.
  await until(() => folder.querySelector(".file-state").textContent, "the folder's state to be painted", 5000);
  const before = { state: folder.querySelector(".file-state").textContent, rows: list.querySelectorAll("li").length };
  folder.querySelector(".folder-toggle").click();
  for (let more; (more = list.querySelector("li.more button")); ) more.click();
  const rows = [...list.querySelectorAll(".folder-files > li.file")];
  const row = rows.find((r) => r.querySelector(".file-name").title === files[index].name);
  const after = {
    rows: rows.length,
    state: row.querySelector(".file-state").textContent,
    saves: list.querySelectorAll("a.save").length,
    saveInRow: row.querySelector("a.save") !== null,
    removes: list.querySelectorAll(".remove").length,
  };
  list.remove();
  return { before, after };
}
