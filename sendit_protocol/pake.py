"""The handshake's PAKE (docs/PROTOCOL.md 3): SPAKE2 on Ed25519 as the `spake2` package
(magic-wormhole's) does it, with every inbound message checked before the package sees it,
and the keys derived from its result.

The sender is side A, the receiver side B; a message is the side byte and a 32-byte
encoded curve point. The package would refuse some bad points itself, but the checks are
the protocol's, so they are made here, one by one, each its own refusal: the browser's
port makes the same ones against the same vectors.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field
from typing import Callable, Literal

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from spake2 import SPAKE2_A, SPAKE2_B  # type: ignore[import-untyped]
from spake2.parameters.ed25519 import ParamsEd25519  # type: ignore[import-untyped]

from .errors import BadHandshake

Role = Literal["sender", "receiver"]
ROLES: tuple[Role, ...] = ("sender", "receiver")
ID_SENDER = b"sendit/v2/sender"
ID_RECEIVER = b"sendit/v2/receiver"
SIDE_A, SIDE_B = b"A", b"B"
ELEMENT_LENGTH = 32
MESSAGE_LENGTH = 1 + ELEMENT_LENGTH
KEY_LENGTH = 32

# Edwards25519: -x^2 + y^2 = 1 + d x^2 y^2 over GF(p), prime-order subgroup of order L.
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1, 1, 0)


@dataclass(frozen=True)
class Keys:
    """What one handshake yields: the PAKE key and the four keys derived from it."""

    key: bytes = field(repr=False)
    confirm_a: bytes = field(repr=False)
    confirm_b: bytes = field(repr=False)
    seal_a: bytes = field(repr=False)
    seal_b: bytes = field(repr=False)


def derive_keys(key: bytes) -> Keys:
    return Keys(
        key=key,
        confirm_a=_hkdf(key, b"sendit/v2 confirm A"),
        confirm_b=_hkdf(key, b"sendit/v2 confirm B"),
        seal_a=_hkdf(key, b"sendit/v2 seal A"),
        seal_b=_hkdf(key, b"sendit/v2 seal B"),
    )


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"", info=info).derive(key)


def same(expected: bytes, received: bytes) -> bool:
    """Constant-time equality, so a confirmation leaks nothing by how soon it fails."""
    return hmac.compare_digest(expected, received)


class Pake:
    """One side of one SPAKE2 exchange: ``message`` to send, ``finish`` with the other's."""

    def __init__(self, role: Role, password: bytes, *, entropy: Callable[[int], bytes] = os.urandom) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        side = SPAKE2_A if role == "sender" else SPAKE2_B
        self._spake = side(password, idA=ID_SENDER, idB=ID_RECEIVER, params=ParamsEd25519, entropy_f=entropy)
        self._their_side = SIDE_B if role == "sender" else SIDE_A
        #: Our 33-byte message.
        self.message: bytes = self._spake.start()

    def finish(self, message: bytes) -> Keys:
        """The keys, from the other side's message; :class:`BadHandshake` if it is no valid one."""
        check_message(message, self._their_side, self.message[1:])
        return derive_keys(self._spake.finish(message))


def check_message(message: bytes, their_side: bytes, our_element: bytes) -> None:
    """Refuse, with :class:`BadHandshake`, anything but a good message from the other side."""
    if len(message) != MESSAGE_LENGTH:
        raise BadHandshake(f"a handshake message is {MESSAGE_LENGTH} bytes")
    if message[:1] != their_side:
        raise BadHandshake("the handshake message is not from the other side")
    element = message[1:]
    point = _decode(element)
    if _is_identity(point):
        raise BadHandshake("the handshake element is the identity")
    if not _is_identity(_multiply(point, _L)):
        raise BadHandshake("the handshake element is not in the prime-order subgroup")
    if element == our_element:
        raise BadHandshake("the handshake message is our own, reflected")


def _decode(element: bytes) -> tuple[int, int, int, int]:
    """An encoded point to extended coordinates (RFC 8032 5.1.3), refusing any encoding
    but the one canonical encoding of a point of the curve."""
    encoded = int.from_bytes(element, "little")
    y, sign = encoded & (2**255 - 1), encoded >> 255
    if y >= _P:
        raise BadHandshake("the handshake element is not canonically encoded")
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P:
        x = x * _SQRT_M1 % _P
    if (v * x * x - u) % _P:
        raise BadHandshake("the handshake element is not on the curve")
    if x & 1 != sign:
        x = -x % _P
    # x = 0 has no negative: its encoding with the sign bit set is a second encoding.
    if _encode(x, y) != element:
        raise BadHandshake("the handshake element is not canonically encoded")
    return x, y, 1, x * y % _P


def _encode(x: int, y: int) -> bytes:
    return (y | (x & 1) << 255).to_bytes(ELEMENT_LENGTH, "little")


def _is_identity(point: tuple[int, int, int, int]) -> bool:
    x, y, z, _ = point
    return x % _P == 0 and (y - z) % _P == 0


def _add(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    # The unified formula (add-2008-hwcd-3) is complete on this curve: it holds for
    # doubling, the identity and the low-order points, which are what it must judge.
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a, b = (y1 - x1) * (y2 - x2) % _P, (y1 + x1) * (y2 + x2) % _P
    c, d = 2 * _D * t1 * t2 % _P, 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % _P, g * h % _P, f * g % _P, e * h % _P


def _multiply(point: tuple[int, int, int, int], scalar: int) -> tuple[int, int, int, int]:
    result = _IDENTITY
    for bit in bin(scalar)[2:]:
        result = _add(result, result)
        if bit == "1":
            result = _add(result, point)
    return result
