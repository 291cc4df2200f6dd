"""The v2 code: slots, words, parsing and completion (sendit_protocol.codes)."""

from __future__ import annotations

import secrets

import pytest

from sendit_protocol.codes import (
    MAX_INPUT,
    SLOT_MAX,
    SLOT_MIN,
    Code,
    InvalidCode,
    complete,
    format_slot,
    generate_words,
    parse_code,
    parse_slot,
)
from sendit_protocol.words import WORDS, lookup


def test_the_list_is_bip39_english() -> None:
    assert len(WORDS) == 2048 and len(set(WORDS)) == 2048
    assert (WORDS[0], WORDS[1], WORDS[-1]) == ("abandon", "ability", "zoo")
    # What four-letter prefixes rely on.
    assert len({word[:4] for word in WORDS}) == 2048


def test_lookup_by_word_and_by_unique_prefix() -> None:
    assert lookup("river") == "river"
    assert lookup("rive") == "river"
    assert lookup("act") == "act"  # a word, though it begins others too
    assert lookup("acti") == "action"
    assert lookup("riv") is None  # too short to be a prefix: rival, river
    assert lookup("rivers") is None
    assert lookup("River") is None  # exact; parse_code lower-cases first


@pytest.mark.parametrize("text", ["1", "9", "10", "482", "9999"])
def test_wire_slots_accepted(text: str) -> None:
    assert format_slot(parse_slot(text)) == text


@pytest.mark.parametrize(
    "value", ["", "0", "0482", "10000", "12345", " 1", "1 ", "+1", "-1", "1.0", "١", "4821-river-fox-lunar", 4821, None]
)
def test_wire_slots_refused(value: object) -> None:
    with pytest.raises(InvalidCode):
        parse_slot(value)


@pytest.mark.parametrize("value", [0, SLOT_MAX + 1, -1, True, 1.0])
def test_format_slot_refuses_what_is_no_slot(value: object) -> None:
    with pytest.raises(InvalidCode):
        format_slot(value)  # type: ignore[arg-type]


def test_slot_bounds() -> None:
    assert (SLOT_MIN, SLOT_MAX) == (1, 9999)


def test_generated_words_use_the_given_randomness() -> None:
    picks = iter([0, 2047, 1000])
    assert generate_words(lambda n: next(picks)) == ("abandon", "zoo", WORDS[1000])
    words = generate_words()
    assert len(words) == 3 and all(word in WORDS for word in words)


def test_generated_words_draw_from_the_whole_list() -> None:
    bounds: list[int] = []

    def spy(n: int) -> int:
        bounds.append(n)
        return secrets.randbelow(n)

    generate_words(spy)
    assert bounds == [2048, 2048, 2048]


def test_code_forms() -> None:
    code = Code(slot=4821, words=("river", "fox", "lunar"))
    assert code.canonical == "4821-river-fox-lunar"
    assert code.password == b"4821-river-fox-lunar"
    assert parse_code(code.canonical) == code


def test_code_repr_keeps_the_words_out() -> None:
    code = parse_code("4821-river-fox-lunar")
    assert "river" not in repr(code) and "4821" in repr(code)


@pytest.mark.parametrize(
    "slot, words",
    [
        (0, ("river", "fox", "lunar")),
        (4821, ("rive", "fox", "lunar")),
        (4821, ("river", "fox")),
        (1, ("River", "fox", "lunar")),
    ],
)
def test_code_refuses_what_is_no_code(slot: int, words: tuple) -> None:
    with pytest.raises(InvalidCode):
        Code(slot=slot, words=words)


def test_parse_names_the_bad_part() -> None:
    with pytest.raises(InvalidCode, match='"fpx" is not one of the code words'):
        parse_code("4821-river-fpx-lunar")
    with pytest.raises(InvalidCode, match='"0" is not a code number'):
        parse_code("0-river-fox-lunar")
    with pytest.raises(InvalidCode, match="a code is a number and three words"):
        parse_code("4821-river-fox")


def test_parse_refuses_long_input_unread() -> None:
    padding = " " * (MAX_INPUT - len("1-river-fox-lunar"))
    assert parse_code("1-river-fox-lunar" + padding).canonical == "1-river-fox-lunar"
    with pytest.raises(InvalidCode, match="at most 100"):
        parse_code("1-river-fox-lunar" + padding + " ")
    # Counted in UTF-16 units, as JavaScript counts: an emoji is two.
    with pytest.raises(InvalidCode, match="at most 100"):
        parse_code("\U0001f600" * 50 + "x")


def test_complete() -> None:
    assert complete("riv") == ["rival", "river"]
    assert complete("RIV") == ["rival", "river"]
    assert complete("river") == ["river"]
    assert complete("qz") == []
    assert complete("") == list(WORDS)
    assert complete("İ") == []
