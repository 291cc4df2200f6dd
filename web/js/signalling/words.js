/**
 * The code words, as the server serves them (`GET /words.json`, the BIP-39 English
 * list): fetched once per page, never a copy of the list in the page's own code.
 * @module signalling/words
 */

import { CodeWords } from "../protocol/codes.js";

const loading = new Map();

/**
 * The CodeWords of the server at `origin`.
 * @param {string} origin
 * @returns {Promise<CodeWords>}
 */
export function codeWords(origin) {
  if (!loading.has(origin)) {
    const words = fetch(`${origin}/words.json`).then(async (response) => {
      if (!response.ok) throw new Error(`the code words could not be loaded (HTTP ${response.status})`);
      return new CodeWords(await response.json());
    });
    // A failed load is tried again on the next call.
    words.catch(() => loading.delete(origin));
    loading.set(origin, words);
  }
  return loading.get(origin);
}
