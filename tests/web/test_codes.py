"""web/js/protocol/codes.js against docs/protocol-vectors.json ``codes``, in Chromium
(the runner is tests/web/harness/codes.js), with the word list from the mnemonic
package, as the page gets it from the server's /words.json."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from mnemonic import Mnemonic

from helpers.browser import run_harness
from helpers.vectors import VECTORS

WORDS: list[str] = Mnemonic("english").wordlist
CODES = VECTORS["codes"]


def test_the_list_is_the_one_the_vectors_name() -> None:
    assert hashlib.sha256("\n".join(WORDS).encode("ascii")).hexdigest() == CODES["words"]["sha256"]


async def test_js_codes_match_vectors(page: Any) -> None:
    assert await run_harness(page, "codes.js", "runCodes", {"codes": CODES, "words": WORDS}) == []


async def test_js_codes_runner_can_fail(page: Any) -> None:
    """A corrupted case of each kind must be reported, or the test above proves nothing."""
    broken = copy.deepcopy(CODES)
    broken["accepted"] = [{"input": "4821-rive-fox-lunar", "canonical": "4821-rival-fox-lunar", "why": "x"}]
    broken["refused"] = [
        {"input": "4821-river-fox-lunar", "why": "a good code", "bad_part": None},
        {"input": "4821-fpx-fox-lunar", "why": "names another part", "bad_part": "fox"},
    ]
    broken["slots"] = {"accepted": [{"input": "0482", "slot": 482}], "refused": [{"input": "482", "why": "x"}]}
    broken["complete"] = [{"prefix": "riv", "words": ["river"]}]
    failures = await run_harness(page, "codes.js", "runCodes", {"codes": broken, "words": WORDS})
    # The accepted case fails twice (parse and format), every other case once.
    assert len(failures) == 7, failures


async def test_generate_draws_three_words_with_every_bit_of_their_index_even(page: Any) -> None:
    """Each of the 11 bits of a word's index is set about half the time: a draw that
    used fewer bits, or a biased one, would leave a bit far off. With 9,000 words, a
    fair bit falls outside 45..55 % with a probability below 1e-20."""
    result = await run_harness(page, "codes.js", "generated", {"words": WORDS, "count": 3000})
    assert result["wellFormed"]
    assert all(0.45 < count / 9000 < 0.55 for count in result["bits"]), result["bits"]


async def test_a_list_that_is_not_the_word_list_is_refused(page: Any) -> None:
    for words in [WORDS[:-1], [*WORDS[:-1], WORDS[0]], [*WORDS[:-1], "Zoo"], None, {"0": "abandon"}]:
        refused = await run_harness(page, "codes.js", "refusedList", words)
        assert refused == "TypeError: a code word list is 2048 distinct lower-case words"
    assert await run_harness(page, "codes.js", "refusedList", WORDS) is None
