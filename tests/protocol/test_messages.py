"""sendit_protocol.messages: the manifest split into messages that fit, and put together again."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendit_protocol.messages import (
    MAX_BLOCKS,
    MAX_FILES,
    MAX_MESSAGE,
    MAX_NAME,
    FileEntry,
    InvalidMessage,
    ManifestAssembly,
    ResumeAssembly,
    ResumeEntry,
    encode_message,
    parse_message,
    split_accept,
    split_manifest,
)


def entries(count: int, name_length: int = 8, letter: str = "a") -> list[FileEntry]:
    return [FileEntry(name=f"{i:05d}".ljust(name_length, letter), size=i, type="text/plain") for i in range(count)]


def round_trip(files: list[FileEntry]) -> tuple[list[str], list[FileEntry] | None]:
    """The texts sent for ``files``, and what a receiver puts together from them."""
    texts = [encode_message(part) for part in split_manifest(files, resume=False)]
    assembly = ManifestAssembly()
    result = None
    for text in texts:
        assert result is None, "parts after the manifest was complete"
        result = assembly.add(parse_message(text))
    return texts, result


def test_a_small_offer_is_one_manifest() -> None:
    texts, result = round_trip(entries(3))
    assert len(texts) == 1
    assert result == entries(3)


@pytest.mark.parametrize(
    "files",
    [
        entries(MAX_FILES, name_length=200),
        # Each character of a name outside ASCII is sent as \uXXXX: 6 bytes of UTF-8.
        entries(300, name_length=MAX_NAME, letter="\u00e9"),
        entries(300, name_length=MAX_NAME // 2, letter="\U0001f600"),
    ],
    ids=["10000 files of 200 characters", "longest names, escaped", "longest names of emoji"],
)
def test_a_large_offer_is_split_so_that_every_message_fits(files: list[FileEntry]) -> None:
    texts, result = round_trip(files)
    assert len(texts) > 1
    assert all(len(text.encode()) <= MAX_MESSAGE for text in texts)
    # Every part but the last is as full as it can be: the next entry would not have fit.
    assert all(len(text.encode()) > MAX_MESSAGE - 13_000 for text in texts[:-1])
    assert result == files


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=MAX_NAME), min_size=1, max_size=400))
def test_any_offer_round_trips_within_the_limit(lengths: list[int]) -> None:
    # Unique by their number; escaped as \uXXXX, each letter after it costs 6 bytes.
    files = [FileEntry(name=f"{i}-".ljust(length, "\u0416"), size=i, type="") for i, length in enumerate(lengths)]
    texts, result = round_trip(files)
    assert all(len(text.encode()) <= MAX_MESSAGE for text in texts)
    assert result == files


def test_a_part_after_the_last_is_refused() -> None:
    assembly = ManifestAssembly()
    assert assembly.add(parse_message(encode_message(split_manifest(entries(1), resume=False)[0]))) == entries(1)
    with pytest.raises(InvalidMessage, match="unexpected manifest while the manifest arrives"):
        assembly.add(parse_message(encode_message(split_manifest(entries(1), resume=False)[0])))


def test_the_whole_offer_is_checked_once_put_together() -> None:
    """Names unique across parts: a duplicate in the last part is found."""
    files = entries(3000, name_length=200)
    parts = split_manifest([*files, files[0]], resume=False)
    assert len(parts) > 1
    assembly = ManifestAssembly()
    with pytest.raises(InvalidMessage, match=f"the offer names {files[0].name} twice"):
        for part in parts:
            assembly.add(parse_message(encode_message(part)))


def test_what_a_receiver_holds_of_10000_files_splits_to_fit_and_comes_back_whole() -> None:
    files = [FileEntry(name=f"f{i}", size=2**53 - 1, type="") for i in range(MAX_FILES)]
    held = [ResumeEntry(index=i, blocks=MAX_BLOCKS, digest=f"{i:064x}") for i in range(MAX_FILES)]
    texts = [encode_message(part) for part in split_accept(held)]
    assert len(texts) > 1 and all(len(text) <= MAX_MESSAGE for text in texts)
    # Full parts: the next entry would not have fitted.
    assert all(len(text) > MAX_MESSAGE - 100 for text in texts[:-1])
    assembly = ResumeAssembly(files, parse_message(texts[0]))
    for text in texts[1:]:
        assert not assembly.complete
        assembly.add(parse_message(text))
    assert assembly.complete and list(assembly.entries.values()) == held
    with pytest.raises(InvalidMessage, match="while the accept's resume entries arrive"):
        assembly.add(parse_message(texts[-1]))


def test_holding_nothing_is_one_accept_that_says_so() -> None:
    assert split_accept([]) == [{"type": "accept", "resume_count": 0, "resume": []}]
    assert ResumeAssembly(entries(1), parse_message(encode_message(split_accept([])[0]))).complete
