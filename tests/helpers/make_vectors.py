"""Writes the v2 sections of docs/protocol-vectors.json: ``codes``, ``pake``,
``hostile_points``, ``seal``, ``handshake``, ``transcripts`` (tests/helpers/make_transcripts.py)
and ``ice``.

    PYTHONPATH=.:tests python -m helpers.make_vectors      # rewrite the file
    PYTHONPATH=.:tests python -m helpers.make_vectors --check

Every expected value comes from a reference built here on the third-party parts alone
(the ``spake2`` package and its Ed25519 arithmetic, ``cryptography``'s HKDF and AES-GCM,
the ``mnemonic`` word list) and on cases written out by hand, never from
sendit_protocol: the vectors judge our code, in Python and in the browser, and are not
its echo. Entropy and IVs are fixed bytes drawn from SHAKE-256 of a label, so the output
is the same on every run. Other sections of the file are kept as they are.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from mnemonic import Mnemonic
from spake2 import SPAKE2_A, SPAKE2_B, ed25519_basic
from spake2.parameters.ed25519 import ParamsEd25519

from .make_transcripts import transcripts_section

PATH = Path(__file__).resolve().parents[2] / "docs" / "protocol-vectors.json"
IDS = {"idA": b"sendit/v2/sender", "idB": b"sendit/v2/receiver"}
WORDS = Mnemonic("english").wordlist
CODE = "4821-river-fox-lunar"
ABOUT = (
    "Test vectors for docs/PROTOCOL.md, shared by the Python and JavaScript implementations. "
    "Bytes are lower-case hex unless a field is base64 on the wire (signal data, pake). "
    "The sections codes, pake, hostile_points, seal, handshake, transcripts and ice are written by "
    "tests/helpers/make_vectors.py (PYTHONPATH=.:tests python -m helpers.make_vectors); edit that, not them."
)


def entropy(label: str, size: int = 64) -> bytes:
    return hashlib.shake_256(f"sendit vectors {label}".encode()).digest(size)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hkdf(key: bytes, info: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"", info=info.encode("ascii")).derive(key)


def plaintext(n: Any, fields: dict[str, Any]) -> bytes:
    """A sealed signal's plaintext as both implementations write it: compact JSON, ``n``
    first, then the fields in schema order, non-ASCII as itself."""
    return json.dumps({"n": n, **fields}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def aes_seal(key: bytes, kind: str, data: bytes, iv: bytes) -> str:
    return b64(iv + AESGCM(key).encrypt(iv, data, kind.encode("ascii")))


def flip(data: str, index: int, bit: int = 0) -> str:
    """base64 ``data`` with one bit of its bytes flipped (negative index from the end)."""
    raw = bytearray(base64.b64decode(data))
    raw[index] ^= 1 << bit
    return b64(bytes(raw))


class Side:
    """One side of the handshake as the design defines it, on the spake2 package alone."""

    def __init__(self, role: str, code: str, label: str) -> None:
        self.role, self.code, self.entropy = role, code, entropy(label)
        kind = SPAKE2_A if role == "sender" else SPAKE2_B
        self._spake = kind(code.encode("utf-8"), entropy_f=self._source, **IDS)
        self.message: bytes = self._spake.start()
        self.sealed = 0

    def _source(self, size: int) -> bytes:
        assert size == len(self.entropy)
        return self.entropy

    def finish(self, message: bytes) -> None:
        self.key = self._spake.finish(message)
        self.confirm_a, self.confirm_b = hkdf(self.key, "sendit/v2 confirm A"), hkdf(self.key, "sendit/v2 confirm B")
        self.seal_a, self.seal_b = hkdf(self.key, "sendit/v2 seal A"), hkdf(self.key, "sendit/v2 seal B")

    @property
    def pake(self) -> dict[str, str]:
        return {"type": "pake", "data": b64(self.message)}

    @property
    def confirm(self) -> dict[str, str]:
        return {"type": "confirm", "data": b64(self.confirm_a if self.role == "sender" else self.confirm_b)}

    @property
    def seal_key(self) -> bytes:
        return self.seal_a if self.role == "sender" else self.seal_b

    def seal(self, kind: str, fields: dict[str, Any], iv: bytes) -> dict[str, str]:
        """The next sealed signal, numbered in order."""
        signal = {"type": kind, "data": aes_seal(self.seal_key, kind, plaintext(self.sealed, fields), iv)}
        self.sealed += 1
        return signal


# -- codes ---------------------------------------------------------------------------

ACCEPTED_CODES = [
    ("4821-river-fox-lunar", "4821-river-fox-lunar", "canonical"),
    ("4821 River FOX lunar", "4821-river-fox-lunar", "spaces and ASCII case"),
    ("  4821--river__fox..lunar  ", "4821-river-fox-lunar", "runs of separators, leading and trailing"),
    ("-4821 - river\t-\u00a0fox . lunar_", "4821-river-fox-lunar", "every separator, mixed"),
    ("0482-rive-fox-luna", "482-river-fox-lunar", "leading zeros dropped, four-letter prefixes"),
    ("0001 ABANDON ABIL ABLE", "1-abandon-ability-able", "slot 1, a prefix that is also a word"),
    ("9999-zoo-zoo-zoo", "9999-zoo-zoo-zoo", "the highest slot, a word repeated"),
    ("7-act-acti-actr", "7-act-action-actress", "act is a word, though it begins four others"),
    ("7-actu-add-age", "7-actual-add-age", "three-letter words"),
    ("12-riv" + "er-fox-lunar" + " " * 80, "12-river-fox-lunar", "exactly 100 UTF-16 units"),
]

REFUSED_CODES = [
    ("", "empty", None),
    ("4821", "a number alone", None),
    ("4821-river-fox", "three parts", None),
    ("4821-river-fox-lunar-zoo", "five parts", None),
    ("river-fox-lunar-4821", "the number last", "river"),
    ("4821/river-fox-lunar", "a slash is no separator", None),
    ("0-river-fox-lunar", "slot 0", "0"),
    ("0000-river-fox-lunar", "slot 0000", "0000"),
    ("12345-river-fox-lunar", "five digits", "12345"),
    ("+12-river-fox-lunar", "a sign", "+12"),
    ("\u0661\u0662-river-fox-lunar", "Arabic-Indic digits are not ASCII digits", "\u0661\u0662"),
    ("\uff14\uff18-river-fox-lunar", "fullwidth digits", "\uff14\uff18"),
    ("4821-fpx-fox-lunar", "not a word", "fpx"),
    ("4821-river-riv-lunar", "three letters that begin two words", "riv"),
    ("4821-river-fox-rivers", "a word with more letters", "rivers"),
    ("4821-ri-fox-lunar", "two letters", "ri"),
    ("4821-river-f0x-lunar", "a digit in a word", "f0x"),
    ("4821-r\u0131ver-fox-lunar", "dotless i is not i", "r\u0131ver"),
    ("4821-R\u0130VER-fox-lunar", "only ASCII is lower-cased", "r\u0130ver"),
    ("4821-riv\u00e9r-fox-lunar", "an accented letter", "riv\u00e9r"),
    ("4821-river-fox-lunar\u2003", "an em space is no separator", "lunar\u2003"),
    ("4821-river-fox-lunar\n", "a newline is no separator", "lunar\n"),
    ("4821-river-fox-lu\u200bnar", "a zero-width space is no separator", "lu\u200bnar"),
    ("12-river-fox-lunar" + " " * 83, "101 UTF-16 units", None),
    ("\U0001f600" * 50 + "1", "101 UTF-16 units, though 51 code points", None),
]

ACCEPTED_SLOTS = ["1", "9", "10", "482", "4821", "9999"]
REFUSED_SLOTS = [
    ("", "empty"),
    ("0", "zero"),
    ("0482", "a leading zero"),
    ("10000", "above 9999"),
    (" 1", "a space"),
    ("1\n", "a newline"),
    ("+1", "a sign"),
    ("1.0", "a point"),
    ("\u0661", "an Arabic-Indic digit"),
    ("4821-river-fox-lunar", "a whole code"),
    (4821, "a number, not a string"),
    (None, "null"),
]

COMPLETIONS = ["riv", "RIV", "river", "lunar", "ab", "zoo", "qz", "r\u0131v"]


def codes_section() -> dict[str, Any]:
    def completion(prefix: str) -> list[str]:
        lowered = "".join(c.lower() if "A" <= c <= "Z" else c for c in prefix)
        return [word for word in WORDS if word.startswith(lowered)]

    return {
        "_about": (
            "Codes (design section 1). accepted: what a person may type -> the canonical code; refused: "
            "refused locally before anything is sent, with bad_part the part the refusal names (after ASCII "
            "lower-casing; null where it names none). slots: the server's strict check of a join's slot "
            "(accepted strings -> that number; refused values, any JSON). complete: prefix -> the words it "
            "may begin, in list order. words: the BIP-39 English list the code draws from (never copied "
            "here): its size, ends, and SHA-256 of its words joined by \\n, to check a served /words.json."
        ),
        "accepted": [{"input": i, "canonical": c, "why": w} for i, c, w in ACCEPTED_CODES],
        "refused": [{"input": i, "why": w, "bad_part": p} for i, w, p in REFUSED_CODES],
        "slots": {
            "accepted": [{"input": s, "slot": int(s)} for s in ACCEPTED_SLOTS],
            "refused": [{"input": s, "why": w} for s, w in REFUSED_SLOTS],
        },
        "complete": [{"prefix": p, "words": completion(p)} for p in COMPLETIONS],
        "words": {
            "count": len(WORDS),
            "first": WORDS[0],
            "last": WORDS[-1],
            "sha256": hashlib.sha256("\n".join(WORDS).encode("ascii")).hexdigest(),
        },
    }


# -- pake ----------------------------------------------------------------------------

PAKE_CASES = [
    (CODE, "pake A 1", "pake B 1"),
    ("1-abandon-ability-able", "pake A 2", "pake B 2"),
    ("9999-zoo-zoo-zoo", "pake A 3", "pake B 3"),
]


def _scalar(data: bytes) -> str:
    return "%064x" % (int.from_bytes(data, "big") % ed25519_basic.L)


def pake_section() -> dict[str, Any]:
    cases = []
    for code, label_a, label_b in PAKE_CASES:
        a, b = Side("sender", code, label_a), Side("receiver", code, label_b)
        a.finish(b.message)
        b.finish(a.message)
        assert a.key == b.key
        group = ParamsEd25519.group
        cases.append(
            {
                "code": code,
                "entropy_A": a.entropy.hex(),
                "entropy_B": b.entropy.hex(),
                "scalar_A": _scalar(a.entropy),
                "scalar_B": _scalar(b.entropy),
                "password_scalar": "%064x" % group.password_to_scalar(code.encode("utf-8")),
                "msg_A": a.message.hex(),
                "msg_B": b.message.hex(),
                "key": a.key.hex(),
                "confirm_A": a.confirm_a.hex(),
                "confirm_B": a.confirm_b.hex(),
                "seal_A": a.seal_a.hex(),
                "seal_B": a.seal_b.hex(),
            }
        )
    return {
        "_about": (
            "SPAKE2 on Ed25519 exactly as the python spake2 0.9 package (design section 3). Side A = sender, "
            "B = receiver; password = UTF-8 of the canonical code; idA, idB as given. entropy_A/B: the 64 bytes "
            "each side's entropy source returns (one call, for 64 bytes); its secret scalar_A/B = that as a "
            "big-endian integer mod L. password_scalar = big-endian HKDF-SHA256(password, salt empty, info "
            "'SPAKE2 pw', 48 bytes) mod L. msg = side byte + encoded element (X = x*G + w*M for A, Y = y*G + w*N "
            "for B); key = SHA-256(SHA-256(pw) || SHA-256(idA) || SHA-256(idB) || X || Y || K) with K the "
            "shared element's encoding. confirm_A/B, seal_A/B = HKDF-SHA256(key, salt empty, info "
            "'sendit/v2 confirm A' ..., 32 bytes). M and N: the package's points from seeds 'M' and 'N', "
            "encoded (32 bytes, y little-endian, x's parity in the top bit). Scalars are hex, big-endian."
        ),
        "idA": IDS["idA"].decode("ascii"),
        "idB": IDS["idB"].decode("ascii"),
        "M": ParamsEd25519.M.to_bytes().hex(),
        "N": ParamsEd25519.N.to_bytes().hex(),
        "cases": cases,
    }


# -- hostile points ------------------------------------------------------------------


def _point(y: int) -> Any:
    """The point of the curve with this y and an even x (ed25519_basic's decoding)."""
    return ed25519_basic.ElementOfUnknownGroup(
        ed25519_basic.xform_affine_to_extended(ed25519_basic.decodepoint(y.to_bytes(32, "little")))
    )


def _order(point: Any) -> int:
    return next(k for k in (1, 2, 4, 8) if ed25519_basic.is_extended_zero(point.scalarmult(k).XYTZ))


def _low_order_points() -> list[tuple[bytes, int]]:
    """The eight points of order dividing 8: multiples of one of order 8, which [L] of a
    point of order 8L is."""
    eight = _point(3).scalarmult(ed25519_basic.L)
    assert _order(eight) == 8
    points = [(eight.scalarmult(k).to_bytes(), _order(eight.scalarmult(k))) for k in range(8)]
    assert len({encoded for encoded, _ in points}) == 8
    return points


def _element(y: int, sign: int = 0) -> bytes:
    """A raw 32-byte encoding, however non-canonical."""
    return (y | sign << 255).to_bytes(32, "little")


def hostile_section() -> dict[str, Any]:
    P = ed25519_basic.Q
    receiver, sender = Side("receiver", CODE, "hostile receiver"), Side("sender", CODE, "hostile sender")
    good_a, good_b = sender.message[1:], receiver.message[1:]
    eight_encoded = _low_order_points()[1][0]
    mixed = ed25519_basic.bytes_to_element(good_a).add(ed25519_basic.bytes_to_unknown_group_element(eight_encoded))
    cases: list[tuple[str, Side, bytes, str]] = [
        ("empty", receiver, b"", "length"),
        ("the element alone, no side byte", receiver, good_a, "length"),
        ("34 bytes", receiver, b"A" + good_a + b"\x00", "length"),
        ("32 bytes and a side byte", receiver, b"A" + good_a[:31], "length"),
        ("side byte B to a receiver", receiver, b"B" + good_a, "side"),
        ("side byte A to a sender", sender, b"A" + good_b, "side"),
        ("side byte S (symmetric)", receiver, b"S" + good_a, "side"),
        ("side byte a (lower case)", receiver, b"a" + good_a, "side"),
        ("y = p (0 unreduced)", receiver, b"A" + _element(P), "canonical"),
        ("y = p + 1 (the identity's y unreduced)", receiver, b"A" + _element(P + 1), "canonical"),
        ("y = p + 2 (off the curve too)", receiver, b"A" + _element(P + 2), "canonical"),
        ("y = 2^255 - 1", receiver, b"A" + _element(2**255 - 1), "canonical"),
        ("the identity with the sign bit set (x = 0 has no negative)", receiver, b"A" + _element(1, 1), "canonical"),
        ("the point of order 2 with the sign bit set", receiver, b"A" + _element(P - 1, 1), "canonical"),
        ("y = 2: no x on the curve", receiver, b"A" + _element(2), "on-curve"),
        ("y = 7 with the sign bit: no x on the curve", receiver, b"A" + _element(7, 1), "on-curve"),
        ("the identity", receiver, b"A" + ed25519_basic.Zero.to_bytes(), "identity"),
    ]
    for k, (encoded, order) in enumerate(_low_order_points()):
        if order > 1:
            cases.append((f"low-order point {k}*T (order {order})", receiver, b"A" + encoded, "subgroup"))
    cases += [
        ("mixed order: a good element plus a point of order 8", receiver, b"A" + mixed.to_bytes(), "subgroup"),
        ("reflected: the receiver's own element, as from A", receiver, b"A" + good_b, "reflection"),
        ("reflected: the sender's own element, as from B", sender, b"B" + good_a, "reflection"),
    ]
    return {
        "_about": (
            "PAKE messages that must be refused with bad-handshake before the PAKE finishes (design section 3). "
            "role: the side that receives the message, with its code and 64 bytes of entropy (so its own message, "
            "for reflection, is fixed). message: hex, possibly not 33 bytes. refused_by: the first check, in the "
            "design's order, that refuses it: length (33 bytes), side (the other side's byte), canonical (y < p, "
            "and no sign bit on x = 0), on-curve, identity, subgroup ([L]P is the identity), reflection (our "
            "own element). The eight low-order points are k*T for T of order 8; the identity (k = 0) is "
            "refused as the identity."
        ),
        "cases": [
            {
                "name": name,
                "role": side.role,
                "code": side.code,
                "entropy": side.entropy.hex(),
                "message": m.hex(),
                "refused_by": why,
            }
            for name, side, m, why in cases
        ],
    }


# -- seal ----------------------------------------------------------------------------

SEAL_KEY = entropy("seal key", 32)
SEAL_CASES = [
    ("offer", {"sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}, 0),
    ("answer", {"sdp": 'v=0\r\ns=caf\u00e9 \U0001f600 "quoted" \\ \u0001\r\n'}, 0),
    ("candidate", {"candidate": None}, 7),
]


def _stray_bits(data: str) -> str:
    """The same bytes spelled with a non-zero unused bit in the last base64 character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    body = data.rstrip("=")
    assert len(body) < len(data), "needs padding to have unused bits"
    last = alphabet[alphabet.index(body[-1]) + 1]
    return body[:-1] + last + data[len(body) :]


def seal_section() -> dict[str, Any]:
    accepted = []
    for index, (kind, fields, n) in enumerate(SEAL_CASES):
        iv = entropy(f"seal iv {index}", 12)
        text = plaintext(n, fields)
        accepted.append(
            {
                "key": SEAL_KEY.hex(),
                "iv": iv.hex(),
                "type": kind,
                "plaintext": text.decode("utf-8"),
                "data": aes_seal(SEAL_KEY, kind, text, iv),
            }
        )
    good = accepted[0]["data"]
    assert good.endswith("=") and not good.endswith("==")
    raw_len = len(base64.b64decode(good))
    tampered = [
        ("a bit of the IV flipped", "offer", SEAL_KEY, flip(good, 0)),
        ("a bit of the ciphertext flipped", "offer", SEAL_KEY, flip(good, 12)),
        ("a bit of the tag flipped", "offer", SEAL_KEY, flip(good, -1, 7)),
        ("opened as another type (associated data)", "candidate", SEAL_KEY, good),
        ("opened with another key", "offer", entropy("another key", 32), good),
        ("the other direction's key", "offer", hkdf(SEAL_KEY, "x"), good),
        ("the tag cut off", "offer", SEAL_KEY, b64(base64.b64decode(good)[: raw_len - 16])),
        ("27 bytes: shorter than IV and tag", "offer", SEAL_KEY, b64(base64.b64decode(good)[:27])),
        ("IV and tag only, the tag wrong", "offer", SEAL_KEY, b64(base64.b64decode(good)[:28])),
        ("empty", "offer", SEAL_KEY, ""),
        ("padding missing", "offer", SEAL_KEY, good.rstrip("=")),
        ("a line break inside", "offer", SEAL_KEY, good[:20] + "\n" + good[20:]),
        ("a space at the end", "offer", SEAL_KEY, good + " "),
        ("the URL-safe alphabet", "offer", SEAL_KEY, good.replace("+", "-").replace("/", "_")),
        ("unused bits set in the last character (same bytes, not canonical)", "offer", SEAL_KEY, _stray_bits(good)),
    ]
    assert "+" in good or "/" in good, "the URL-safe case must differ"
    return {
        "_about": (
            "Sealed signals (design section 3): AES-256-GCM, key = the sending side's seal key, IV = 12 bytes, "
            "associated data = ASCII of the type, data = base64(IV || ciphertext || 16-byte tag), RFC 4648 "
            "with padding, only the canonical spelling. accepted: sealing plaintext (UTF-8 of the given JSON "
            "text) with key and iv gives data, and opening data gives it back. tampered: data that must not "
            "open as that type with that key (tampered)."
        ),
        "accepted": accepted,
        "tampered": [{"why": w, "type": t, "key": k.hex(), "data": d} for w, t, k, d in tampered],
    }


# -- handshake -----------------------------------------------------------------------

OFFER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AB:CD:EF\r\n"
ANSWER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=r\u00e9ponse\r\nt=0 0\r\na=fingerprint:sha-256 12:34:56\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "Ab3d",
}


class Exchange:
    """One handshake case: the side under test (``me``, its expected behaviour) against
    the other side (``them``, whose signals a test feeds in, honest or not)."""

    def __init__(self, name: str, role: str, *, their_code: str = CODE) -> None:
        other = "receiver" if role == "sender" else "sender"
        self.name, self.role = name, role
        self.me, self.them = Side(role, CODE, f"{name} me"), Side(other, their_code, f"{name} them")
        self.ivs: list[bytes] = []
        self.steps: list[dict[str, Any]] = []

    def keys(self, *, their_message: bytes | None = None) -> None:
        """Both reference sides finish; ``their_message`` is what reached us, if altered."""
        self.them.finish(self.me.message)
        self.me.finish(their_message or self.them.message)

    def iv(self) -> bytes:
        iv = entropy(f"{self.name} iv {len(self.ivs)}", 12)
        self.ivs.append(iv)
        return iv

    def their_seal(self, kind: str, fields: dict[str, Any]) -> dict[str, str]:
        return self.them.seal(kind, fields, entropy(f"{self.name} their iv {self.them.sealed}", 12))

    def their_raw(self, kind: str, text: bytes, *, key: bytes | None = None) -> dict[str, str]:
        """A sealed signal with any plaintext (or key): what an honest peer never sends."""
        iv = entropy(f"{self.name} their raw iv {len(self.steps)}", 12)
        return {"type": kind, "data": aes_seal(key or self.them.seal_key, kind, text, iv)}

    def peer_joined(self, pake: str | None = None, *, error_id: str | None = None) -> None:
        step: dict[str, Any] = {"peer_joined": pake or b64(self.them.message)}
        step.update({"error_id": error_id} if error_id else {"send": [self.me.pake, self.me.confirm]})
        self.steps.append(step)

    def receive(
        self, signal: dict[str, Any], *, send: list | None = None, opened: Any = None, error_id: str | None = None
    ) -> None:
        step: dict[str, Any] = {"in": signal}
        step.update({"error_id": error_id} if error_id else {"send": send or [], "open": opened})
        self.steps.append(step)

    def seal(self, kind: str, fields: dict[str, Any]) -> None:
        self.steps.append({"seal": {"type": kind, "fields": fields}, "send": [self.me.seal(kind, fields, self.iv())]})

    def case(self) -> dict[str, Any]:
        errors = [step["error_id"] for step in self.steps if "error_id" in step]
        assert len(errors) <= 1 and (not errors or "error_id" in self.steps[-1])
        return {
            "name": self.name,
            "role": self.role,
            "code": CODE,
            "entropy": self.me.entropy.hex(),
            "ivs": [iv.hex() for iv in self.ivs],
            "pake": b64(self.me.message),
            "steps": self.steps,
            "outcome": errors[0] if errors else "trusted",
        }


def _receiver_up_to_trust(name: str, **options: Any) -> Exchange:
    exchange = Exchange(name, "receiver", **options)
    exchange.keys()
    exchange.receive(exchange.them.pake, send=[exchange.me.confirm])
    exchange.receive(exchange.them.confirm)
    return exchange


def _with_offer(exchange: Exchange) -> Exchange:
    exchange.receive(exchange.their_seal("offer", {"sdp": OFFER}), opened={"type": "offer", "sdp": OFFER})
    return exchange


def _bad_low_bit(message: bytes) -> bytes:
    """The message with the lowest bit flipped of the first byte whose flip the spake2
    package itself refuses (off the curve or outside the subgroup)."""
    for index in range(1, 33):
        flipped = bytearray(message)
        flipped[index] ^= 1
        try:
            ed25519_basic.bytes_to_element(bytes(flipped[1:]))
        except (ValueError, ed25519_basic.NotOnCurve):
            return bytes(flipped)
    raise AssertionError("no flip made it invalid")


def receiver_cases() -> list[Exchange]:
    cases = []

    e = _with_offer(_receiver_up_to_trust("receiver: a good exchange"))
    e.receive(e.their_seal("candidate", {"candidate": CANDIDATE}), opened={"type": "candidate", "candidate": CANDIDATE})
    e.seal("answer", {"sdp": ANSWER})
    e.seal("candidate", {"candidate": CANDIDATE})
    e.receive(e.their_seal("candidate", {"candidate": None}), opened={"type": "candidate", "candidate": None})
    e.seal("candidate", {"candidate": None})
    cases.append(e)

    for name, their_code in [
        ("receiver: the sender has other words", "4821-river-fox-lunch"),
        ("receiver: the sender has another slot, the same words", "4822-river-fox-lunar"),
    ]:
        e = Exchange(name, "receiver", their_code=their_code)
        e.keys()
        e.receive(e.them.pake, send=[e.me.confirm])
        e.receive(e.them.confirm, error_id="wrong-code")
        cases.append(e)

    e = Exchange("receiver: a bit of the confirmation flipped", "receiver")
    e.keys()
    e.receive(e.them.pake, send=[e.me.confirm])
    e.receive({"type": "confirm", "data": flip(e.them.confirm["data"], 5)}, error_id="wrong-code")
    cases.append(e)

    e = Exchange("receiver: the sign bit of the sender's element flipped (a valid point, other keys)", "receiver")
    altered = bytearray(e.them.message)
    altered[32] ^= 0x80
    e.keys(their_message=bytes(altered))
    e.receive({"type": "pake", "data": b64(bytes(altered))}, send=[e.me.confirm])
    e.receive(e.them.confirm, error_id="wrong-code")
    cases.append(e)

    e = Exchange("receiver: a low bit of the sender's element flipped (no valid point)", "receiver")
    e.receive({"type": "pake", "data": b64(_bad_low_bit(e.them.message))}, error_id="bad-handshake")
    cases.append(e)

    e = Exchange("receiver: a pake that is not base64", "receiver")
    e.receive({"type": "pake", "data": b64(e.them.message)[:-1]}, error_id="bad-handshake")
    cases.append(e)

    e = Exchange("receiver: a confirmation of 31 bytes", "receiver")
    e.keys()
    e.receive(e.them.pake, send=[e.me.confirm])
    e.receive({"type": "confirm", "data": b64(e.them.confirm_a[:31])}, error_id="bad-handshake")
    cases.append(e)

    e = Exchange("receiver: a confirmation before the pake", "receiver")
    e.keys()
    e.receive(e.them.confirm, error_id="tampered")
    cases.append(e)

    e = Exchange("receiver: the sealed offer before the confirmation", "receiver")
    e.keys()
    e.receive(e.them.pake, send=[e.me.confirm])
    e.receive(e.their_seal("offer", {"sdp": OFFER}), error_id="tampered")
    cases.append(e)

    e = Exchange("receiver: a second pake", "receiver")
    e.keys()
    e.receive(e.them.pake, send=[e.me.confirm])
    e.receive(e.them.pake, error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: a second confirmation")
    e.receive(e.them.confirm, error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: a bit of the sealed offer flipped")
    e.receive({"type": "offer", "data": flip(e.their_seal("offer", {"sdp": OFFER})["data"], 20)}, error_id="tampered")
    cases.append(e)

    e = _with_offer(_receiver_up_to_trust("receiver: a sealed candidate replayed"))
    candidate = e.their_seal("candidate", {"candidate": CANDIDATE})
    e.receive(candidate, opened={"type": "candidate", "candidate": CANDIDATE})
    e.receive(candidate, error_id="tampered")
    cases.append(e)

    e = _with_offer(_receiver_up_to_trust("receiver: sealed candidates reordered"))
    e.their_seal("candidate", {"candidate": CANDIDATE})
    e.receive(e.their_seal("candidate", {"candidate": None}), error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: an answer, which a receiver never receives")
    e.receive(e.their_seal("answer", {"sdp": OFFER}), error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: the sealed offer relayed as a candidate")
    e.receive({"type": "candidate", "data": e.their_seal("offer", {"sdp": OFFER})["data"]}, error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: an offer sealed with the receiver's own key (reflected)")
    e.receive(e.their_raw("offer", plaintext(0, {"sdp": OFFER}), key=e.them.seal_b), error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: a candidate first, before the offer")
    e.receive(e.their_seal("candidate", {"candidate": None}), error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: an unknown signal type")
    e.receive({"type": "hello", "data": b64(b"hello")}, error_id="tampered")
    cases.append(e)

    schema_breaks = [
        ("receiver: an offer with an extra field", "offer", plaintext(0, {"sdp": OFFER, "x": 1})),
        ("receiver: an offer with an empty sdp", "offer", plaintext(0, {"sdp": ""})),
        ("receiver: an offer whose sdp is a number", "offer", plaintext(0, {"sdp": 1})),
        ("receiver: an offer without n", "offer", json.dumps({"sdp": OFFER}).encode()),
        ("receiver: an offer numbered 1", "offer", plaintext(1, {"sdp": OFFER})),
        ("receiver: an offer numbered true", "offer", plaintext(True, {"sdp": OFFER})),
        ("receiver: a plaintext that is not JSON", "offer", b"not json"),
        ("receiver: a plaintext that is a JSON array", "offer", b"[0]"),
        ("receiver: a plaintext that is not UTF-8", "offer", b'{"n":0,"sdp":"\xff"}'),
    ]
    for name, kind, text in schema_breaks:
        e = _receiver_up_to_trust(name)
        e.receive(e.their_raw(kind, text), error_id="tampered")
        cases.append(e)

    candidate_breaks = [
        (
            "receiver: a candidate without usernameFragment",
            {k: v for k, v in CANDIDATE.items() if k != "usernameFragment"},
        ),
        ("receiver: a candidate with an extra field", {**CANDIDATE, "x": 1}),
        ("receiver: a candidate with sdpMLineIndex 256", {**CANDIDATE, "sdpMLineIndex": 256}),
        ("receiver: a candidate with sdpMLineIndex -1", {**CANDIDATE, "sdpMLineIndex": -1}),
        ("receiver: a candidate with sdpMLineIndex 0.5", {**CANDIDATE, "sdpMLineIndex": 0.5}),
        ("receiver: a candidate with sdpMid of 65 characters", {**CANDIDATE, "sdpMid": "m" * 65}),
        ("receiver: a candidate line of 1025 characters", {**CANDIDATE, "candidate": "c" * 1025}),
        ("receiver: a candidate that is a string", "candidate:1 1 udp 1 1.2.3.4 5 typ host"),
    ]
    for name, value in candidate_breaks:
        e = _with_offer(_receiver_up_to_trust(name))
        e.receive(e.their_raw("candidate", plaintext(1, {"candidate": value})), error_id="tampered")
        cases.append(e)

    e = _with_offer(_receiver_up_to_trust("receiver: limits exactly reached, sdpMLineIndex 1.0 and nulls"))
    edge = {"candidate": "c" * 1024, "sdpMid": None, "sdpMLineIndex": 255, "usernameFragment": "u" * 256}
    e.receive(e.their_seal("candidate", {"candidate": edge}), opened={"type": "candidate", "candidate": edge})
    e.receive(
        e.their_raw(
            "candidate",
            b'{"n":2,"candidate":{"candidate":"","sdpMid":"\\ud83d\\ude00","sdpMLineIndex":1.0,"usernameFragment":null}}',
        ),
        opened={
            "type": "candidate",
            "candidate": {"candidate": "", "sdpMid": "\U0001f600", "sdpMLineIndex": 1, "usernameFragment": None},
        },
    )
    cases.append(e)

    e = _with_offer(_receiver_up_to_trust("receiver: a reconnection (PROTOCOL.md 4.6)"))
    e.seal("answer", {"sdp": ANSWER})
    e.receive(e.their_seal("offer", {"sdp": OFFER, "attempt": 1}), opened={"type": "offer", "sdp": OFFER, "attempt": 1})
    e.receive(
        e.their_seal("candidate", {"candidate": None}), opened={"type": "candidate", "candidate": None}
    )  # of attempt 0, late: opened, and the peer drops it
    e.seal("answer", {"sdp": ANSWER, "attempt": 1})
    e.seal("candidate", {"candidate": CANDIDATE, "attempt": 1})
    e.receive(e.their_seal("offer", {"sdp": OFFER, "attempt": 3}), opened={"type": "offer", "sdp": OFFER, "attempt": 3})
    e.receive(
        e.their_seal("candidate", {"candidate": CANDIDATE, "attempt": 3}),
        opened={"type": "candidate", "candidate": CANDIDATE, "attempt": 3},
    )
    cases.append(e)

    for name, fields, error in [
        ("receiver: a second offer without an attempt", {"sdp": OFFER}, "tampered"),
        ("receiver: a second offer of attempt 0", {"sdp": OFFER, "attempt": 0}, "tampered"),
        ("receiver: an attempt over 1000", {"sdp": OFFER, "attempt": 1001}, "tampered"),
        ("receiver: an attempt of 1.5", {"sdp": OFFER, "attempt": 1.5}, "tampered"),
    ]:
        e = _with_offer(_receiver_up_to_trust(name))
        e.receive(e.their_seal("offer", fields), error_id=error)
        cases.append(e)

    e = _with_offer(_receiver_up_to_trust("receiver: an older attempt's offer again (a replay, renumbered)"))
    e.receive(e.their_seal("offer", {"sdp": OFFER, "attempt": 2}), opened={"type": "offer", "sdp": OFFER, "attempt": 2})
    e.receive(e.their_seal("offer", {"sdp": OFFER, "attempt": 2}), error_id="tampered")
    cases.append(e)

    e = _with_offer(_receiver_up_to_trust("receiver: a candidate of an attempt whose offer has not come"))
    e.receive(e.their_seal("candidate", {"candidate": CANDIDATE, "attempt": 1}), error_id="tampered")
    cases.append(e)

    e = _receiver_up_to_trust("receiver: a first offer with an attempt")
    e.receive(e.their_seal("offer", {"sdp": OFFER, "attempt": 1}), error_id="tampered")
    cases.append(e)
    return cases


def sender_cases() -> list[Exchange]:
    cases = []

    e = Exchange("sender: a good exchange", "sender")
    e.keys()
    e.peer_joined()
    e.seal("offer", {"sdp": OFFER})
    e.seal("candidate", {"candidate": CANDIDATE})
    e.receive(e.them.confirm)
    e.receive(e.their_seal("answer", {"sdp": ANSWER}), opened={"type": "answer", "sdp": ANSWER})
    e.receive(e.their_seal("candidate", {"candidate": CANDIDATE}), opened={"type": "candidate", "candidate": CANDIDATE})
    e.seal("candidate", {"candidate": None})
    cases.append(e)

    e = Exchange("sender: the receiver has other words", "sender", their_code="4821-rival-fox-lunar")
    e.keys()
    e.peer_joined()
    e.seal("offer", {"sdp": OFFER})
    e.receive(e.them.confirm, error_id="wrong-code")
    cases.append(e)

    e = Exchange("sender: the sign bit of the receiver's element flipped in peer_joined", "sender")
    altered = bytearray(e.them.message)
    altered[32] ^= 0x80
    e.keys(their_message=bytes(altered))
    e.peer_joined(b64(bytes(altered)))
    e.receive(e.them.confirm, error_id="wrong-code")
    cases.append(e)

    e = Exchange("sender: its own confirmation reflected back", "sender")
    e.keys()
    e.peer_joined()
    e.receive(e.me.confirm, error_id="wrong-code")
    cases.append(e)

    e = Exchange("sender: the identity in peer_joined", "sender")
    e.peer_joined(b64(b"B" + ed25519_basic.Zero.to_bytes()), error_id="bad-handshake")
    cases.append(e)

    e = Exchange("sender: its own element reflected in peer_joined", "sender")
    e.peer_joined(b64(b"B" + e.me.message[1:]), error_id="bad-handshake")
    cases.append(e)

    e = Exchange("sender: a signal before peer_joined", "sender")
    e.keys()
    e.receive(e.them.confirm, error_id="tampered")
    cases.append(e)

    e = Exchange("sender: the sealed answer before the confirmation", "sender")
    e.keys()
    e.peer_joined()
    e.receive(e.their_seal("answer", {"sdp": ANSWER}), error_id="tampered")
    cases.append(e)

    e = Exchange("sender: a pake signal (the receiver's pake comes in peer_joined)", "sender")
    e.keys()
    e.peer_joined()
    e.receive(e.them.pake, error_id="tampered")
    cases.append(e)

    e = Exchange("sender: an offer, which a sender never receives", "sender")
    e.keys()
    e.peer_joined()
    e.receive(e.them.confirm)
    e.receive(e.their_seal("offer", {"sdp": ANSWER}), error_id="tampered")
    cases.append(e)

    e = Exchange("sender: a bit of the sealed answer flipped", "sender")
    e.keys()
    e.peer_joined()
    e.receive(e.them.confirm)
    e.receive(
        {"type": "answer", "data": flip(e.their_seal("answer", {"sdp": ANSWER})["data"], -3)}, error_id="tampered"
    )
    cases.append(e)

    e = Exchange("sender: a sealed answer replayed", "sender")
    e.keys()
    e.peer_joined()
    e.receive(e.them.confirm)
    answer = e.their_seal("answer", {"sdp": ANSWER})
    e.receive(answer, opened={"type": "answer", "sdp": ANSWER})
    e.receive(answer, error_id="tampered")
    cases.append(e)

    e = Exchange("sender: a reconnection (PROTOCOL.md 4.6)", "sender")
    e.keys()
    e.peer_joined()
    e.seal("offer", {"sdp": OFFER})
    e.receive(e.them.confirm)
    e.receive(e.their_seal("answer", {"sdp": ANSWER}), opened={"type": "answer", "sdp": ANSWER})
    e.seal("offer", {"sdp": OFFER, "attempt": 1})
    e.seal("candidate", {"candidate": CANDIDATE, "attempt": 1})
    e.receive(
        e.their_seal("answer", {"sdp": ANSWER, "attempt": 1}), opened={"type": "answer", "sdp": ANSWER, "attempt": 1}
    )
    e.receive(
        e.their_seal("candidate", {"candidate": CANDIDATE, "attempt": 1}),
        opened={"type": "candidate", "candidate": CANDIDATE, "attempt": 1},
    )
    cases.append(e)

    e = Exchange("sender: an answer to an attempt it never offered", "sender")
    e.keys()
    e.peer_joined()
    e.seal("offer", {"sdp": OFFER})
    e.receive(e.them.confirm)
    e.receive(e.their_seal("answer", {"sdp": ANSWER}), opened={"type": "answer", "sdp": ANSWER})
    e.receive(e.their_seal("answer", {"sdp": ANSWER, "attempt": 1}), error_id="tampered")
    cases.append(e)
    return cases


def handshake_section() -> dict[str, Any]:
    return {
        "_about": (
            "Whole handshakes driving ONE Handshake (design section 3) with fixed randomness: role and code; "
            "entropy: the 64 bytes its entropy source returns (one call); ivs: what its IV source returns, 12 "
            "bytes per seal, in order; pake: its own message (base64), known at once. steps, in order: "
            "{peer_joined: base64} (sender) or {in: signal} -> send: the signals it returns, open: the inner "
            "signal it returns (or null); {seal: {type, fields}} -> send: [the one signal seal returns]. A step "
            "with error_id instead must raise that error (and is the last). Sealed data must match byte for "
            "byte: the plaintext is compact JSON, n first, then the fields in schema order (sdp; candidate "
            "{candidate, sdpMid, sdpMLineIndex, usernameFragment}), non-ASCII written as itself. outcome: "
            "trusted, or the error id."
        ),
        "cases": [exchange.case() for exchange in receiver_cases() + sender_cases()],
    }


# -- ice (PROTOCOL.md 3.5), written out by hand -----------------------------------------

#: (local, remote, remote_signalled) -> route
ROUTES: list[tuple[str, str, str | None, str]] = [
    ("host", "host", None, "lan"),
    ("host", "srflx", None, "nat"),
    ("srflx", "host", None, "nat"),
    ("srflx", "srflx", None, "nat"),
    ("host", "prflx", None, "nat"),
    ("host", "prflx", "host", "lan"),
    ("host", "prflx", "srflx", "nat"),
    ("prflx", "host", None, "nat"),
    ("prflx", "prflx", None, "nat"),
    ("relay", "host", None, "relay"),
    ("host", "relay", None, "relay"),
    ("relay", "relay", None, "relay"),
    ("host", "prflx", "relay", "relay"),
    ("srflx", "relay", None, "relay"),
]


def _seen(
    policy: str = "all",
    stun: bool = True,
    turn: bool = True,
    local: tuple[str, ...] = ("host", "srflx", "relay"),
    remote: tuple[str, ...] = ("host", "srflx", "relay"),
    turn_error: str | None = None,
) -> dict[str, Any]:
    return {
        "policy": policy,
        "stun": stun,
        "turn": turn,
        "local": list(local),
        "remote": list(remote),
        "turn_error": turn_error,
    }


#: (name, facts, reason)
FAILURES: list[tuple[str, dict[str, Any], str]] = [
    ("relay only, no TURN", _seen(policy="relay", turn=False, local=(), remote=()), "relay-unavailable"),
    ("relay only without TURN, even with STUN", _seen(policy="relay", turn=False, local=()), "relay-unavailable"),
    ("a refused allocation", _seen(local=("host", "srflx"), turn_error="refused"), "turn-refused"),
    ("a refused allocation, relay only", _seen(policy="relay", local=(), turn_error="refused"), "turn-refused"),
    ("a relay that did not answer", _seen(local=("host", "srflx"), turn_error="unreachable"), "turn-unreachable"),
    ("an unreachable relay that still gave a candidate", _seen(turn_error="unreachable"), "no-path"),
    ("nothing gathered", _seen(local=(), remote=("host",)), "no-local-candidates"),
    ("nothing signalled by the peer", _seen(remote=()), "no-remote-candidates"),
    ("no servers, two networks", _seen(stun=False, turn=False, local=("host",), remote=("host",)), "no-stun"),
    ("STUN only, symmetric NATs", _seen(turn=False, local=("host", "srflx"), remote=("host", "srflx")), "needs-turn"),
    ("STUN only, peer reflexive seen", _seen(turn=False, local=("host",), remote=("prflx",)), "needs-turn"),
    ("TURN only, no relay path either", _seen(stun=False, local=("host", "relay"), remote=("relay",)), "no-path"),
    ("everything configured and gathered", _seen(), "no-path"),
    ("relay only with TURN working", _seen(policy="relay", local=("relay",), remote=("host",)), "no-path"),
]

_SIGNALLED = [
    ["host", "192.0.2.10", 50000],
    ["srflx", "198.51.100.2", 50000],
    ["host", "3f1c0a52-8e1b-4c8e-9f57-0d8f6a3c2b1e.local", 40001],
    ["relay", "198.51.100.10", 49160],
]
#: (prflx remote host, port, what the peer signalled, the type it counts as)
SIGNALLED: list[tuple[str, int, list[list[Any]], str | None]] = [
    ("192.0.2.10", 50000, _SIGNALLED, "host"),
    ("198.51.100.2", 50000, _SIGNALLED, "srflx"),
    ("198.51.100.10", 49160, _SIGNALLED, "relay"),
    ("192.0.2.11", 40001, _SIGNALLED, "host"),
    ("192.0.2.11", 40002, _SIGNALLED, None),
    ("192.0.2.10", 50001, _SIGNALLED, None),
    ("192.0.2.11", 40001, [["host", "a.LOCAL", 40001]], "host"),
    ("192.0.2.11", 40001, [["srflx", "x.local", 40001]], None),
    ("192.0.2.11", 40001, [["host", "local", 40001]], None),
    ("192.0.2.11", 40001, [], None),
]

#: (ice_servers, has STUN, has TURN)
SERVER_KINDS: list[tuple[list[dict[str, Any]], bool, bool]] = [
    ([], False, False),
    ([{"urls": "stun:198.51.100.10:3478"}], True, False),
    ([{"urls": ["stuns:198.51.100.10"]}], True, False),
    ([{"urls": "turn:198.51.100.10:3478", "username": "u", "credential": "p"}], False, True),
    ([{"urls": ["turns:198.51.100.10:5349?transport=tcp"], "username": "u", "credential": "p"}], False, True),
    (
        [{"urls": ["stun:198.51.100.10:3478", "turn:198.51.100.10:3478?transport=udp"]}],
        True,
        True,
    ),
    ([{"urls": "stun:198.51.100.10"}, {"urls": "TURN:198.51.100.10", "username": "u", "credential": "p"}], True, True),
]


def ice_section() -> dict[str, Any]:
    return {
        "_about": "PROTOCOL.md 3.5. routes: the selected pair's candidate types (remote_signalled: the type of a "
        "signalled candidate at a prflx remote's address, or null) -> route. failures: the facts a side saw -> "
        "the error id it reports. server_kinds: an ice_servers list -> whether it has a STUN and a TURN URL "
        "(schemes compared case-insensitively). signalled: a prflx remote's host and port, and the candidates the "
        "peer signalled as [type, host, port] -> the type it counts as, or null.",
        "routes": [
            {"local": local, "remote": remote, "remote_signalled": signalled, "route": route}
            for local, remote, signalled, route in ROUTES
        ],
        "failures": [{"name": name, "seen": seen, "error_id": reason} for name, seen, reason in FAILURES],
        "server_kinds": [{"ice_servers": servers, "stun": stun, "turn": turn} for servers, stun, turn in SERVER_KINDS],
        "signalled": [
            {"host": host, "port": port, "signalled": offered, "type": kind} for host, port, offered, kind in SIGNALLED
        ],
    }


# -- the file ------------------------------------------------------------------------


def sections() -> dict[str, Any]:
    return {
        "codes": codes_section(),
        "pake": pake_section(),
        "hostile_points": hostile_section(),
        "seal": seal_section(),
        "handshake": handshake_section(),
        "transcripts": transcripts_section(),
        "ice": ice_section(),
    }


def updated(vectors: dict[str, Any]) -> dict[str, Any]:
    """The vectors with our sections replaced (in place, or appended), the others kept."""
    return {"_about": ABOUT, **{k: v for k, v in vectors.items() if k != "_about"}, **sections()}


def render(vectors: dict[str, Any]) -> str:
    """The file's text: one space of indent, printable characters as themselves and the
    rest (controls, format characters, odd spaces) escaped, so none hides in the file."""
    text = json.dumps(vectors, indent=1, ensure_ascii=False) + "\n"
    return "".join(char if char == "\n" or char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    # A lone surrogate (a name a case means to be refused) is written as its one unit.
    units = char.encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2], 'big'):04x}" for i in range(0, len(units), 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.make_vectors", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the file is up to date")
    args = parser.parse_args(argv)
    text = render(updated(json.loads(PATH.read_text("utf-8"))))
    if args.check:
        fresh = PATH.read_text("utf-8") == text
        print(f"{PATH}: {'up to date' if fresh else 'out of date'}")
        return 0 if fresh else 1
    PATH.write_text(text, "utf-8")
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
