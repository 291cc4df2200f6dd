"""Configurations as the server builds them, and checking how it refuses a bad one."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from signal_server.config import ServerConfig, load_config


def defaults(**changes: Any) -> ServerConfig:
    """The configuration of a server given no flags and no ``SENDIT_*`` variables, with ``changes``."""
    return dataclasses.replace(load_config([], env={}), **changes)


def refused(capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str] | None = None) -> str:
    """Start-up is refused the argparse way (exit status 2); returns the error text."""
    with pytest.raises(SystemExit) as exit_info:
        load_config(argv, env=env or {})
    assert exit_info.value.code == 2
    return capsys.readouterr().err
