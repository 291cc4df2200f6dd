/**
 * The exchange pool's API as the browser uses it: statistics, an upload with progress,
 * a random download, and what each refusal means in plain words. No DOM here.
 * @module pool/api
 */

/**
 * A refusal by the pool's API. `errorId` names it (docs/POOL.md; what the page decides
 * on), `message` says it in plain words; `status` is the HTTP status, 0 when no answer
 * came. Failures with no answer get ids of their own, which no server sends.
 */
export class PoolError extends Error {
  constructor(status, message, errorId = null) {
    super(message);
    this.name = "PoolError";
    this.status = status;
    this.errorId = errorId;
  }
}

const unreachable = () => new PoolError(0, "could not reach the server", "unreachable");
const cutOff = () => new PoolError(0, "the download was cut off", "cut-off");

/** The PoolError of a JSON refusal `{error, error_id}`, or of a line naming the status. */
function refused(status, body) {
  const message = typeof body?.error === "string" ? body.error : `the server answered ${status}`;
  return new PoolError(status, message, typeof body?.error_id === "string" ? body.error_id : null);
}

async function refusal(response) {
  return refused(response.status, await response.json().catch(() => null));
}

async function request(url) {
  try {
    return await fetch(url, { cache: "no-store" });
  } catch {
    throw unreachable();
  }
}

/** `{count, total_bytes, types, max_file_size}` of the pool now. */
export async function fetchStats() {
  const response = await request("/api/pool/stats");
  if (!response.ok) throw await refusal(response);
  return response.json();
}

/** Give `file`; resolves to `{id, name, size, type, token}`. `onProgress(bytesSent)`. */
export function uploadFile(file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    // fetch() cannot report upload progress; XMLHttpRequest can.
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/upload");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    xhr.addEventListener("load", () => {
      if (xhr.status === 201) resolve(xhr.response);
      else reject(refused(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () => reject(unreachable()));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** The file name a `Content-Disposition: attachment` header gives, `filename*` first. */
export function attachmentName(header) {
  const extended = /filename\*\s*=\s*UTF-8''([^;\s]+)/i.exec(header ?? "");
  if (extended) {
    try {
      return decodeURIComponent(extended[1]);
    } catch {
      // A malformed escape: fall back to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header ?? "");
  return plain ? plain[1].replace(/\\(.)/g, "$1") : "file";
}

/**
 * Take a random file for `token`; resolves to `{name, type, size, blob}`.
 * `onProgress(received, total)` follows the bytes as they arrive.
 */
export async function downloadRandom(token, onProgress = () => {}) {
  const response = await request(`/api/download?token=${encodeURIComponent(token)}`);
  if (!response.ok) throw await refusal(response);
  const total = Number(response.headers.get("Content-Length"));
  const type = (response.headers.get("Content-Type") ?? "").split(";")[0].trim();
  const chunks = [];
  let received = 0;
  try {
    const reader = response.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      chunks.push(read.value);
      received += read.value.byteLength;
      onProgress(received, total);
    }
  } catch {
    throw cutOff();
  }
  if (received !== total) throw cutOff();
  const name = attachmentName(response.headers.get("Content-Disposition"));
  return { name, type, size: received, blob: new Blob(chunks, { type }) };
}

/** `{type: count}` as `[type, count]` pairs, the most common first. */
export function sortedTypes(types) {
  return Object.entries(types ?? {}).sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
}

const connection = (reason) => `Could not finish: ${reason}. Check your connection and try again.`;
const cannotTake = (reason) => `The server could not take this: ${reason}.`;
const notTaken = (reason) => `This type of file is not taken: ${reason}.`;

/** Each refusal's sentence for the person, by its id, given the server's words. */
const SENTENCES = {
  unreachable: connection,
  "cut-off": connection,
  "not-multipart": cannotTake,
  "no-file-field": cannotTake,
  "several-files": cannotTake,
  "empty-file": cannotTake,
  "malformed-body": cannotTake,
  "unsupported-encoding": cannotTake,
  "upload-cut-off": cannotTake,
  "no-token": cannotTake,
  "token-refused": () => "This download token was already used (or is unknown). Give a file to get a new one.",
  "pool-empty": () => "There is no file from someone else in the pool yet. Your token is kept: try again in a moment.",
  "upload-too-slow": () =>
    "The upload was too slow and was cut off; nothing was kept. Try again on a steadier connection.",
  "file-too-large": (reason) => `This file is too large: ${reason.replace(/^the file is too large: /, "")}.`,
  "file-type-refused": notTaken,
  "file-name-refused": notTaken,
  unavailable: () => "The server could not send a file just now. Your token is kept: try again in a moment.",
  "pool-full": () => "The pool is full right now. Try again once someone has taken a file.",
};

/** What a refusal means for the person, in a sentence; one of an id it does not know, in the server's words. */
export function explain(error) {
  const reason = error?.message ?? String(error);
  const sentence = Object.hasOwn(SENTENCES, error?.errorId ?? "") ? SENTENCES[error.errorId] : null;
  return sentence ? sentence(reason) : `The server refused: ${reason}.`;
}
