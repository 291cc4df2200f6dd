"""Checking how the server refuses a bad configuration."""

from __future__ import annotations

import pytest

from signal_server.config import load_config


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str] | None = None) -> str:
    """Start-up is refused the argparse way (exit status 2); returns the error text."""
    with pytest.raises(SystemExit) as exit_info:
        load_config(argv, env=env or {})
    assert exit_info.value.code == 2
    return capsys.readouterr().err
