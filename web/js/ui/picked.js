/**
 * What the person picked or dropped, as files on offer under the names `sendit send`
 * would give them: a file by its name, a file of a folder by its path from the folder's
 * parent ("photos/sub/b.jpg" for a dropped or picked folder "photos"). Empty folders
 * give nothing, as on the command line.
 * @module ui/picked
 */

import { OfferedFile, Refused } from "../transfer/offer.js";
import { walkOrder } from "../transfer/tree.js";

const byWalk = (a, b) => walkOrder(a.name, b.name);

/**
 * The files of a file input, in the order picked; a folder's (`webkitdirectory`) each
 * under its path, in the order the command line walks a folder.
 * @param {FileList} list
 * @returns {OfferedFile[]}
 */
export function fromInput(list) {
  const files = [...list].map((file) => new OfferedFile(file.webkitRelativePath || file.name, file));
  return files.some((file) => file.name.includes("/")) ? files.sort(byWalk) : files;
}

/**
 * The files of a drop, folders read to their last file. Call it in the drop handler
 * itself: a drop's items can be read only until the handler returns. Rejects with
 * Refused when part of a folder cannot be read (nothing of the drop is then taken).
 * @param {DataTransfer} transfer
 * @returns {Promise<OfferedFile[]>}
 */
export function fromDrop(transfer) {
  // Both taken now, while the drop lets them be: a folder's entry, else the file.
  const dropped = [...transfer.items]
    .filter((item) => item.kind === "file")
    .map((item) => ({ entry: item.webkitGetAsEntry?.(), file: item.getAsFile() }));
  return (async () => {
    const batches = [];
    for (const { entry, file } of dropped) {
      if (entry?.isDirectory) batches.push((await readFolder(entry, entry.name)).sort(byWalk));
      else if (file) batches.push([new OfferedFile(file.name, file)]);
    }
    return batches.flat();
  })();
}

/** Every file under the folder `entry`, named `path/...`. */
async function readFolder(entry, path) {
  const inside = await readAll(entry, path);
  const files = inside.filter((e) => e.isFile).map((e) => fileOf(e, `${path}/${e.name}`));
  const folders = inside.filter((e) => e.isDirectory).map((e) => readFolder(e, `${path}/${e.name}`));
  return [...(await Promise.all(files)), ...(await Promise.all(folders)).flat()];
}

/** A folder's entries: readEntries gives them a batch at a time, then an empty one. */
async function readAll(entry, path) {
  const reader = entry.createReader();
  const all = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject)).catch((error) => {
      throw new Refused(`Could not read the folder "${path}" (${error.message}). Nothing was added.`);
    });
    if (!batch.length) return all;
    all.push(...batch);
  }
}

async function fileOf(entry, path) {
  const file = await new Promise((resolve, reject) => entry.file(resolve, reject)).catch((error) => {
    throw new Refused(`Could not read "${path}" (${error.message}). Nothing was added.`);
  });
  return new OfferedFile(path, file);
}
