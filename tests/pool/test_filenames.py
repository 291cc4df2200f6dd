"""signal_server.pool.filenames: client names cleaned, and the download header built."""

from __future__ import annotations

import pytest
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from signal_server.pool.filenames import FALLBACK_NAME, MAX_NAME_BYTES, clean_name, content_disposition


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\photo.jpg", "photo.jpg"),
        ("/abs/path/", FALLBACK_NAME),
        ("evil\r\nSet-Cookie: x=1.txt", "evilSet-Cookie: x=1.txt"),
        ("tab\there.txt", "tabhere.txt"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        # A right-to-left override would show "invoice_fdp.exe" as "invoice_exe.pdf".
        ("invoice_\u202efdp.exe", "invoice_fdp.exe"),
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("line\u2028sep.txt", "line sep.txt"),
        ("  spaced   out  .txt  ", "spaced out .txt"),
        ("x.exe. . .", "x.exe"),
        (".hidden", "hidden"),
        ("..", FALLBACK_NAME),
        ("", FALLBACK_NAME),
        (None, FALLBACK_NAME),
        ("\x01\x02", FALLBACK_NAME),
        ("Cafe\u0301.txt", "Café.txt"),  # NFC: one é, as the user typed it
        ("日本語のファイル.txt", "日本語のファイル.txt"),
        ("surrogate\udcff.txt", "surrogate.txt"),
    ],
)
def test_clean_name(raw: str | None, cleaned: str) -> None:
    assert clean_name(raw) == cleaned


def test_long_names_fit_and_keep_their_extension() -> None:
    name = clean_name("é" * 300 + ".tar.gz")
    assert name.endswith("é.gz")
    assert len(name.encode()) <= MAX_NAME_BYTES
    no_extension = clean_name("ß" * 300)
    assert no_extension == "ß" * (MAX_NAME_BYTES // 2)
    # A "extension" that long is part of the name.
    long_tail = clean_name("a." + "b" * 400)
    assert long_tail == ("a." + "b" * 400)[:MAX_NAME_BYTES]


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        'quote"d.txt',
        "back\\slash.txt",
        "Grüße 你好 🙂.txt",
        "semi;colon=x.txt",
        "percent%20.txt",
        "apostrophe's.txt",
    ],
)
def test_content_disposition_round_trips_through_a_client_parser(name: str) -> None:
    header = content_disposition(name)
    assert header.isascii() and "\r" not in header and "\n" not in header
    disposition, params = parse_content_disposition(header)
    assert disposition == "attachment"
    assert content_disposition_filename(params) == name
    # Old clients read only filename=: an ASCII stand-in without quotes to break out of.
    fallback = params["filename"]
    assert fallback.isascii() and '"' not in fallback and "\\" not in fallback
