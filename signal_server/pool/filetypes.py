"""Which files the pool takes: an allowlist judged by content, not by name.

A file is identified by its leading bytes (and, for containers such as ZIP and OLE, by
what is inside); what is not recognised and is not UTF-8 text is refused. Executables are
refused by content too, and names that a desktop would run on a double-click are refused
by extension, because the name travels with the file to whoever receives it.

Web pages (HTML, XHTML, SVG, MHTML) are refused by name and, as far as text shows it, by
content: the server sends them back as attachments with ``nosniff``, so they never run on
its origin, but saved and opened from a folder they run their scripts with access to
``file://``, where the receiver cannot tell them from a document.
"""

from __future__ import annotations

import codecs
import os
import struct
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator

from .refusal import Refusal

#: Enough for every signature below (tar's mark is at 257).
HEAD_SIZE = 4096
TEXT_CHUNK = 1 << 20
TEXT = "text/plain"

# How text that a browser renders as a page begins, after a byte-order mark and white
# space, in any case: WHATWG MIME Sniffing's patterns for HTML and XML ("<?xml" covers
# XHTML and SVG with a declaration) and an SVG or SVG doctype without one. Each tag is
# followed by one of _TAG_ENDS, so "<b>" is a page but "<below" and "a < b" are text.
_PAGE_TAGS = tuple(
    f"<{tag}".encode()
    for tag in (
        "!doctype html",
        "!doctype svg",
        "html",
        "head",
        "script",
        "iframe",
        "h1",
        "div",
        "font",
        "table",
        "a",
        "style",
        "title",
        "b",
        "body",
        "br",
        "p",
        "!--",
        "svg",
    )
)
_TAG_ENDS = b" \t\n\r\f>/"
_PAGE_SPACE = b" \t\n\r\f"

# Bytes that plain text does not hold: C0 controls but tab, newlines, form feed,
# Ctrl-Z (old DOS end of file) and ESC (terminal colours in logs).
_NOT_TEXT = bytes(set(range(32)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1A, 0x1B})


class TypeRefused(Refusal):
    """A file the pool does not take, for its content; ``str(error)`` says why, for the uploader."""

    error_id = "file-type-refused"


class NameRefused(TypeRefused):
    """A file the pool does not take, for its name."""

    error_id = "file-name-refused"


@dataclass(frozen=True)
class Signature:
    """A format recognised by bytes at fixed offsets; ``mime`` None means refused."""

    parts: tuple[tuple[int, bytes], ...]
    mime: str | None
    #: What the format is, for a refusal message.
    what: str = ""

    def matches(self, head: bytes) -> bool:
        return all(head[offset : offset + len(magic)] == magic for offset, magic in self.parts)


def _allow(mime: str, *parts: tuple[int, bytes]) -> Signature:
    return Signature(parts, mime)


def _refuse(what: str, *parts: tuple[int, bytes]) -> Signature:
    return Signature(parts, None, what)


# First match wins, so AMR audio ("#!AMR") comes before scripts ("#!").
SIGNATURES: tuple[Signature, ...] = (
    # Executables: native, bytecode and things Windows runs when opened.
    _refuse("an ELF executable", (0, b"\x7fELF")),
    _refuse("a Windows or DOS executable (MZ/PE)", (0, b"MZ")),
    *(
        _refuse("a Mach-O executable", (0, magic))
        for magic in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
    ),
    # The same four bytes start a Mach-O universal binary and a Java class file: both run.
    _refuse("a Mach-O universal binary or Java class file", (0, b"\xca\xfe\xba\xbe")),
    _refuse("a Mach-O universal binary", (0, b"\xca\xfe\xba\xbf")),
    _refuse("a WebAssembly module", (0, b"\x00asm")),
    _refuse("an Android DEX executable", (0, b"dex\n")),
    _refuse("a Windows shortcut (.lnk)", (0, b"L\x00\x00\x00\x01\x14\x02\x00")),
    _allow("audio/amr", (0, b"#!AMR")),
    _refuse("a script (it starts with #!)", (0, b"#!")),
    # Documents.
    _allow("application/pdf", (0, b"%PDF-")),
    _allow("application/rtf", (0, b"{\\rtf")),
    _allow("application/x-ole-storage", (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    *(_allow("application/zip", (0, magic)) for magic in (b"PK\x03\x04", b"PK\x05\x06")),
    # Images.
    _allow("image/png", (0, b"\x89PNG\r\n\x1a\n")),
    _allow("image/jpeg", (0, b"\xff\xd8\xff")),
    _allow("image/gif", (0, b"GIF87a")),
    _allow("image/gif", (0, b"GIF89a")),
    _allow("image/webp", (0, b"RIFF"), (8, b"WEBP")),
    _allow("image/bmp", (0, b"BM")),
    _allow("image/tiff", (0, b"II*\x00")),
    _allow("image/tiff", (0, b"MM\x00*")),
    _allow("image/x-icon", (0, b"\x00\x00\x01\x00")),
    _allow("image/vnd.adobe.photoshop", (0, b"8BPS")),
    _allow("image/jxl", (0, b"\xff\x0a")),
    _allow("image/jxl", (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
    # Audio and video.
    _allow("audio/mpeg", (0, b"ID3")),
    *(_allow("audio/mpeg", (0, magic)) for magic in (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3", b"\xff\xf2")),
    *(_allow("audio/aac", (0, magic)) for magic in (b"\xff\xf1", b"\xff\xf9")),
    _allow("audio/flac", (0, b"fLaC")),
    _allow("audio/ogg", (0, b"OggS")),
    _allow("audio/wav", (0, b"RIFF"), (8, b"WAVE")),
    _allow("audio/aiff", (0, b"FORM"), (8, b"AIFF")),
    _allow("audio/midi", (0, b"MThd")),
    _allow("video/x-msvideo", (0, b"RIFF"), (8, b"AVI ")),
    _allow("application/mp4", (4, b"ftyp")),
    _allow("video/x-matroska", (0, b"\x1a\x45\xdf\xa3")),
    _allow("video/x-flv", (0, b"FLV\x01")),
    _allow("video/mpeg", (0, b"\x00\x00\x01\xba")),
    _allow("video/mpeg", (0, b"\x00\x00\x01\xb3")),
    # Archives.
    _allow("application/gzip", (0, b"\x1f\x8b")),
    _allow("application/x-bzip2", (0, b"BZh")),
    _allow("application/x-xz", (0, b"\xfd7zXZ\x00")),
    _allow("application/zstd", (0, b"\x28\xb5\x2f\xfd")),
    _allow("application/x-7z-compressed", (0, b"7z\xbc\xaf\x27\x1c")),
    _allow("application/vnd.rar", (0, b"Rar!\x1a\x07")),
    _allow("application/x-lzip", (0, b"LZIP")),
    _allow("application/vnd.ms-cab-compressed", (0, b"MSCF\x00\x00\x00\x00")),
    _allow("application/x-tar", (257, b"ustar")),
)

# Root storage class ids of OLE compound files (Windows Installer's are refused).
_OLE_CLASSES: dict[bytes, str | None] = {
    uuid.UUID(clsid).bytes_le: mime
    for clsid, mime in {
        "000c1084-0000-0000-c000-000000000046": None,  # .msi
        "000c1086-0000-0000-c000-000000000046": None,  # .msp patch
        "000c1082-0000-0000-c000-000000000046": None,  # .mst transform
        "00020906-0000-0000-c000-000000000046": "application/msword",
        "00020900-0000-0000-c000-000000000046": "application/msword",
        "00020820-0000-0000-c000-000000000046": "application/vnd.ms-excel",
        "00020810-0000-0000-c000-000000000046": "application/vnd.ms-excel",
        "64818d10-4f9b-11cf-86ea-00aa00b929e8": "application/vnd.ms-powerpoint",
    }.items()
}

# Part names that tell one Office Open XML document from another.
_OOXML_PARTS = {
    b"word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    b"xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    b"ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}

# What a "mimetype" member may say. Only these exact texts: the type is sent back as a
# Content-Type and shown in the statistics, so it must not be the uploader's words.
_DECLARED_TYPES = {
    mime.encode(): mime
    for mime in (
        "application/epub+zip",
        *(
            f"application/vnd.oasis.opendocument.{kind}"
            for kind in (
                "text",
                "text-template",
                "text-master",
                "text-master-template",
                "text-web",
                "spreadsheet",
                "spreadsheet-template",
                "presentation",
                "presentation-template",
                "graphics",
                "graphics-template",
                "chart",
                "chart-template",
                "image",
                "image-template",
                "formula",
                "formula-template",
                "base",
            )
        ),
    )
}

# ZIP records (APPNOTE.TXT): a member's local header, a central directory entry, the end
# of central directory record, and the ZIP64 locator and record that may precede it.
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_CENTRAL_ENTRY = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")

# ISO base media brands; any other brand is still an MP4-family container.
_MP4_BRANDS = {
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"qt  ": "video/quicktime",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
    b"3g2a": "video/3gpp2",
    b"isom": "video/mp4",
    b"iso2": "video/mp4",
    b"mp41": "video/mp4",
    b"mp42": "video/mp4",
    b"avc1": "video/mp4",
    b"dash": "video/mp4",
    b"M4V ": "video/mp4",
}

# Sizes of the BMP info headers that exist (core, v1 to v5 and OS/2 variants).
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}

#: Extensions that Windows, macOS or Linux desktops run, install or mount when the file
#: is opened, whatever it holds. Text ones (.bat, .js, .ps1...) pass any content check.
RISKY_EXTENSIONS = frozenset(
    {
        # Windows programs, libraries and installers.
        "exe",
        "com",
        "scr",
        "pif",
        "cpl",
        "dll",
        "sys",
        "drv",
        "ocx",
        "xll",
        "msi",
        "msp",
        "mst",
        "msix",
        "msixbundle",
        "appx",
        "appxbundle",
        "appref-ms",
        "application",
        "gadget",
        "msc",
        # Windows scripts and what runs them (Windows Script Host runs .js on a double-click).
        "bat",
        "cmd",
        "vb",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "wsh",
        "wsc",
        "sct",
        "hta",
        "ps1",
        "psm1",
        "ps1xml",
        "reg",
        "inf",
        "scf",
        "lnk",
        "url",
        "chm",
        "jar",
        "jnlp",
        # Disk images, which open by mounting (and so shed the "from the internet" mark).
        "iso",
        "img",
        "vhd",
        "vhdx",
        "dmg",
        # Windows files that run something when opened: troubleshooters, themes (which can
        # fetch from a share), shell and search links, OneNote, web queries, SYLK, XAML apps.
        "diagcab",
        "theme",
        "themepack",
        "settingcontent-ms",
        "library-ms",
        "search-ms",
        "one",
        "iqy",
        "slk",
        "xbap",
        # Office documents that carry macros.
        "docm",
        "dotm",
        "xlsm",
        "xltm",
        "xlam",
        "pptm",
        "potm",
        "ppam",
        "ppsm",
        "sldm",
        # macOS, Linux desktops and phones.
        "app",
        "command",
        "pkg",
        "mpkg",
        "desktop",
        "run",
        "appimage",
        "apk",
        "xapk",
        "ipa",
        # Python: the launcher runs scripts, bytecode and zipped apps on a double-click.
        "py",
        "pyw",
        "pyz",
        "pyzw",
        "pyc",
        "pyo",
        # Windows Script Host and Sandbox, pinned sites, update packages, certificates
        # (opening one starts importing it), Internet settings, shell and Exchange
        # shortcuts, HTML components, and PowerShell's older script and console files.
        "ws",
        "wsb",
        "website",
        "msu",
        "cer",
        "crt",
        "der",
        "ins",
        "isp",
        "shb",
        "xnk",
        "htc",
        "msh",
        "msh1",
        "msh2",
        "mshxml",
        "msh1xml",
        "msh2xml",
        "ps2",
        "ps2xml",
        "psc1",
        "psc2",
        # Web pages: opened from a folder, they run their scripts (see the module's note).
        "html",
        "htm",
        "shtml",
        "xhtml",
        "xht",
        "mht",
        "mhtml",
        "svg",
        "svgz",
    }
)


def check_name(name: str) -> None:
    """Refuse a (cleaned) file name whose extension would run when opened."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in RISKY_EXTENSIONS:
        raise NameRefused(f"files named .{extension} are refused: they run when opened")


def identify(file: BinaryIO) -> str:
    """The MIME type of a seekable file's content; raises :class:`TypeRefused`."""
    file.seek(0)
    head = file.read(HEAD_SIZE)
    for signature in SIGNATURES:
        if not signature.matches(head):
            continue
        if signature.mime is None:
            raise TypeRefused(f"this looks like {signature.what}: executables are refused")
        refine = _REFINE.get(signature.mime)
        mime = refine(file, head) if refine else signature.mime
        if mime is not None:
            return mime
    if _is_text(file):
        if _is_page(head):
            raise TypeRefused(
                "this looks like a web page (HTML, SVG or XML): opened from a folder, it would run its scripts; "
                "web pages are refused, zip it to give it"
            )
        return TEXT
    raise TypeRefused(
        "unrecognised binary content: the pool takes text, PDF, images, office documents, audio, video and archives"
    )


def _is_page(head: bytes) -> bool:
    """Whether text begins as a web page does (see _PAGE_TAGS)."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip(_PAGE_SPACE).lower()
    if start.startswith(b"<?xml"):
        return True
    for tag in _PAGE_TAGS:
        if start.startswith(tag):
            end = start[len(tag) : len(tag) + 1]
            if not end or end in _TAG_ENDS:
                return True
    return False


def _is_text(file: BinaryIO) -> bool:
    """Whether the whole file is UTF-8 without NULs or other binary control bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.seek(0)
    while chunk := file.read(TEXT_CHUNK):
        if len(chunk.translate(None, _NOT_TEXT)) != len(chunk):
            return False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _zip_type(file: BinaryIO, head: bytes) -> str:
    """OpenDocument, EPUB and Office Open XML are ZIP files told apart by their members;
    Java and Android packages are refused. No member is ever decompressed."""
    office = "application/zip"
    java_manifest = java_class = False
    for name in _zip_names(file):
        lowered = name.lower()
        if lowered in (b"androidmanifest.xml", b"classes.dex"):
            raise TypeRefused("this is an Android package: apps are refused")
        java_manifest = java_manifest or lowered == b"meta-inf/manifest.mf"
        java_class = java_class or lowered.endswith(b".class")
        if java_manifest and java_class:
            raise TypeRefused("this is a Java archive: programs are refused")
        office = _OOXML_PARTS.get(name, office)
    return _declared_type(head) or office


def _declared_type(head: bytes) -> str | None:
    """The type an OpenDocument or EPUB file declares as their specifications lay it out:
    in a member "mimetype" that comes first and is stored, not compressed."""
    if len(head) < _LOCAL_HEADER.size:
        return None
    (_, _, _, method, _, _, _, _, size, name_length, extra_length) = _LOCAL_HEADER.unpack_from(head)
    name_end = _LOCAL_HEADER.size + name_length
    if method != 0 or head[_LOCAL_HEADER.size : name_end] != b"mimetype":
        return None
    start = name_end + extra_length
    return _DECLARED_TYPES.get(head[start : start + size])


def _zip_names(file: BinaryIO) -> Iterator[bytes]:
    """The member names in a ZIP's central directory, read one at a time: 50 MB of
    directory can list a million names, which as objects (zipfile's ZipInfo) would take
    400 MB. Stops quietly where the archive is damaged."""
    directory = _zip_directory(file)
    if directory is None:
        return
    position, end = directory
    file.seek(position)
    while position < end:
        entry = file.read(_CENTRAL_ENTRY.size)
        if len(entry) < _CENTRAL_ENTRY.size or not entry.startswith(b"PK\x01\x02"):
            return
        name_length, extra_length, comment_length = struct.unpack_from("<3H", entry, 28)
        yield file.read(name_length)
        file.seek(extra_length + comment_length, os.SEEK_CUR)
        position += _CENTRAL_ENTRY.size + name_length + extra_length + comment_length


def _zip_directory(file: BinaryIO) -> tuple[int, int] | None:
    """Where a ZIP's central directory starts and ends. Its end record is found as Java
    finds it: the last one whose comment reaches the end of the file, or, if bytes follow
    it, whose directory is where it says; a comment may hold the signature too."""
    size = file.seek(0, os.SEEK_END)
    # The end record is last but for its comment, of up to 64 KiB.
    tail_start = max(0, size - _END.size - 0xFFFF)
    file.seek(tail_start)
    tail = file.read()
    found = len(tail)
    while (found := tail.rfind(b"PK\x05\x06", 0, found)) >= 0:
        if len(tail) - found < _END.size:
            continue
        *_, directory_size, _, comment_length = _END.unpack_from(tail, found)
        start, end = _directory_before(file, tail_start + found, directory_size)
        if start >= 0 and (found + _END.size + comment_length == len(tail) or _entry_at(file, start)):
            return start, end
    return None


def _directory_before(file: BinaryIO, record: int, size: int) -> tuple[int, int]:
    """The central directory of ``size`` bytes that ends at the end record at ``record``,
    or before the ZIP64 records that precede it (which then give its size)."""
    zip64_size = _ZIP64_END.size + _ZIP64_LOCATOR.size
    if record >= zip64_size:
        file.seek(record - zip64_size)
        zip64 = file.read(zip64_size)
        if zip64.startswith(b"PK\x06\x06") and zip64[_ZIP64_END.size :].startswith(b"PK\x06\x07"):
            record -= zip64_size
            size = _ZIP64_END.unpack_from(zip64)[8]
    # Counted back from its end, as unzip does, so data put before the archive cannot
    # move it out of sight.
    return record - size, record


def _entry_at(file: BinaryIO, position: int) -> bool:
    file.seek(position)
    return file.read(4) == b"PK\x01\x02"


def _ole_type(file: BinaryIO, head: bytes) -> str:
    """Legacy Office files and Windows Installer packages share the OLE container; the
    root storage's class id says which it is."""
    (sector_shift,) = struct.unpack_from("<H", head, 0x1E)
    (first_directory_sector,) = struct.unpack_from("<I", head, 0x30)
    if sector_shift in (9, 12):
        file.seek((first_directory_sector + 1) << sector_shift)
        root = file.read(128)
        if len(root) == 128:
            clsid = root[0x50:0x60]
            if clsid in _OLE_CLASSES:
                mime = _OLE_CLASSES[clsid]
                if mime is None:
                    raise TypeRefused("this is a Windows Installer package: installers are refused")
                return mime
    return "application/x-ole-storage"


def _mp4_type(_file: BinaryIO, head: bytes) -> str:
    return _MP4_BRANDS.get(head[8:12], "application/mp4")


def _matroska_type(_file: BinaryIO, head: bytes) -> str:
    return "video/webm" if b"\x42\x82\x84webm" in head else "video/x-matroska"


def _ogg_type(_file: BinaryIO, head: bytes) -> str:
    return "video/ogg" if b"\x80theora" in head else "audio/ogg"


def _bmp_type(_file: BinaryIO, head: bytes) -> str | None:
    # "BM" alone also starts plain text; a bitmap has reserved zeros and a known header size.
    if len(head) < 18 or head[6:10] != b"\x00\x00\x00\x00":
        return None
    return "image/bmp" if struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES else None


def _bzip2_type(_file: BinaryIO, head: bytes) -> str | None:
    # "BZh" + block size digit + the magic of a block or of the end of stream.
    if b"1" <= head[3:4] <= b"9" and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        return "application/x-bzip2"
    return None


_REFINE: dict[str, Callable[[BinaryIO, bytes], str | None]] = {
    "application/zip": _zip_type,
    "application/x-ole-storage": _ole_type,
    "application/mp4": _mp4_type,
    "video/x-matroska": _matroska_type,
    "audio/ogg": _ogg_type,
    "image/bmp": _bmp_type,
    "application/x-bzip2": _bzip2_type,
}

#: Every type :func:`identify` gives.
KNOWN_TYPES = frozenset(
    {
        TEXT,
        "video/webm",
        "video/ogg",
        *(signature.mime for signature in SIGNATURES if signature.mime is not None),
        *(mime for mime in _OLE_CLASSES.values() if mime is not None),
        *_OOXML_PARTS.values(),
        *_DECLARED_TYPES.values(),
        *_MP4_BRANDS.values(),
    }
)
