"""signal_server.signalling.codes: generating, displaying and parsing codes (PROTOCOL.md section 1)."""

from __future__ import annotations

import math
import random
import re
from collections import Counter

import pytest

from signal_server.signalling.codes import (
    ALPHABET,
    CODE_LENGTH,
    MAX_INPUT_LENGTH,
    InvalidCode,
    format_code,
    generate_code,
    normalize_code,
)

CANONICAL = re.compile(r"[0-9A-HJKMNP-TV-Z]{10}")


def test_codes_alphabet_is_crockford_base32() -> None:
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_codes_carry_at_least_40_bits() -> None:
    assert CODE_LENGTH == 10
    assert math.log2(len(ALPHABET)) * CODE_LENGTH >= 40
    assert len(ALPHABET) ** CODE_LENGTH == 2**50


def test_codes_generated_in_canonical_form() -> None:
    for _ in range(500):
        code = generate_code()
        assert CANONICAL.fullmatch(code), code
        assert normalize_code(code) == code


def test_codes_generated_are_distinct_and_uniform() -> None:
    codes = [generate_code() for _ in range(3200)]
    assert len(set(codes)) == len(codes)
    # 3200 codes, 10 positions: each symbol is expected 100 times per position,
    # 1000 times overall (standard deviation about 31): a wide, never-flaky band.
    overall = Counter("".join(codes))
    assert set(overall) == set(ALPHABET)
    assert all(700 <= count <= 1300 for count in overall.values()), overall
    for position in range(CODE_LENGTH):
        at_position = Counter(code[position] for code in codes)
        assert len(at_position) == 32
        assert max(at_position.values()) < 200, (position, at_position)


def test_codes_generated_do_not_come_from_the_random_module() -> None:
    random.seed(1234)
    first = generate_code()
    random.seed(1234)
    assert generate_code() != first


def test_codes_display_form_is_two_groups_of_five() -> None:
    assert format_code("K7QM4XTB9R") == "K7QM4-XTB9R"
    for _ in range(100):
        code = generate_code()
        shown = format_code(code)
        assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", shown)
        assert normalize_code(shown) == code


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM4XTB9R",
        "K7QM4-XTB9R",
        "k7qm4-xtb9r",
        "K7qM4xTb9R",
        " K7QM4 XTB9R ",
        "K 7 Q M 4 X T B 9 R",
        "K7QM4\tXTB9R",
        "K7QM4_XTB9R",
        "K7QM4.XTB9R",
        "K7QM4\u00a0XTB9R",
        "K-7-Q-M-4--X-T-B-9-R",
        "--K7QM4--XTB9R--",
    ],
)
def test_codes_normalize_ignores_case_and_separators(typed: str) -> None:
    assert normalize_code(typed) == "K7QM4XTB9R"


@pytest.mark.parametrize(
    "typed, canonical",
    [
        ("ILOIL-oilo1", "1101101101"),
        ("O0O0O-o0o0o", "0000000000"),
        ("AbCdE-fGhIj", "ABCDEFGH1J"),
        ("K7QM4-XTB9l", "K7QM4XTB91"),
    ],
)
def test_codes_normalize_reads_lookalikes(typed: str, canonical: str) -> None:
    assert normalize_code(typed) == canonical


def test_codes_normalize_refuses_input_over_40_characters() -> None:
    padded = "K7QM4-XTB9R".ljust(MAX_INPUT_LENGTH)
    assert MAX_INPUT_LENGTH == 40
    assert normalize_code(padded) == "K7QM4XTB9R"
    with pytest.raises(InvalidCode):
        normalize_code(padded + " ")
    with pytest.raises(InvalidCode):
        normalize_code("-" * 1000 + "K7QM4XTB9R")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "-----",
        "K7QM4-XTB9",  # 9 symbols
        "K7QM4-XTB9RR",  # 11 symbols
        "K7QM4",
        "K7QM4XTB9RK7QM4XTB9R",
    ],
)
def test_codes_normalize_refuses_wrong_length(typed: str) -> None:
    with pytest.raises(InvalidCode):
        normalize_code(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM4-XTB9U",  # U is not in the alphabet and has no look-alike
        "K7QM4-XTB9!",
        "K7QM4/XTB9R",
        "K7QM4:XTB9R",
        "K7QM4\nXTB9R",
        "K7QM4-XTB9\u00e9",
        "K7QM4-XTB9\U0001f600",
        "K7QM4-XTB9\u0661",  # an Arabic-Indic digit one
    ],
)
def test_codes_normalize_refuses_bad_characters(typed: str) -> None:
    with pytest.raises(InvalidCode):
        normalize_code(typed)


@pytest.mark.parametrize("value", [None, 1234567890, b"K7QM4XTB9R", ["K7QM4XTB9R"]])
def test_codes_normalize_refuses_non_strings(value: object) -> None:
    with pytest.raises(InvalidCode):
        normalize_code(value)  # type: ignore[arg-type]


def test_codes_invalid_code_is_a_value_error() -> None:
    assert issubclass(InvalidCode, ValueError)
