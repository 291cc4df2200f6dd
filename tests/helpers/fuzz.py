"""What the fuzz suite generates, and how hard it tries.

The ``attacks`` profile keeps ``make test`` fast (each fuzz test well under 20 s on 2
cores); ``SENDIT_FUZZ=deep`` runs many more examples, for a search before a release.
One server serves every example of a test, so the examples also fuzz what the earlier
ones left behind (hence the function-scoped fixture is wanted, not a mistake)."""

from __future__ import annotations

import base64
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "attacks",
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("deep", parent=settings.get_profile("attacks"), max_examples=2000)
FUZZ = settings.get_profile(os.environ.get("SENDIT_FUZZ", "attacks"))

EVENTS = ("create", "join", "signal", "cancel", "done", "leave")
#: Words the server looks for, so that generated payloads reach past the first check.
WORDS = (
    *("version", "slot", "pake", "type", "data", "reason", "error_id", "code"),
    *("pake", "confirm", "offer", "answer", "candidate", "cancelled", "wrong-code"),
)
#: Base64 of the protocol's alphabet and padding, some of it well formed.
BASE64 = st.one_of(
    st.binary(max_size=60).map(lambda data: base64.b64encode(data).decode()),
    st.binary(min_size=33, max_size=33).map(lambda data: base64.b64encode(data).decode()),  # a PAKE message
    st.text(alphabet="ABCXYZabcxyz0189+/=-_ \n", max_size=60),
)
SLOTS = st.one_of(
    st.integers(1, 9999).map(str),
    st.integers(-10, 100_000),
    st.from_regex(r"0?[0-9]{1,5}", fullmatch=True),
    st.text(max_size=8),
)


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.sampled_from(WORDS),
        BASE64,
    )


#: JSON values, small: a payload over 256 KiB closes the connection by design.
JSON = st.recursive(
    _scalars(),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=10)), children, max_size=4),
    ),
    max_leaves=12,
)
#: A version, right or not.
VERSIONS = st.one_of(st.just(2), st.integers(-1, 4), st.just(2.0), JSON)
#: Fields beside the listed ones, which the server must refuse.
EXTRA = {"extra": JSON, "code": st.text(max_size=30)}

#: Payloads shaped like the protocol's, some fields right and some wrong.
SHAPED = st.one_of(
    st.fixed_dictionaries({}, optional={"version": VERSIONS, **EXTRA}),
    st.fixed_dictionaries({"version": VERSIONS}, optional={"slot": SLOTS, "pake": st.one_of(BASE64, JSON), **EXTRA}),
    st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(WORDS), JSON)},
        optional={"data": st.one_of(BASE64, JSON), **EXTRA},
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "reason": st.one_of(st.text(max_size=210), JSON),
            "error_id": st.one_of(st.sampled_from(WORDS), JSON),
            **EXTRA,
        },
    ),
)
PAYLOADS = st.one_of(JSON, SHAPED)
#: Event names: the protocol's, and others (not the reserved ones python-socketio's
#: client will not send; the frame fuzz sends those).
NAMES = st.one_of(
    st.sampled_from(EVENTS),
    st.text(max_size=20).filter(lambda name: name not in ("connect", "connect_error", "disconnect")),
)
