/**
 * ZIP archives of received files, so many files or a tree are one download (APPNOTE.TXT
 * 6.3): stored (not compressed: the bytes are whatever they are), names in UTF-8, ZIP64
 * fields once a size, an offset or the count no longer fits. Two ways to make one:
 * - `zipBlob`: the files are kept already (with their CRC-32s, which the stores took
 *   while writing), so no data descriptors; the archive is a Blob of small header parts
 *   around the files' own Blobs: nothing is copied, the files stay where they are (on
 *   disk, for the origin-private store).
 * - `StreamedZip`: the archive is written as the files arrive (stream.js); a file's
 *   CRC-32 is known only after its bytes, so each comes with a data descriptor (4.3.9).
 *   The sizes are the manifest's, known ahead, and so is the archive's length.
 * @module transfer/store/zip
 */

const STORED = 0;
const UTF8 = 0x0800;
/** Entry flag: the CRC and sizes come in a data descriptor after the bytes (bit 3). */
const DESCRIBED = 0x0008;
const LOCAL = 0x04034b50;
const DESCRIPTOR = 0x08074b50;
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
 * The two records of one member: its local header, and (`central(crc)`) its
 * central-directory header. `big` when a size or the offset needs ZIP64 fields.
 * `streamed` members say their CRC and sizes in a data descriptor, so the local header
 * holds zeros; a big one still carries a ZIP64 extra (of zeros), which tells readers the
 * descriptor's sizes are 8 bytes (4.3.9.2).
 */
function member({ name, size, offset, crc = 0, big, streamed }, { time, date: day }) {
  const encoded = new TextEncoder().encode(name);
  const version = big ? VERSION_ZIP64 : VERSION_PLAIN;
  const common = (crcValue) => [
    [2, version],
    [2, UTF8 | (streamed ? DESCRIBED : 0)],
    [2, STORED],
    [2, time],
    [2, day],
    [4, crcValue],
  ];
  const localSize = streamed ? 0 : size;
  // ZIP64 local extra: both sizes, whenever either header field says 0xFFFFFFFF.
  const localExtra = big ? fields([[2, 1], [2, 16], [8, localSize], [8, localSize]]) : new Uint8Array(0);
  const local = fields(
    [[4, LOCAL], ...common(streamed ? 0 : crc), [4, big ? MAX32 : localSize], [4, big ? MAX32 : localSize], [2, encoded.length], [2, localExtra.length]],
    concat(encoded, localExtra),
  );
  // The central extra holds, in this order, only the fields that say 0xFFFFFFFF.
  const wide = [big && size, big && size, big && offset].filter((v) => v !== false);
  const centralExtra = wide.length ? fields([[2, 1], [2, wide.length * 8], ...wide.map((v) => [8, v])]) : new Uint8Array(0);
  const central = (crcValue) =>
    fields(
      [
        [4, 0x02014b50],
        [2, (3 << 8) | version], // made by: Unix, so the attributes below are permissions
        ...common(crcValue),
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
    );
  return { local, central };
}

/** The data descriptor of a streamed member, after its bytes (4.3.9). */
function descriptor({ size, big }, crc) {
  const width = big ? 8 : 4;
  return fields([
    [4, DESCRIPTOR],
    [4, crc],
    [width, size],
    [width, size],
  ]);
}

/** The end of an archive of `count` members whose central directory, `directory` bytes
 * long, starts at `offset`: ZIP64 records first when anything is past `zip64At`. */
function ending(count, directory, offset, zip64At) {
  if (count < Math.min(MAX16, zip64At) && directory < zip64At && offset < zip64At) {
    return [fields([[4, 0x06054b50], [2, 0], [2, 0], [2, count], [2, count], [4, directory], [4, offset], [2, 0]])];
  }
  return [
    fields([
      [4, 0x06064b50],
      [8, 44], // the size of the rest of this record
      [2, (3 << 8) | VERSION_ZIP64],
      [2, VERSION_ZIP64],
      [4, 0],
      [4, 0],
      [8, count],
      [8, count],
      [8, directory],
      [8, offset],
    ]),
    fields([
      [4, 0x07064b50],
      [4, 0],
      [8, offset + directory],
      [4, 1],
    ]),
    fields([[4, 0x06054b50], [2, 0], [2, 0], [2, MAX16], [2, MAX16], [4, MAX32], [4, MAX32], [2, 0]]),
  ];
}

/**
 * The archive of `entries` ({name, file: Blob, crc}), in that order.
 * `zip64At` is the first value that needs a ZIP64 field (4 GiB - 1, as the format says;
 * a test lowers it to see ZIP64 archives of small files).
 * @returns {Blob}
 */
export function zipBlob(entries, { zip64At = MAX32, date = new Date() } = {}) {
  const when = dosTime(date);
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, file, crc } of entries) {
    const size = file.size;
    const records = member({ name, size, offset, crc, big: size >= zip64At || offset >= zip64At, streamed: false }, when);
    parts.push(records.local, file);
    central.push(records.central(crc));
    offset += records.local.length + size;
  }
  const directory = concat(...central);
  return new Blob([...parts, directory, ...ending(entries.length, directory.length, offset, zip64At)], {
    type: "application/zip",
  });
}

/**
 * An archive written as its members arrive, in the order of `entries` ({name, size}):
 * `head(i)` before member i's bytes, `tail(i, crc)` after them, `end()` last. Its
 * `size` is known from the start (the manifest's sizes).
 */
export class StreamedZip {
  #members;
  #crcs = [];
  #directory;

  constructor(entries, { zip64At = MAX32, date = new Date() } = {}) {
    const when = dosTime(date);
    let offset = 0;
    this.#members = entries.map(({ name, size }) => {
      const big = size >= zip64At || offset >= zip64At;
      const records = member({ name, size, offset, big, streamed: true }, when);
      const placed = { size, big, offset, ...records };
      offset += records.local.length + size + descriptor(placed, 0).length;
      return placed;
    });
    this.zip64At = zip64At;
    this.#directory = { offset, length: this.#members.reduce((sum, m) => sum + m.central(0).length, 0) };
    const tail = ending(entries.length, this.#directory.length, offset, zip64At);
    /** The archive's length in bytes. */
    this.size = offset + this.#directory.length + tail.reduce((sum, part) => sum + part.length, 0);
  }

  /** The local header of member `index`. */
  head(index) {
    return this.#members[index].local;
  }

  /** The data descriptor of member `index`, whose bytes had the CRC-32 `crc`. */
  tail(index, crc) {
    this.#crcs[index] = crc;
    return descriptor(this.#members[index], crc);
  }

  /** The central directory and the end records, once every member had its tail. */
  end() {
    const { offset, length } = this.#directory;
    const directory = concat(...this.#members.map((m, i) => m.central(this.#crcs[i])));
    return concat(directory, ...ending(this.#members.length, length, offset, this.zip64At));
  }
}

/** Whether files of these `names` are saved as one ZIP: all but a single file outside
 * any folder, which is saved as it is. */
export function zipped(names) {
  return names.length > 1 || names.some((name) => name.includes("/"));
}

/** What "Save all" gives for the committed `saved` files ({name, file, crc}): their ZIP,
 * or null when they are not `zipped`. */
export function archiveOf(saved) {
  return zipped(saved.map(({ name }) => name)) ? zipBlob(saved) : null;
}

/** The name of the ZIP of `names`: their one top folder's, if they share one. */
export function archiveName(names) {
  const tops = new Set(names.map((name) => (name.includes("/") ? name.split("/")[0] : null)));
  const [top] = tops;
  return tops.size === 1 && top ? `${top}.zip` : "sendit-files.zip";
}
