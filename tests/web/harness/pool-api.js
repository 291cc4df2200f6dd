/**
 * Runs the real /js/pool/api.js for tests/web/test_pool_api.py: its pure helpers on
 * the test's data, and its calls against the real server that serves the page.
 */

import * as pool from "/js/pool/api.js";

/** The file name each Content-Disposition header (or null, no header) gives a download. */
export const attachmentNames = (headers) => headers.map(pool.attachmentName);

/** sortedTypes of `types` and of nothing; explain()'s words for each refusal, by its id. */
export function typesAndWords({ types, refusals }) {
  const said = ([errorId, message]) => [errorId, pool.explain(new pool.PoolError(400, message, errorId))];
  return {
    types: pool.sortedTypes(types),
    none: pool.sortedTypes(undefined),
    words: Object.fromEntries(Object.entries(refusals).map(said)),
  };
}

/** How an API call ended, as plain data. */
function outcome(promise) {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error) => {
      const isPoolError = error instanceof pool.PoolError;
      return { ok: false, status: error.status, errorId: error.errorId, message: error.message, isPoolError };
    },
  );
}

/**
 * Two uploads and the draws between them, against a pool that takes at most 1000 bytes:
 * alone in the pool, someone else's file, a spent token, too large, refused, the stats.
 */
export async function apiCalls() {
  const file = (text, name) => new File([text], name);
  const sent = [];
  const mine = await pool.uploadFile(file("mine\n", "mine.txt"), (n) => sent.push(n));
  const alone = await outcome(pool.downloadRandom(mine.token));
  await pool.uploadFile(file("theirs, grüße\n", "grüße.txt"));
  const received = [];
  const got = await pool.downloadRandom(mine.token, (n, total) => received.push([n, total]));
  return {
    mine,
    sent,
    alone,
    received,
    got: { name: got.name, type: got.type, size: got.size, text: await got.blob.text(), blobType: got.blob.type },
    spent: await outcome(pool.downloadRandom(mine.token)),
    tooLarge: await outcome(pool.uploadFile(file("x".repeat(5000), "big.txt"))),
    refused: await outcome(pool.uploadFile(file("\x7fELF and so on", "prog"))),
    stats: await pool.fetchStats(),
  };
}
