"""Fixtures of the transfer tests."""

from __future__ import annotations

import resource
import signal
from typing import Iterator

import pytest


@pytest.fixture
def file_size_limit() -> Iterator[int]:
    """Files of this process may grow to 64 KiB only: a write beyond fails as on a full disk."""
    limit = 64 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
