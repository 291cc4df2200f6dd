"""Loads docs/protocol-vectors.json, the vectors both implementations must satisfy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "protocol-vectors.json").read_text("utf-8")
)


def pattern(size: int) -> bytes:
    """The digest vectors' file content: byte i is i mod 251."""
    return bytes(i % 251 for i in range(size))
