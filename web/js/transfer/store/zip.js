/**
 * A ZIP archive of received files, so "Save all" is one download (APPNOTE.TXT 6.3):
 * stored (not compressed: the bytes are whatever they are), names in UTF-8, sizes
 * and CRC-32s known before the archive is made (the manifest's sizes, the CRCs the
 * stores took while writing), so no data descriptors; ZIP64 fields once a size,
 * an offset or the count no longer fits. The archive is a Blob of small header parts
 * around the files' own Blobs: nothing is copied, the files stay where they are (on
 * disk, for the origin-private store).
 * @module transfer/store/zip
 */

const STORED = 0;
const UTF8 = 0x0800;
/** 4.5 with ZIP64 (sizes and offsets past 4 GiB), else 2.0. */
const VERSION_ZIP64 = 45;
const VERSION_PLAIN = 20;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

/** Little-endian fields into one Uint8Array: [[bytes, value], ...]; 8-byte values as numbers. */
function fields(list, tail = new Uint8Array(0)) {
  const size = list.reduce((sum, [bytes]) => sum + bytes, 0);
  const out = new Uint8Array(size + tail.length);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [bytes, value] of list) {
    if (bytes === 2) view.setUint16(at, value, true);
    else if (bytes === 4) view.setUint32(at, value, true);
    else view.setBigUint64(at, BigInt(value), true);
    at += bytes;
  }
  out.set(tail, at);
  return out;
}

/** MS-DOS date and time (2-second steps, local time), as ZIP keeps them. */
function dosTime(date) {
  const year = Math.max(date.getFullYear(), 1980);
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};

/**
 * The archive of `entries` ({name, file: Blob, crc}), in that order.
 * `zip64At` is the first value that needs a ZIP64 field (4 GiB - 1, as the format says;
 * a test lowers it to see ZIP64 archives of small files).
 * @returns {Blob}
 */
export function zipBlob(entries, { zip64At = MAX32, date = new Date() } = {}) {
  const { time, date: day } = dosTime(date);
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, file, crc } of entries) {
    const encoded = new TextEncoder().encode(name);
    const size = file.size;
    const big = size >= zip64At || offset >= zip64At;
    const version = big ? VERSION_ZIP64 : VERSION_PLAIN;
    const common = [
      [2, version],
      [2, UTF8],
      [2, STORED],
      [2, time],
      [2, day],
      [4, crc],
    ];
    // ZIP64 local extra: both sizes, whenever either header field says 0xFFFFFFFF.
    const localExtra = big ? fields([[2, 1], [2, 16], [8, size], [8, size]]) : new Uint8Array(0);
    const local = fields(
      [[4, 0x04034b50], ...common, [4, big ? MAX32 : size], [4, big ? MAX32 : size], [2, encoded.length], [2, localExtra.length]],
      concat(encoded, localExtra),
    );
    parts.push(local, file);
    // The central extra holds, in this order, only the fields that say 0xFFFFFFFF.
    const wide = [big && size, big && size, big && offset].filter((v) => v !== false);
    const centralExtra = wide.length ? fields([[2, 1], [2, wide.length * 8], ...wide.map((v) => [8, v])]) : new Uint8Array(0);
    central.push(
      fields(
        [
          [4, 0x02014b50],
          [2, (3 << 8) | version], // made by: Unix, so the attributes below are permissions
          ...common,
          [4, big ? MAX32 : size],
          [4, big ? MAX32 : size],
          [2, encoded.length],
          [2, centralExtra.length],
          [2, 0], // comment
          [2, 0], // disk
          [2, 0], // internal attributes
          [4, (0o100644 << 16) >>> 0], // a regular file, rw-r--r--
          [4, big ? MAX32 : offset],
        ],
        concat(encoded, centralExtra),
      ),
    );
    offset += local.length + size;
  }
  const directory = concat(...central);
  const count = entries.length;
  const tail = [];
  if (count >= Math.min(MAX16, zip64At) || directory.length >= zip64At || offset >= zip64At) {
    const at = offset + directory.length;
    tail.push(
      fields([
        [4, 0x06064b50],
        [8, 44], // the size of the rest of this record
        [2, (3 << 8) | VERSION_ZIP64],
        [2, VERSION_ZIP64],
        [4, 0],
        [4, 0],
        [8, count],
        [8, count],
        [8, directory.length],
        [8, offset],
      ]),
      fields([
        [4, 0x07064b50],
        [4, 0],
        [8, at],
        [4, 1],
      ]),
    );
    tail.push(fields([[4, 0x06054b50], [2, 0], [2, 0], [2, MAX16], [2, MAX16], [4, MAX32], [4, MAX32], [2, 0]]));
  } else {
    tail.push(fields([[4, 0x06054b50], [2, 0], [2, 0], [2, count], [2, count], [4, directory.length], [4, offset], [2, 0]]));
  }
  return new Blob([...parts, directory, ...tail], { type: "application/zip" });
}

/** What "Save all" gives for the committed `saved` files ({name, file, crc}): their ZIP,
 * or null when a single file outside any folder is saved as it is. */
export function archiveOf(saved) {
  return saved.length > 1 || saved.some(({ name }) => name.includes("/")) ? zipBlob(saved) : null;
}
