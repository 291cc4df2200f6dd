/**
 * The v2 code, `SLOT-word-word-word` (docs/PROTOCOL.md, the code): reading what a person
 * typed, completing words as they type, and drawing the words of a new code. The word
 * list is data the page fetches (`/words.json`, the BIP-39 English list), never a copy
 * of it here.
 * @module protocol/codes
 */

/** What a person typed cannot be a code; the message says why in their words. */
export class InvalidCode extends Error {}

/** Longer input is refused unread (UTF-16 units, as `maxlength` counts). */
export const MAX_INPUT = 100;
const WORDS_IN_CODE = 3;
const LIST_LENGTH = 2048;
const PREFIX_LENGTH = 4;
const MAX_SLOT = 9999;
const SEPARATORS = /[ \t\-_.\u00a0]+/;
const SHAPE = "a code is a number and three words";

/** Only ASCII letters: Unicode's case mapping would make words of what is not one. */
const lowerAscii = (text) => text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());

/** The canonical form of a slot and its words: `4821-river-fox-lunar`. */
export const formatCode = (slot, words) => [String(slot), ...words].join("-");

/**
 * A slot as the wire carries it (the server's `create` answer), checked strictly: a
 * string of 1 to 4 ASCII digits without a leading zero.
 * @param {unknown} text
 * @returns {number}
 */
export function parseSlot(text) {
  if (typeof text !== "string" || !/^[1-9][0-9]{0,3}$/.test(text)) {
    throw new InvalidCode(`a slot is a number from 1 to ${MAX_SLOT}, without leading zeros`);
  }
  return Number(text);
}

/** The code words (the list the page fetched) and what is done with them. */
export class CodeWords {
  #words;
  #known;

  /** @param {string[]} words the list, in its order (the page's `/words.json`) */
  constructor(words) {
    const valid = Array.isArray(words) && words.every((word) => typeof word === "string" && /^[a-z]+$/.test(word));
    if (!valid || words.length !== LIST_LENGTH || new Set(words).size !== LIST_LENGTH) {
      throw new TypeError(`a code word list is ${LIST_LENGTH} distinct lower-case words`);
    }
    this.#words = Object.freeze([...words]);
    this.#known = new Set(words);
  }

  /**
   * What a person typed, read as a code: separators, case and four-letter prefixes
   * forgiven; anything else refused with an InvalidCode naming what is wrong.
   * @param {string} text
   * @returns {{slot: number, words: string[], canonical: string}}
   */
  parse(text) {
    if (typeof text !== "string") throw new InvalidCode(SHAPE);
    if (text.length > MAX_INPUT) throw new InvalidCode(`a code is at most ${MAX_INPUT} characters`);
    const parts = lowerAscii(text)
      .split(SEPARATORS)
      .filter((part) => part !== "");
    if (parts.length !== 1 + WORDS_IN_CODE) throw new InvalidCode(SHAPE);
    const [number, ...typed] = parts;
    const slot = /^[0-9]{1,4}$/.test(number) ? Number(number) : 0;
    if (slot < 1 || slot > MAX_SLOT) {
      throw new InvalidCode(`"${number}" is not a code number: a code begins with a number from 1 to ${MAX_SLOT}`);
    }
    const words = typed.map((part) => this.#word(part));
    return { slot, words, canonical: formatCode(slot, words) };
  }

  #word(part) {
    if (this.#known.has(part)) return part;
    if (/^[a-z]+$/.test(part) && part.length >= PREFIX_LENGTH) {
      const matches = this.complete(part);
      if (matches.length === 1) return matches[0];
    }
    throw new InvalidCode(`"${part}" is not one of the code words`);
  }

  /**
   * The words that begin with `prefix` (ASCII letters lower-cased), in list order.
   * @param {string} prefix
   * @returns {string[]}
   */
  complete(prefix) {
    const start = lowerAscii(prefix);
    return this.#words.filter((word) => word.startsWith(start));
  }

  /**
   * Three words for a new code, each drawn independently and uniformly from the list by
   * the browser's CSPRNG (11 bits each: the list has 2^11 words).
   * @returns {string[]}
   */
  generate() {
    const draws = crypto.getRandomValues(new Uint16Array(WORDS_IN_CODE));
    return Array.from(draws, (draw) => this.#words[draw % LIST_LENGTH]);
  }
}
