/**
 * What the harness modules share: deadlines on waits, failures turned into plain data
 * (only plain data crosses back to the Python test), comparing plain data, and hex.
 */

/** Rejects if `promise` has not settled within `ms`: a guard, never a synchronisation. */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Waits until `condition()` holds, checking on every macrotask turn; throws after `ms`. */
export async function until(condition, what, ms) {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The message `promise` was rejected with, or null if it fulfilled. */
export const rejection = (promise) => promise.then(
  () => null,
  (error) => error.message,
);

/** The message `run()` threw, or null if it returned. */
export function thrown(run) {
  try {
    run();
    return null;
  } catch (error) {
    return error.message;
  }
}

export const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

const sortKeys = (v) =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
      : v;

/** Plain data equal whatever the order of object keys. */
export const deepEqual = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
