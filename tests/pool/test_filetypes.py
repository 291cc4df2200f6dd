"""signal_server.pool.filetypes: the allowlist, judged by content and by risky names."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import tracemalloc
import uuid
import zipfile
from typing import Callable

import pytest

from signal_server.pool.filetypes import HEAD_SIZE, KNOWN_TYPES, TEXT_CHUNK, TypeRefused, check_name, identify

PADDING = bytes(range(256)) * 4  # binary filler: not text, so only the signature decides


def kind(data: bytes) -> str:
    return identify(io.BytesIO(data))


def refusal(data: bytes) -> str:
    with pytest.raises(TypeRefused) as refused:
        kind(data)
    return str(refused.value)


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            # OpenDocument and EPUB store "mimetype" first and uncompressed.
            archive.writestr(name, data, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def ole(clsid: str, sector_shift: int = 9, first_directory_sector: int = 1) -> bytes:
    """A compound file with the given root class id, its directory at a later sector."""
    sector = 1 << sector_shift
    header = bytearray(sector)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HH", header, 0x1A, 0x3E, 3 if sector_shift == 9 else 4)
    struct.pack_into("<H", header, 0x1E, sector_shift)
    struct.pack_into("<I", header, 0x30, first_directory_sector)
    root = bytearray(128)
    root[:10] = "Root Entry".encode("utf-16-le")[:10]
    root[0x50:0x60] = uuid.UUID(clsid).bytes_le
    directory = bytes(root) + bytes(sector - 128)
    return bytes(header) + bytes(sector) * first_directory_sector + directory


MSI = "000c1084-0000-0000-c000-000000000046"
WORD = "00020906-0000-0000-c000-000000000046"
EXCEL = "00020820-0000-0000-c000-000000000046"
POWERPOINT = "64818d10-4f9b-11cf-86ea-00aa00b929e8"


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"GIF87a", "image/gif"),
        (b"RIFF\x00\x10\x00\x00WEBPVP8 ", "image/webp"),
        (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"),
        (b"\x00\x00\x01\x00\x01\x00", "image/x-icon"),
        (b"8BPS\x00\x01", "image/vnd.adobe.photoshop"),
        (b"\x00\x00\x00\x1cftypheic", "image/heic"),
        (b"\x00\x00\x00\x1cftypavif", "image/avif"),
        (b"ID3\x04\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64", "audio/mpeg"),
        (b"\xff\xf1\x50\x80", "audio/aac"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"OggS\x00\x02" + b"\x01vorbis", "audio/ogg"),
        (b"OggS\x00\x02" + b"\x80theora", "video/ogg"),
        (b"RIFF\x00\x10\x00\x00WAVEfmt ", "audio/wav"),
        (b"FORM\x00\x10\x00\x00AIFF", "audio/aiff"),
        (b"MThd\x00\x00\x00\x06", "audio/midi"),
        (b"#!AMR\n", "audio/amr"),
        (b"RIFF\x00\x10\x00\x00AVI LIST", "video/x-msvideo"),
        (b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "video/quicktime"),
        (b"\x00\x00\x00\x20ftypzzzz", "application/mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
        (b"\x00\x00\x01\xba\x44", "video/mpeg"),
        (b"FLV\x01\x05", "video/x-flv"),
        (b"\xfd7zXZ\x00\x00", "application/x-xz"),
        (b"\x28\xb5\x2f\xfd\x24", "application/zstd"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
        (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
        (b"MSCF\x00\x00\x00\x00", "application/vnd.ms-cab-compressed"),
        (b"{\\rtf1\\ansi", "application/rtf"),
    ],
)
def test_signatures_give_their_type(head: bytes, expected: str) -> None:
    assert kind(head + PADDING) == expected
    assert expected in KNOWN_TYPES  # which a restart checks stored entries against


def test_real_archives_are_archives() -> None:
    assert kind(gzip.compress(b"hello")) == "application/gzip"
    assert kind(bz2.compress(b"hello")) == "application/x-bzip2"
    assert kind(bz2.compress(b"")) == "application/x-bzip2"
    assert kind(lzma.compress(b"hello")) == "application/x-xz"
    assert kind(zipped({"a.txt": b"hello"})) == "application/zip"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    assert kind(buffer.getvalue()) == "application/x-tar"


def test_a_damaged_zip_is_still_an_archive() -> None:
    assert kind(zipped({"a.txt": b"hello" * 100})[:60]) == "application/zip"


@pytest.mark.parametrize(
    "members, expected",
    [
        (
            {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"},
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            {"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"},
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<o/>"},
            "application/vnd.oasis.opendocument.text",
        ),
        (
            {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<o/>"},
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
        ({"mimetype": b"application/epub+zip", "META-INF/container.xml": b"<c/>"}, "application/epub+zip"),
        (
            {"mimetype": b"application/vnd.oasis.opendocument.presentation-template"},
            "application/vnd.oasis.opendocument.presentation-template",
        ),
        # A "mimetype" member cannot make a ZIP claim any type it likes: only known ones, exactly.
        ({"mimetype": b"application/x-msdownload"}, "application/zip"),
        ({"mimetype": b"application/vnd.oasis.opendocument.text\r\nX-Injected: 1"}, "application/zip"),
        ({"mimetype": b"application/vnd.oasis.opendocument.<img src=x onerror=alert(1)>"}, "application/zip"),
        ({"mimetype": b"application/vnd.oasis.opendocument.text "}, "application/zip"),
        # Nor where the specifications do not put it: first, and stored.
        ({"content.xml": b"<o/>", "mimetype": b"application/vnd.oasis.opendocument.text"}, "application/zip"),
    ],
)
def test_office_and_ebook_formats_told_apart_inside_zip(members: dict[str, bytes], expected: str) -> None:
    assert kind(zipped(members)) == expected
    assert expected in KNOWN_TYPES


def test_a_compressed_mimetype_is_not_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text")
    assert kind(buffer.getvalue()) == "application/zip"


def peak_memory(work: Callable[[], object]) -> int:
    """The most memory Python objects took while ``work`` ran, in bytes."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_no_zip_member_is_ever_inflated() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("mimetype", "w") as member:
            member.write(b"application/vnd.oasis.opendocument.text")
            for _ in range(64):
                member.write(bytes(1 << 20))
    assert len(bomb.getvalue()) < 1 << 20
    assert peak_memory(lambda: identify(bomb)) < 1 << 20


def many_members(last: str) -> bytes:
    """A ZIP64 archive of 65,536 empty members, then ``last``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(1 << 16):
            archive.writestr(zipfile.ZipInfo(str(number)), b"")
        archive.writestr(last, b"x")
    return buffer.getvalue()


def test_a_huge_directory_is_read_name_by_name_to_its_end() -> None:
    apk = io.BytesIO(many_members("AndroidManifest.xml"))

    def refused() -> None:
        with pytest.raises(TypeRefused, match="Android"):
            identify(apk)

    # Held as objects, as zipfile holds them, its names would take ~30 MB.
    assert peak_memory(refused) < 1 << 20


APK = {"AndroidManifest.xml": b"\x03\x00\x08\x00", "classes.dex": b"dex\n035\x00", "res/icon.png": b"png"}
JAR = {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\nMain-Class: a.Main\n", "a/Main.class": b"\xca\xfe\xba\xbe"}


@pytest.mark.parametrize(
    "members, what",
    [
        (APK, "Android package"),
        ({"classes.dex": b"dex\n035\x00"}, "Android package"),
        ({"AndroidManifest.xml": b"\x03\x00\x08\x00"}, "Android package"),
        ({"mimetype": b"application/epub+zip", **APK}, "Android package"),  # an EPUB in front
        (JAR, "Java archive"),
        ({"meta-inf/manifest.mf": b"Main-Class: a.Main\n", "A.CLASS": b"\xca\xfe\xba\xbe"}, "Java archive"),
    ],
)
def test_java_and_android_packages_refused_whatever_their_name(members: dict[str, bytes], what: str) -> None:
    assert what in refusal(zipped(members))


@pytest.mark.parametrize(
    "comment, after",
    [
        (b"PK\x05\x06" + bytes(30), b""),  # a comment that looks like an end record
        (b"", b"padding after the archive"),
        (b"PK\x05\x06" + bytes(30), b"and padding"),
    ],
)
def test_packages_found_whatever_follows_their_directory(comment: bytes, after: bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in APK.items():
            archive.writestr(name, data)
        archive.comment = comment
    assert "Android package" in refusal(buffer.getvalue() + after)


@pytest.mark.parametrize(
    "members",
    [
        {"a/Main.class": b"\xca\xfe\xba\xbe", "a/Main.java": b"class Main {}"},  # classes, no manifest
        {"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "res/a.txt": b"a"},  # a manifest, no classes
        {"app/src/main/AndroidManifest.xml": b"<manifest/>", "app/build.gradle": b""},  # an app's sources
    ],
)
def test_archives_that_only_look_like_packages_pass(members: dict[str, bytes]) -> None:
    assert kind(zipped(members)) == "application/zip"


@pytest.mark.parametrize(
    "clsid, sector_shift, expected",
    [
        (WORD, 9, "application/msword"),
        (EXCEL, 9, "application/vnd.ms-excel"),
        (POWERPOINT, 12, "application/vnd.ms-powerpoint"),
        ("00000000-0000-0000-0000-000000000000", 9, "application/x-ole-storage"),
    ],
)
def test_legacy_office_files_by_root_class(clsid: str, sector_shift: int, expected: str) -> None:
    assert kind(ole(clsid, sector_shift)) == expected


def test_windows_installer_refused_though_it_is_ole_like_office() -> None:
    assert "Windows Installer" in refusal(ole(MSI))
    assert "Windows Installer" in refusal(ole(MSI, sector_shift=12, first_directory_sector=3))


@pytest.mark.parametrize(
    "head, what",
    [
        (b"\x7fELF\x02\x01\x01", "ELF"),
        (b"MZ\x90\x00\x03\x00", "MZ/PE"),
        (b"\xfe\xed\xfa\xce", "Mach-O"),
        (b"\xfe\xed\xfa\xcf", "Mach-O"),
        (b"\xce\xfa\xed\xfe", "Mach-O"),
        (b"\xcf\xfa\xed\xfe", "Mach-O"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x02", "Mach-O universal binary or Java class"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x41", "Mach-O universal binary or Java class"),
        (b"\xca\xfe\xba\xbf\x00\x00\x00\x02", "Mach-O universal"),
        (b"\x00asm\x01\x00\x00\x00", "WebAssembly"),
        (b"dex\n035\x00", "DEX"),
        (b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0", "shortcut"),
    ],
)
def test_executables_refused(head: bytes, what: str) -> None:
    message = refusal(head + PADDING)
    assert what in message and "refused" in message


@pytest.mark.parametrize("script", [b"#!/bin/sh\nrm -rf ~\n", b"#!/usr/bin/env python3\nprint(1)\n", b"#!"])
def test_scripts_refused_though_they_are_text(script: bytes) -> None:
    assert "#!" in refusal(script)


@pytest.mark.parametrize(
    "text",
    [
        b"hello\n",
        "Grüße, 你好, مرحبا, 🙂\n".encode(),
        b"\xef\xbb\xbfwith a byte order mark\r\n",
        b"def f(x):\n\treturn x  # source code is text\n",
        b"\x1b[31mred\x1b[0m log line\f\v\x1a",
        b"BM is plain text here, not a bitmap",
        b"BZh9 is not bzip2 either",
        b"MThe",  # almost MIDI
    ],
)
def test_utf8_text_is_text(text: bytes) -> None:
    assert kind(text) == "text/plain"


@pytest.mark.parametrize(
    "page",
    [
        b"<!DOCTYPE html>\n<script>alert(1)</script>",
        b"<!doctype HTML><title>x</title>",
        b"<html><body onload=alert(1)>",
        b"\xef\xbb\xbf \r\n\t<HTML lang=en>",
        b"<head>",
        b"<script>fetch('file:///etc/passwd')</script>",
        b"<iframe src=x>",
        b"<h1>Title</h1>",
        b"<div>",
        b"<font color=red>",
        b"<table>",
        b"<a href='x'>link</a>",
        b"<style>",
        b"<title>",
        b"<b>bold</b>",
        b"<body>",
        b"<br/>",
        b"<p>paragraph",
        b"<!-- a comment -->",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"<SVG>",
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN">',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
        b"<?xml version='1.0'?><data/>",
        b"<html",
    ],
)
def test_web_pages_refused_by_content_though_they_are_text(page: bytes) -> None:
    assert "looks like a web page" in refusal(page)


@pytest.mark.parametrize(
    "text",
    [
        b"a < b and b > c\n",
        b"<3 from me\n",
        b"<below> is not a tag this sniffing knows\n",
        b"<abbr>\n",
        b"notes on <html> and <script> tags\n",
        b"def f():\n    return '<html>'\n",
        b"MIME-Version: 1.0\r\nContent-Type: multipart/related\r\n",  # .mht is refused by name
        b"print('hello')\n",  # .py is refused by name
    ],
)
def test_text_that_is_not_a_page_is_text(text: bytes) -> None:
    assert kind(text) == "text/plain"


def test_text_checked_to_the_end_across_chunks() -> None:
    # A character split across the reading chunks is still text...
    boundary = "a" * (TEXT_CHUNK - 1) + "é" + "b" * 10
    assert kind(boundary.encode()) == "text/plain"
    # ...and binary after the first megabyte is still binary.
    assert "unrecognised" in refusal(b"a" * (TEXT_CHUNK + HEAD_SIZE) + b"\x00")
    assert "unrecognised" in refusal(b"a" * 5000 + b"\xff\xfe")
    assert "unrecognised" in refusal("truncated é".encode()[:-1])


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03",
        b"text with a NUL\x00 inside",
        b"text with a bell \x07",
        "latin-1: caf\xe9".encode("latin-1"),
        "UTF-16 text".encode("utf-16"),
        b"CD001" + PADDING,
        b"SQLite format 3\x00" + PADDING,
    ],
)
def test_unrecognised_binary_refused(data: bytes) -> None:
    assert "unrecognised binary content" in refusal(data)


def test_bitmap_needs_a_bitmap_header() -> None:
    header = b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + struct.pack("<I", 40)
    assert kind(header + PADDING) == "image/bmp"
    not_a_bitmap = b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + struct.pack("<I", 41)
    assert "unrecognised" in refusal(not_a_bitmap + PADDING)


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe",
        "SETUP.EXE",
        "photo.jpg.exe",
        "run.bat",
        "run.cmd",
        "x.com",
        "x.scr",
        "x.msi",
        "x.lnk",
        "x.ps1",
        "x.vbs",
        "x.js",
        "x.hta",
        "x.jar",
        "x.reg",
        "x.iso",
        "x.dmg",
        "x.app",
        "x.desktop",
        "x.appimage",
        "x.apk",
        "fix.diagcab",
        "x.theme",
        "x.themepack",
        "x.SettingContent-ms",
        "x.library-ms",
        "x.search-ms",
        "notes.one",
        "x.iqy",
        "x.slk",
        "x.xbap",
        "x.docm",
        "x.dotm",
        "x.xlsm",
        "x.xltm",
        "x.xlam",
        "x.pptm",
        "x.potm",
        "x.ppam",
        "x.ppsm",
        "x.sldm",
        # Issue 13's list: run, install or render with scripts when opened.
        "page.html",
        "page.htm",
        "page.xhtml",
        "page.mht",
        "drawing.svg",
        "script.py",
        "script.pyw",
        "app.pyz",
        "x.ws",
        "x.wsb",
        "x.website",
        "update.msu",
        "x.cer",
        "x.ins",
        "x.isp",
        "x.shb",
        "x.xnk",
        "x.htc",
        "x.msh",
        "x.psc1",
        # And their kin.
        "page.HTML",
        "page.shtml",
        "page.xht",
        "page.mhtml",
        "drawing.svgz",
        "app.pyzw",
        "compiled.pyc",
        "compiled.pyo",
        "x.crt",
        "x.der",
        "x.msh1",
        "x.msh2",
        "x.mshxml",
        "x.msh1xml",
        "x.msh2xml",
        "x.ps2",
        "x.ps2xml",
        "x.psc2",
    ],
)
def test_names_that_run_when_opened_refused(name: str) -> None:
    with pytest.raises(TypeRefused, match="run when opened"):
        check_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "notes.txt",
        "main.c",
        "page.html.txt",
        "report.pdf",
        "photo.jpeg",
        "archive.tar.gz",
        "README",
        "exe",
        ".bashrc",
        "script.sh",
        "module.mjs",
        "x.exe.txt",
    ],
)
def test_ordinary_names_pass(name: str) -> None:
    check_name(name)
