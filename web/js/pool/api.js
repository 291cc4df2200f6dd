/**
 * The exchange pool's API as the browser uses it: statistics, an upload with progress,
 * a random download, and what each refusal means in plain words. No DOM here.
 * @module pool/api
 */

/** A refusal by the pool's API; `status` is the HTTP status, 0 when no answer came. */
export class PoolError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "PoolError";
    this.status = status;
  }
}

const UNREACHABLE = "could not reach the server";

/** The `{error}` of a JSON refusal, or a line naming the status. */
function refusalMessage(status, body) {
  return typeof body?.error === "string" ? body.error : `the server answered ${status}`;
}

async function refusal(response) {
  const body = await response.json().catch(() => null);
  return new PoolError(response.status, refusalMessage(response.status, body));
}

async function request(url) {
  try {
    return await fetch(url, { cache: "no-store" });
  } catch {
    throw new PoolError(0, UNREACHABLE);
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
      else reject(new PoolError(xhr.status, refusalMessage(xhr.status, xhr.response)));
    });
    xhr.addEventListener("error", () => reject(new PoolError(0, UNREACHABLE)));
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
    throw new PoolError(0, "the download was cut off");
  }
  if (received !== total) throw new PoolError(0, "the download was cut off");
  const name = attachmentName(response.headers.get("Content-Disposition"));
  return { name, type, size: received, blob: new Blob(chunks, { type }) };
}

/** `{type: count}` as `[type, count]` pairs, the most common first. */
export function sortedTypes(types) {
  return Object.entries(types ?? {}).sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
}

/** What a refusal means for the person, in a sentence. */
export function explain(error) {
  const reason = error?.message ?? String(error);
  switch (error?.status) {
    case 0:
      return `Could not finish: ${reason}. Check your connection and try again.`;
    case 400:
      return `The server could not take this: ${reason}.`;
    case 403:
      return "This download token was already used (or is unknown). Give a file to get a new one.";
    case 404:
      return "There is no file from someone else in the pool yet. Your token is kept: try again in a moment.";
    case 408:
      return "The upload was too slow and was cut off; nothing was kept. Try again on a steadier connection.";
    case 413:
      return `This file is too large: ${reason.replace(/^the file is too large: /, "")}.`;
    case 415:
      return `This type of file is not taken: ${reason}.`;
    case 503:
      return "The server could not send a file just now. Your token is kept: try again in a moment.";
    case 507:
      return "The pool is full right now. Try again once someone has taken a file.";
    default:
      return `The server refused: ${reason}.`;
  }
}
