"""What the fuzz suite generates, and how hard it tries.

The ``attacks`` profile keeps ``make test`` fast (each fuzz test well under 20 s on 2
cores); ``SENDIT_FUZZ=deep`` runs many more examples, for a search before a release.
One server serves every example of a test, so the examples also fuzz what the earlier
ones left behind (hence the function-scoped fixture is wanted, not a mistake)."""

from __future__ import annotations

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
WORDS = ("offer", "answer", "candidate", "code", "type", "sdp", "reason", "sdpMid", "sdpMLineIndex")


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
        st.sampled_from(WORDS),
        st.from_regex(r"[A-Z0-9]{5}-[A-Z0-9]{5}", fullmatch=True),
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

#: Payloads shaped like the protocol's, some fields right and some wrong.
SIGNALS = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["offer", "answer"]), "sdp": JSON}),
    st.fixed_dictionaries(
        {"type": st.just("candidate"), "candidate": st.one_of(st.none(), JSON)},
        optional={"extra": JSON},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("candidate"),
            "candidate": st.fixed_dictionaries(
                {},
                optional={
                    "candidate": JSON,
                    "sdpMid": JSON,
                    "sdpMLineIndex": st.one_of(st.integers(-5, 300), JSON),
                    "usernameFragment": JSON,
                },
            ),
        }
    ),
)
PAYLOADS = st.one_of(
    JSON,
    SIGNALS,
    st.fixed_dictionaries({"code": JSON}),
    st.fixed_dictionaries({"reason": JSON}),
    st.text(min_size=30, max_size=300).map(lambda text: {"code": text}),
)
#: Event names: the protocol's, and others (not the reserved ones python-socketio's
#: client will not send; the frame fuzz sends those).
NAMES = st.one_of(
    st.sampled_from(EVENTS),
    st.text(max_size=20).filter(lambda name: name not in ("connect", "connect_error", "disconnect")),
)
