"""signal_server.options: one table of options, from which the command line, the
configuration and README.md's option tables all come."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from signal_server.config import ServerConfig, build_parser
from signal_server.options import GROUP_TITLES, OPTIONS, Group, format_size, markdown_table, parse_size, with_tables

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("group", list(GROUP_TITLES))
def test_readme_shows_each_group_of_options_exactly_as_the_table_has_them(group: Group) -> None:
    # A whole block between blank lines: no row of the README's table can be missing,
    # added or worded otherwise.
    table = markdown_table(group)
    assert f"\n\n{table}\n\n" in README.read_text(), (
        f"README.md's table differs (`python -m signal_server.options README.md` rewrites it); it should read:\n{table}"
    )


def test_the_tables_are_rewritten_in_place_and_nothing_else_changes() -> None:
    text = README.read_text()
    assert with_tables(text) == text
    stale = text.replace("| `--code-ttl SECONDS` |", "| `--code-ttl SECONDS` | stale |", 1)
    assert stale != text and with_tables(stale) == text


def test_every_setting_has_exactly_one_option() -> None:
    fields = [option.field for option in OPTIONS]
    assert sorted(fields) == sorted(field.name for field in dataclasses.fields(ServerConfig))
    assert len({option.flag for option in OPTIONS}) == len({option.env for option in OPTIONS}) == len(OPTIONS)
    assert all(option.env.startswith("SENDIT_") for option in OPTIONS)


def test_help_names_each_variable_and_default() -> None:
    text = " ".join(build_parser().format_help().split())
    for option in OPTIONS:
        assert f"{option.flag} {option.metavar}" in text
        assert f"{option.env}" in text
        assert f"default {option.shown_default or option.default or 'none'})" in text


@pytest.mark.parametrize("size", [1, 999, 1000, 50_000_000, 2_000_000_000, 1024, 5 * 1000**3 + 1])
def test_sizes_shown_read_back_as_the_same_size(size: int) -> None:
    assert parse_size(format_size(size)) == size


def test_sizes_are_shown_in_the_largest_unit_that_fits() -> None:
    assert [format_size(size) for size in (50_000_000, 2_000_000_000, 500_000, 1024)] == [
        "50MB",
        "2GB",
        "500kB",
        "1024",
    ]
