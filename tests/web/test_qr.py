"""The QR Code encoder (web/js/ui/qr.js), run in Chromium and checked against segno.

segno is an independent, standard-conforming encoder: for the same text, level,
version and mask both must produce the very same modules, and with the mask left
to the penalty rules both must pick the same one. The page's side is
tests/web/harness/qr.js.
"""

from __future__ import annotations

import random
import string
from typing import Any

import pytest
import segno

from helpers.browser import run_harness
from helpers.server import RunningServer

LEVELS = "LMQH"

TEXTS = {
    "short-url": "http://127.0.0.1:8080/#K7QM4-XTB9R",
    "single-char": "7",
    "url-100": "https://sendit.example.org/receive/#K7QM4-XTB9R?name=holiday-photos&size=4815162342&via=lan&x=012345",
    "utf8": "Grüße aus Zürich — «日本語» ✓ 📁 ça marche",
    # Long enough for version 7 or above at every level: the version blocks appear.
    "long-300": ("SendIt moves files directly between two browsers; the server only introduces them. " * 4)[:300],
}

# Printable ASCII in no pattern, so that each byte lands in the symbol one place
# only: a misplaced codeword or a wrong interleaving cannot go unnoticed.
VARIED = "".join(random.Random(18004).choices(string.ascii_letters + string.digits + string.punctuation + " ", k=3000))

# Bytes a version-40 symbol holds in byte mode (the standard's capacity table).
MAX_BYTES = {"L": 2953, "M": 2331, "Q": 1663, "H": 1273}


def reference(text: str, level: str, *, mask: int | None = None, version: int | None = None) -> segno.QRCode:
    return segno.make(
        text,
        error=level.lower(),
        version=version,
        mode="byte",
        mask=mask,
        encoding="utf-8",
        micro=False,
        boost_error=False,
    )


# Rows of the symbol as strings of 0/1, which compare (and print) compactly.
def rows(qr: segno.QRCode) -> list[str]:
    return ["".join("1" if m else "0" for m in row) for row in qr.matrix]


def first_difference(ours: list[str], theirs: list[str]) -> str:
    if len(ours) != len(theirs):
        return f"size {len(ours)} vs segno {len(theirs)}"
    cells = [(r, c) for r, (a, b) in enumerate(zip(ours, theirs, strict=True)) for c in range(len(a)) if a[c] != b[c]]
    return f"{len(cells)} modules differ, first (row, column) {cells[:5]}"


@pytest.fixture(autouse=True)
def standard_segno(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes segno pad the bit stream as ISO/IEC 18004 7.4.10 says.

    segno 1.6 adds eight zero bits when the stream already ends on a codeword
    boundary (heuer/segno#123, #148), which in byte mode it always does after the
    terminator: an extra 0x00 before the pad codewords, harmless to readers but not
    the standard's bit stream. This restores the standard's rule: zero bits only up
    to the next boundary.
    """

    def write_padding_bits(buff: Any, version: int, length: int) -> None:
        buff.extend([0] * (-length % 8))

    monkeypatch.setattr(segno.encoder, "write_padding_bits", write_padding_bits)


@pytest.fixture
async def page(server: RunningServer, new_person: Any) -> Any:
    page = await (await new_person()).new_page()
    await page.goto(server.url + "/")
    return page


def test_texts_are_what_they_claim() -> None:
    assert len(TEXTS["url-100"]) == 100
    assert len(TEXTS["long-300"].encode()) == 300
    assert len(TEXTS["utf8"].encode()) > len(TEXTS["utf8"])
    for level in LEVELS:
        assert reference(TEXTS["long-300"], level).version >= 7


@pytest.mark.parametrize("name", list(TEXTS))
async def test_matches_segno_for_every_mask_and_level(page: Any, name: str) -> None:
    text = TEXTS[name]
    results = await run_harness(page, "qr.js", "everyMask", {"text": text, "levels": LEVELS})
    assert len(results) == len(LEVELS) * 9
    failures = []
    for result in results:
        level, mask = result["ecl"], result["mask"]
        expected = reference(text, level, mask=mask)
        assert result["size"] == len(result["rows"]) == 17 + 4 * result["version"]
        if result["version"] != expected.version:
            failures.append(f"{level} mask={mask}: version {result['version']}, segno {expected.version}")
        elif result["rows"] != rows(expected):
            failures.append(
                f"{level} mask={mask} (segno chose {expected.mask}): "
                + first_difference(result["rows"], rows(expected))
            )
    assert not failures, "\n".join(failures)


async def test_every_version_and_level_at_full_capacity(page: Any) -> None:
    """Fills each of the 160 version/level combinations to its last byte.

    That pins the capacity, block structure and alignment positions of every version,
    and whether one byte more forces the next version (or, at 40, an error).
    """
    results = await run_harness(page, "qr.js", "fullCapacity", {"data": VARIED, "levels": LEVELS})
    assert len(results) == 160
    failures = []
    for result in results:
        level, version, capacity = result["ecl"], result["version"], result["capacity"]
        where = f"{level} version {version} ({capacity} bytes)"
        assert result["got"] == version, where
        assert result["next"] == (version + 1 if version < 40 else None), where
        with pytest.raises(segno.DataOverflowError):
            reference(VARIED[: capacity + 1], level, version=version)
        expected = reference(VARIED[:capacity], level, mask=result["mask"], version=version)
        if result["rows"] != rows(expected):
            failures.append(
                f"{where} mask={result['mask']} (segno {expected.mask}): "
                + first_difference(result["rows"], rows(expected))
            )
    assert not failures, "\n".join(failures)


async def test_min_version_pads_a_short_text(page: Any) -> None:
    got = await run_harness(page, "qr.js", "encodeRows", {"text": "A", "ecl": "H", "minVersion": 9})
    expected = reference("A", "H", version=9)
    assert got["version"] == 9
    assert got["rows"] == rows(expected), first_difference(got["rows"], rows(expected))


async def test_too_long_for_version_40_throws(page: Any) -> None:
    for level, limit in MAX_BYTES.items():
        assert reference("x" * limit, level).version == 40
        with pytest.raises(segno.DataOverflowError):
            reference("x" * (limit + 1), level)
    results = await run_harness(page, "qr.js", "tooLong", MAX_BYTES)
    for level, limit in MAX_BYTES.items():
        assert results[level]["fits"] == {"version": 40}, level
        message = results[level]["over"].get("error", "")
        assert "too long" in message and str(limit + 1) in message, (level, message)
    assert "too long" in results["utf8"].get("error", ""), results["utf8"]
    assert "too long" in results["svg"].get("error", ""), results["svg"]


async def test_bad_options_throw(page: Any) -> None:
    errors = await run_harness(page, "qr.js", "badOptions")
    assert all(errors), errors
    assert all(message.startswith("QR: ") for message in errors), errors


async def test_svg_renders_the_modules(page: Any) -> None:
    text, border = TEXTS["short-url"], 3
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    result = await run_harness(page, "qr.js", "renderSvg", {"text": text, "border": border})
    assert result["parseErrors"] == 0, result["markup"]
    assert result["root"] == "svg" and result["namespace"] == "http://www.w3.org/2000/svg"
    extent = result["size"] + 2 * border
    assert result["viewBox"] == f"0 0 {extent} {extent}"
    assert result["shapeRendering"] == "crispEdges"
    assert result["elements"] == ["path"]
    assert result["styled"] == 0 and "style" not in result["markup"]
    assert result["width"] == result["height"] == extent * 4
    assert result["geometry"] == 0
    assert result["raster"] == 0
    assert not violations
    # The default quiet zone is the standard's four modules.
    default = await run_harness(page, "qr.js", "defaultSvg", {"text": text})
    size = len(reference(text, "M").matrix)
    assert f'viewBox="0 0 {size + 8} {size + 8}"' in default
