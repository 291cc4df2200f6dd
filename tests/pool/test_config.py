"""The pool's options in signal_server.config: flags, SENDIT_POOL_* variables, checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.config import defaults, refused
from signal_server.config import default_pool_dir, load_config
from signal_server.options import parse_size
from signal_server.pool.quotas import QuotaLimits
from signal_server.pool.store import PoolLimits


def test_pool_defaults() -> None:
    config = load_config([], env={})
    assert config.pool_dir == Path.home() / ".local/share/sendit/pool"
    assert config.pool_limits == PoolLimits(max_file_size=50_000_000, max_files=1000, max_bytes=2_000_000_000)
    assert config.pool_cors_origins == frozenset()


def test_default_pool_dir_is_user_data_not_temp() -> None:
    assert default_pool_dir({"XDG_DATA_HOME": "/srv/data"}) == Path("/srv/data/sendit/pool")
    assert default_pool_dir({}) == Path.home() / ".local/share/sendit/pool"
    # Resolved with the rest of the configuration, from the environment it was given.
    assert load_config([], env={"XDG_DATA_HOME": "/srv/data"}).pool_dir == Path("/srv/data/sendit/pool")


def test_pool_flags(tmp_path: Path) -> None:
    config = load_config(
        [
            "--pool-dir",
            str(tmp_path),
            "--pool-max-file-size",
            "10MiB",
            "--pool-max-files",
            "5",
            "--pool-max-bytes",
            "1GB",
            "--pool-cors-origin",
            "https://A.example",
            "--pool-cors-origin",
            "http://b.example:8080",
        ],
        env={},
    )
    assert config == defaults(
        pool_dir=tmp_path,
        pool_max_file_size=10 * 1024 * 1024,
        pool_max_files=5,
        pool_max_bytes=10**9,
        pool_cors_origins=frozenset({"https://a.example", "http://b.example:8080"}),
    )


def test_pool_environment_and_flags_over_it(tmp_path: Path) -> None:
    env = {
        "SENDIT_POOL_DIR": str(tmp_path),
        "SENDIT_POOL_MAX_FILE_SIZE": "1000",
        "SENDIT_POOL_MAX_FILES": "7",
        "SENDIT_POOL_MAX_BYTES": "5 kB",
        "SENDIT_POOL_CORS_ORIGINS": "https://a.example, *,",
    }
    config = load_config([], env=env)
    assert config.pool_dir == tmp_path
    assert config.pool_limits == PoolLimits(max_file_size=1000, max_files=7, max_bytes=5000)
    assert config.pool_cors_origins == frozenset({"https://a.example", "*"})
    override = load_config(["--pool-max-files", "9", "--pool-cors-origin", "https://c.example"], env=env)
    assert override.pool_max_files == 9
    assert override.pool_cors_origins == frozenset({"https://c.example"})
    assert load_config([], env={"SENDIT_POOL_DIR": ""}).pool_dir == default_pool_dir({})


@pytest.mark.parametrize(
    "text, size",
    [
        ("1", 1),
        ("52428800", 52428800),
        ("50MB", 50_000_000),
        ("50 MiB", 50 * 1024**2),
        ("2gib", 2 * 1024**3),
        ("500kB", 500_000),
        ("8KiB", 8192),
        ("12b", 12),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("flag", ["--pool-max-file-size", "--pool-max-bytes"])
@pytest.mark.parametrize(
    "value, complaint",
    [
        ("0", "must be more than 0 bytes"),
        ("0 MB", "must be more than 0 bytes"),
        *((value, "must be a size such as") for value in ("-5", "5 MB extra", "5TB", "1.5MB", "lots", "")),
    ],
)
def test_bad_sizes_refused(capsys: pytest.CaptureFixture[str], flag: str, value: str, complaint: str) -> None:
    error = refused(capsys, [flag, value])
    assert f"argument {flag}: {complaint}" in error


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "many"])
def test_bad_file_counts_refused(capsys: pytest.CaptureFixture[str], value: str) -> None:
    assert "--pool-max-files" in refused(capsys, ["--pool-max-files", value])
    assert "--pool-max-files" in refused(capsys, [], env={"SENDIT_POOL_MAX_FILES": value})


@pytest.mark.parametrize(
    "origin",
    ["https://a.example/", "https://a.example/path", "a.example", "ftp://a.example", "https://a example", "null"],
)
def test_bad_origins_refused(capsys: pytest.CaptureFixture[str], origin: str) -> None:
    error = refused(capsys, ["--pool-cors-origin", origin])
    assert "--pool-cors-origin" in error and "is not an origin" in error
    assert "is not an origin" in refused(capsys, [], env={"SENDIT_POOL_CORS_ORIGINS": origin})


def test_stall_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_config([], env={}).pool_stall_timeout == 60.0
    assert load_config(["--pool-stall-timeout", "2.5"], env={}).pool_stall_timeout == 2.5
    assert load_config([], env={"SENDIT_POOL_STALL_TIMEOUT": "90"}).pool_stall_timeout == 90.0
    for value in ("0", "-1", "nan", "soon"):
        assert "--pool-stall-timeout" in refused(capsys, ["--pool-stall-timeout", value])


def test_a_file_limit_above_the_pool_limit_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(capsys, ["--pool-max-file-size", "2GB", "--pool-max-bytes", "1GB"])
    assert "--pool-max-file-size: 2000000000 bytes is more than --pool-max-bytes (1000000000 bytes)" in error
    assert "--pool-max-file-size" in refused(capsys, [], env={"SENDIT_POOL_MAX_BYTES": "10MB"})
    assert load_config(["--pool-max-file-size", "1GB", "--pool-max-bytes", "1GB"], env={}).pool_max_bytes == 10**9


def test_per_address_quotas(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_config([], env={}).pool_quotas == QuotaLimits(held=20, in_flight=3, per_minute=10)
    env = {
        "SENDIT_POOL_HELD_PER_ADDRESS": "50",
        "SENDIT_POOL_IN_FLIGHT_PER_ADDRESS": "4",
        "SENDIT_POOL_UPLOADS_PER_MINUTE": "30",
    }
    assert load_config([], env=env).pool_quotas == QuotaLimits(held=50, in_flight=4, per_minute=30)
    flags = ["--pool-held-per-address", "5", "--pool-in-flight-per-address", "1", "--pool-uploads-per-minute", "2"]
    assert load_config(flags, env=env).pool_quotas == QuotaLimits(held=5, in_flight=1, per_minute=2)
    for flag in ("--pool-held-per-address", "--pool-in-flight-per-address", "--pool-uploads-per-minute"):
        for value in ("0", "-1", "2.5", "many"):
            assert f"argument {flag}: must be a positive whole number" in refused(capsys, [flag, value])
