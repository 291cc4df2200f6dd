"""The transfer transcripts of docs/protocol-vectors.json (section ``transcripts``) as a
runner needs them: the cases, and what their steps' shorthand stands for.

The format is the section's ``_about``; tests/transfer/test_transcript_cases.py checks
every case against it.
"""

from __future__ import annotations

import json
from typing import Any

from .vectors import VECTORS, pattern

CASES: list[dict[str, Any]] = VECTORS["transcripts"]["cases"]

#: The keys that say what a step is (each step has exactly one).
STEP_KINDS = frozenset(
    {
        "in",
        "in_text",
        "in_binary",
        "in_close",
        "decide",
        "cancel",
        "out",
        "out_bytes",
        "out_manifest",
        "out_close",
        "reconnect",
    }
)
#: The limit on each wait of a runner, and on the machine's ending.
WAIT_SECONDS = 10.0


def bytes_of(spec: dict[str, Any]) -> bytes:
    """A bytes value: ``{"hex": ...}`` or ``{"size": n, "start": s}`` (byte i is (s + i) mod 251)."""
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    start = spec.get("start", 0)
    return pattern(start + spec["size"])[start:]


def content(file: dict[str, Any]) -> bytes:
    """A sender's file or a kept file: ``hex`` if given, else pattern(size)."""
    return bytes.fromhex(file["hex"]) if "hex" in file else pattern(file["size"])


def holdings(case: dict[str, Any]) -> dict[int, bytes]:
    """A receiver case's holdings: the bytes its sink holds of each file, by index."""
    return {held["index"]: bytes_of(held["bytes"]) for held in case.get("holdings", ())}


def offered(case: dict[str, Any]) -> list[dict[str, Any]]:
    """A sender case's files, each ``repeat`` spelled out: ``{name, size, type, hex?}``."""
    files = []
    for file in case["files"]:
        plain = {key: value for key, value in file.items() if key != "repeat"}
        if "repeat" not in file:
            files.append(plain)
            continue
        files += [{**plain, "name": file["name"].replace("{}", str(i))} for i in range(file["repeat"])]
    return files


def text_of(step: dict[str, Any]) -> str:
    """The text an ``in`` or ``in_text`` step sends: compact JSON, padded with spaces to
    ``size`` bytes of UTF-8 when the step says so."""
    if "in_text" in step:
        text: str = step["in_text"]
        return text
    text = json.dumps(step["in"], separators=(",", ":"))
    if "size" in step:
        text += " " * (step["size"] - len(text.encode("utf-8", "surrogatepass")))
    return text


def kind(step: dict[str, Any]) -> str:
    """Which of STEP_KINDS ``step`` is."""
    (found,) = STEP_KINDS.intersection(step)
    return found


def matches(expected: Any, actual: Any) -> bool:
    """JSON equality, as an ``out`` step means it: only an object's listed fields are
    compared (at the top), numbers by value, and a boolean is no number."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return all(key in actual and _equal(value, actual[key]) for key, value in expected.items())
    return False


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(_equal, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_equal(v, actual[k]) for k, v in expected.items())
    return type(expected) is type(actual) and expected == actual
