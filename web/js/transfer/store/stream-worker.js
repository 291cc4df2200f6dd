/**
 * The service worker behind stream.js: it turns a stream of received bytes into a real
 * browser download, so they go to disk as they arrive, even in a private window (whose
 * origin-private file system is kept in memory). Its scope is its own folder.
 *
 * A page posts `{id, stream, name, type, size}` (the ReadableStream transferred) on a
 * MessageChannel port, and is answered on that port once the download is ready to be
 * asked for; the page then opens DOWNLOAD + `<id>/<name>` (an iframe), and this worker
 * answers with the stream as an attachment. Each id is served once: another page of
 * this origin cannot ask for it again. While a download is open its page also posts
 * `{keepAlive: id}` now and then, which only keeps this worker running. Whether the download ends well is the stream's:
 * closed, it completes; errored, the browser fails it and removes what it wrote.
 * @module transfer/store/stream-worker
 */

/** Where downloads are asked for, under the scope; stream.js says the same. */
const DOWNLOAD = "download/";

/** Downloads posted and not yet asked for, by id. */
const waiting = new Map();

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("message", (event) => {
  if (!event.data.stream) return;
  const { id, stream, name, type, size } = event.data;
  waiting.set(id, { stream, name, type, size });
  event.ports[0].postMessage({ id });
});

/** `attachment` with the name (RFC 6266): `filename*` in UTF-8 (RFC 8187), and an ASCII
 * stand-in for any reader that knows only `filename`. */
function disposition(name) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

self.addEventListener("fetch", (event) => {
  const path = new URL(event.request.url).pathname;
  const base = new URL(DOWNLOAD, self.registration.scope).pathname;
  if (!path.startsWith(base)) return;
  const id = path.slice(base.length).split("/")[0];
  const download = waiting.get(id);
  waiting.delete(id);
  if (!download) {
    event.respondWith(new Response("This download is over, or was never here.", { status: 404 }));
    return;
  }
  const headers = {
    "Content-Disposition": disposition(download.name),
    "Content-Type": download.type || "application/octet-stream",
    "X-Content-Type-Options": "nosniff",
  };
  if (download.size !== null) headers["Content-Length"] = String(download.size);
  event.respondWith(new Response(download.stream, { headers }));
});
