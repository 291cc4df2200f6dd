"""signal_server.config: flags, SENDIT_* environment variables and their defaults."""

from __future__ import annotations

import json

import pytest

from helpers.config import defaults, refused
from signal_server.config import load_config
from signal_server.options import parse_ice_servers

STUN = [{"urls": "stun:stun.example.org:3478"}]
TURN = [
    {
        "urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
        "username": "user",
        "credential": "secret",
    }
]


def test_config_defaults() -> None:
    config = load_config([], env={})
    assert config.host == "127.0.0.1"
    assert config.port == 8080
    assert config.code_ttl == 600
    assert config.ice_servers == []
    assert config.log_level == "info"
    assert config.trusted_proxies == frozenset()
    assert config.max_connections_per_address == 100
    assert config.max_open_codes_per_address == 20
    assert config.max_failed_joins == 20
    assert config.failed_join_window == 60
    assert config.failed_join_backoff == 1
    assert config.failed_join_backoff_max == 60


def test_config_ignores_unrelated_environment() -> None:
    assert load_config([], env={"HOST": "0.0.0.0", "PORT": "1", "SENDIT": "x"}) == defaults()


def test_config_flags() -> None:
    config = load_config(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--code-ttl",
            "120.5",
            "--ice-servers",
            json.dumps(STUN + TURN),
            "--log-level",
            "debug",
            "--trusted-proxy",
            "10.0.0.1",
            "--trusted-proxy",
            "::1",
            "--max-failed-joins",
            "5",
            "--failed-join-window",
            "30",
            "--max-connections-per-address",
            "7",
            "--max-open-codes-per-address",
            "3",
            "--failed-join-backoff",
            "0.5",
            "--failed-join-backoff-max",
            "90",
        ],
        env={},
    )
    assert config == defaults(
        host="0.0.0.0",
        port=9000,
        code_ttl=120.5,
        ice_servers=STUN + TURN,
        log_level="debug",
        trusted_proxies=frozenset({"10.0.0.1", "::1"}),
        max_failed_joins=5,
        failed_join_window=30.0,
        max_connections_per_address=7,
        max_open_codes_per_address=3,
        failed_join_backoff=0.5,
        failed_join_backoff_max=90.0,
    )


def test_config_environment() -> None:
    config = load_config(
        [],
        env={
            "SENDIT_HOST": "::",
            "SENDIT_PORT": "9001",
            "SENDIT_CODE_TTL": "30",
            "SENDIT_ICE_SERVERS": json.dumps(TURN),
            "SENDIT_LOG_LEVEL": "warning",
            "SENDIT_TRUSTED_PROXIES": "10.0.0.1, 10.0.0.2,,",
            "SENDIT_MAX_FAILED_JOINS": "3",
            "SENDIT_FAILED_JOIN_WINDOW": "7.5",
            "SENDIT_MAX_CONNECTIONS_PER_ADDRESS": "8",
            "SENDIT_MAX_OPEN_CODES_PER_ADDRESS": "4",
            "SENDIT_FAILED_JOIN_BACKOFF": "2",
            "SENDIT_FAILED_JOIN_BACKOFF_MAX": "30",
        },
    )
    assert config == defaults(
        host="::",
        port=9001,
        code_ttl=30.0,
        ice_servers=TURN,
        log_level="warning",
        trusted_proxies=frozenset({"10.0.0.1", "10.0.0.2"}),
        max_failed_joins=3,
        failed_join_window=7.5,
        max_connections_per_address=8,
        max_open_codes_per_address=4,
        failed_join_backoff=2.0,
        failed_join_backoff_max=30.0,
    )
    assert isinstance(config.port, int) and isinstance(config.code_ttl, float)


def test_config_flags_override_environment() -> None:
    env = {
        "SENDIT_PORT": "9001",
        "SENDIT_CODE_TTL": "30",
        "SENDIT_ICE_SERVERS": json.dumps(TURN),
        "SENDIT_TRUSTED_PROXIES": "10.0.0.1",
        "SENDIT_LOG_LEVEL": "warning",
    }
    config = load_config(
        [
            "--port",
            "9002",
            "--code-ttl",
            "45",
            "--ice-servers",
            "[]",
            "--trusted-proxy",
            "10.0.0.9",
            "--log-level",
            "error",
        ],
        env=env,
    )
    assert config.port == 9002
    assert config.code_ttl == 45
    assert config.ice_servers == []
    assert config.log_level == "error"
    # A flag replaces the variable, it does not add to it: trust only what was asked.
    assert config.trusted_proxies == frozenset({"10.0.0.9"})


def test_config_ice_servers_parsed_forms() -> None:
    assert parse_ice_servers("[]") == []
    assert parse_ice_servers(json.dumps(STUN)) == STUN
    assert parse_ice_servers(json.dumps(TURN)) == TURN


@pytest.mark.parametrize("source", ["flag", "env"])
@pytest.mark.parametrize(
    "text, complaint",
    [
        ('[{"urls": "stun:x"', "not valid JSON"),
        ("stun:stun.example.org", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"urls": "stun:x"}', "must be a JSON list"),
        ('"stun:x"', "must be a JSON list"),
        ('[{"url": "stun:x"}]', 'must be an object with "urls"'),
        ('["stun:x"]', 'must be an object with "urls"'),
        ('[{"urls": []}]', '"urls" must be a URL or a non-empty list'),
        ('[{"urls": [""]}]', '"urls" must be a URL or a non-empty list'),
        ('[{"urls": 3478}]', '"urls" must be a URL or a non-empty list'),
        ('[{"urls": "http://x"}]', "must start with stun:"),
        ('[{"urls": ["stun:x", "x:y"]}]', "must start with stun:"),
        ('[{"urls": "turn:x", "username": 1, "credential": "c"}]', '"username" must be a string'),
        ('[{"urls": "turn:x", "username": "u", "credential": {"k": 1}}]', '"credential" must be a string'),
    ],
)
def test_config_invalid_ice_servers_refused_clearly(
    capsys: pytest.CaptureFixture[str], source: str, text: str, complaint: str
) -> None:
    if source == "flag":
        error = refused(capsys, ["--ice-servers", text])
    else:
        error = refused(capsys, [], env={"SENDIT_ICE_SERVERS": text})
    assert "--ice-servers" in error
    assert complaint in error, error


@pytest.mark.parametrize(
    "flag, variable",
    [
        ("--code-ttl", "SENDIT_CODE_TTL"),
        ("--failed-join-window", "SENDIT_FAILED_JOIN_WINDOW"),
        ("--failed-join-backoff", "SENDIT_FAILED_JOIN_BACKOFF"),
        ("--failed-join-backoff-max", "SENDIT_FAILED_JOIN_BACKOFF_MAX"),
    ],
)
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_config_durations_must_be_positive_numbers(
    capsys: pytest.CaptureFixture[str], flag: str, variable: str, value: str
) -> None:
    assert flag in refused(capsys, [flag, value])
    assert flag in refused(capsys, [], env={variable: value})


def test_config_bad_numbers_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--port" in refused(capsys, ["--port", "http"])
    assert "--port" in refused(capsys, [], env={"SENDIT_PORT": "eighty"})
    assert "--max-failed-joins" in refused(capsys, ["--max-failed-joins", "1.5"])


@pytest.mark.parametrize("flag", ["--max-connections-per-address", "--max-open-codes-per-address"])
@pytest.mark.parametrize("value", ["0", "-3", "1.5", "many"])
def test_config_caps_must_be_positive_whole_numbers(capsys: pytest.CaptureFixture[str], flag: str, value: str) -> None:
    assert "must be a positive whole number" in refused(capsys, [flag, value])


def test_config_join_backoff_gathers_its_four_settings() -> None:
    backoff = defaults(
        max_failed_joins=5, failed_join_window=30, failed_join_backoff=2, failed_join_backoff_max=9
    ).join_backoff
    assert (backoff.allowance, backoff.window, backoff.first, backoff.longest) == (5, 30, 2, 9)


def test_config_log_level_checked_from_flag_and_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--log-level" in refused(capsys, ["--log-level", "verbose"])
    assert "--log-level" in refused(capsys, [], env={"SENDIT_LOG_LEVEL": "verbose"})


def test_a_bad_value_names_its_flag_and_where_it_came_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert "argument --port: must be a whole number, not 'eighty'" in refused(capsys, ["--port", "eighty"])
    error = refused(capsys, [], env={"SENDIT_PORT": "eighty"})
    assert "argument --port (from SENDIT_PORT): must be a whole number, not 'eighty'" in error


# --- STUN and TURN ------------------------------------------------------------------------

SECRET = "not-to-be-seen-anywhere"


def test_stun_and_turn_from_flags_and_from_the_environment() -> None:
    flags = load_config(
        [
            "--stun",
            "stun:stun.example.org",
            "--stun",
            "stuns:[2001:db8::1]:5349",
            "--turn",
            "turn:198.51.100.7:3478?transport=udp",
            "--turn",
            "turns:turn.example.org:5349?transport=tcp",
            "--turn-secret",
            SECRET,
            "--turn-allowance",
            "3600",
        ],
        env={},
    )
    assert flags == defaults(
        stun=frozenset({"stun:stun.example.org", "stuns:[2001:db8::1]:5349"}),
        turn=frozenset({"turn:198.51.100.7:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"}),
        turn_secret=SECRET,
        turn_allowance=3600.0,
    )
    env = load_config(
        [],
        env={
            "SENDIT_STUN": "stun:stun.example.org, stuns:[2001:db8::1]:5349",
            "SENDIT_TURN": "turn:198.51.100.7:3478?transport=udp,turns:turn.example.org:5349?transport=tcp",
            "SENDIT_TURN_SECRET": SECRET,
            "SENDIT_TURN_ALLOWANCE": "3600",
        },
    )
    assert env == flags
    assert SECRET not in repr(flags)
    assert defaults().turn_allowance == 21600


def test_the_list_handed_out_is_the_static_one_then_stun_then_issued_turn() -> None:
    config = load_config(
        [
            "--ice-servers",
            json.dumps(TURN),
            "--stun",
            "stun:b.example.org",
            "--stun",
            "stun:a.example.org",
            "--turn",
            "turn:t.example.org",
            "--turn-secret",
            SECRET,
        ],
        env={},
    )
    static, stun, issued = config.ice().for_create()
    assert static == TURN[0]
    assert stun == {"urls": ["stun:a.example.org", "stun:b.example.org"]}
    assert issued["urls"] == ["turn:t.example.org"] and set(issued) == {"urls", "username", "credential"}
    assert load_config([], env={}).ice().for_join() == []


@pytest.mark.parametrize(
    "flag, url",
    [
        ("--stun", "turn:stun.example.org"),
        ("--stun", "stun:"),
        ("--stun", "stun.example.org"),
        ("--stun", "stun://stun.example.org"),
        ("--stun", "stun:stun.example.org:3478?transport=udp"),
        ("--stun", "stun:stun.example.org:http"),
        ("--turn", "stun:turn.example.org"),
        ("--turn", "turn:turn.example.org:3478?transport=sctp"),
        ("--turn", "turn:user@turn.example.org"),
        ("--turn", "turn:turn.example.org/path"),
        ("--turn", "turn:[2001:db8::1"),
    ],
)
def test_a_url_of_the_wrong_kind_or_shape_is_refused_naming_its_flag(
    capsys: pytest.CaptureFixture[str], flag: str, url: str
) -> None:
    error = refused(capsys, [flag, url, "--turn-secret", SECRET])
    kind = "stun: or stuns:" if flag == "--stun" else "turn: or turns:"
    assert f"argument {flag}: {url!r} is not a {kind} URL" in error, error
    variable = "SENDIT_STUN" if flag == "--stun" else "SENDIT_TURN"
    assert f"(from {variable})" in refused(capsys, [], env={variable: url, "SENDIT_TURN_SECRET": SECRET})


def test_turn_needs_its_secret_and_a_secret_needs_turn(capsys: pytest.CaptureFixture[str]) -> None:
    error = refused(capsys, ["--turn", "turn:turn.example.org"])
    assert "argument --turn:" in error and "--turn-secret" in error
    assert "put them in --ice-servers instead" in error
    error = refused(capsys, [], env={"SENDIT_TURN_SECRET": SECRET})
    assert "argument --turn-secret: no --turn server" in error
    assert SECRET not in error
    assert "--turn-allowance" in refused(capsys, ["--turn-allowance", "0"])
