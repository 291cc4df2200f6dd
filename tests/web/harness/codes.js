/**
 * Runs the `codes` section of docs/protocol-vectors.json against the real
 * /js/protocol/codes.js, with the word list the test hands in (the mnemonic package's),
 * and lists every case that came out differently.
 */

import { CodeWords, InvalidCode, formatCode, parseSlot } from "/js/protocol/codes.js";
import { deepEqual } from "./common.js";

/** The InvalidCode `run` threw, or a description of what happened instead. */
function refusal(run) {
  try {
    return `accepted as ${JSON.stringify(run())}`;
  } catch (error) {
    return error instanceof InvalidCode ? error : `threw ${error.name}: ${error.message}`;
  }
}

export function runCodes({ codes, words }) {
  const failures = [];
  const check = (ok, what) => ok || failures.push(what);
  const list = new CodeWords(words);
  for (const c of codes.accepted) {
    let got;
    try {
      got = list.parse(c.input);
    } catch (error) {
      failures.push(`code ${JSON.stringify(c.input)} (${c.why}) refused: ${error.message}`);
      continue;
    }
    const [slot, ...rest] = c.canonical.split("-");
    const expected = { slot: Number(slot), words: rest, canonical: c.canonical };
    check(deepEqual(got, expected), `code ${JSON.stringify(c.input)} (${c.why}) -> ${JSON.stringify(got)}`);
    check(formatCode(got.slot, got.words) === c.canonical, `format ${c.canonical}`);
  }
  for (const c of codes.refused) {
    const got = refusal(() => list.parse(c.input));
    if (!(got instanceof InvalidCode)) {
      failures.push(`code ${JSON.stringify(c.input)} (${c.why}): ${got}`);
    } else if (c.bad_part !== null) {
      // The refusal names the part at fault, as the person typed it (ASCII lower-cased).
      check(got.message.includes(`"${c.bad_part}"`), `code ${JSON.stringify(c.input)} (${c.why}): ${got.message}`);
    }
  }
  for (const c of codes.slots.accepted) {
    const got = refusal(() => parseSlot(c.input));
    check(got === `accepted as ${c.slot}`, `slot ${JSON.stringify(c.input)}: ${got}`);
  }
  for (const c of codes.slots.refused) {
    const got = refusal(() => parseSlot(c.input));
    check(got instanceof InvalidCode, `slot ${JSON.stringify(c.input)} (${c.why}): ${got}`);
  }
  for (const c of codes.complete) {
    const got = list.complete(c.prefix);
    check(deepEqual(got, c.words), `complete ${JSON.stringify(c.prefix)} -> ${got.length} words`);
  }
  return failures;
}

/** `count` codes from generate(): how often each bit of each word's index was set, and
 * whether every code was three words of the list. */
export function generated({ words, count }) {
  const list = new CodeWords(words);
  const index = new Map(words.map((word, i) => [word, i]));
  const bits = new Array(11).fill(0);
  let wellFormed = true;
  for (let i = 0; i < count; i++) {
    const code = list.generate();
    wellFormed &&= code.length === 3 && code.every((word) => index.has(word));
    for (const word of code) {
      for (let bit = 0; bit < 11; bit++) bits[bit] += (index.get(word) >> bit) & 1;
    }
  }
  return { wellFormed, bits };
}

/** What `new CodeWords(words)` says about a list that is not one. */
export function refusedList(words) {
  try {
    new CodeWords(words);
    return null;
  } catch (error) {
    return `${error.name}: ${error.message}`;
  }
}
