"""sendit_protocol.pake: agreement, derivations, and the refusals of section 3.

The hostile points themselves are in docs/protocol-vectors.json (tests/protocol/test_vectors.py)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from spake2 import SPAKE2_A, SPAKE2_B

from sendit_protocol.errors import BadHandshake, ErrorId
from sendit_protocol.pake import MESSAGE_LENGTH, Pake, derive_keys, same


def _entropy(seed: bytes):
    return lambda n: hashlib.shake_256(seed).digest(n)


def test_both_sides_agree_on_every_key() -> None:
    sender, receiver = Pake("sender", b"1-river-fox-lunar"), Pake("receiver", b"1-river-fox-lunar")
    assert len(sender.message) == len(receiver.message) == MESSAGE_LENGTH
    assert (sender.message[:1], receiver.message[:1]) == (b"A", b"B")
    assert sender.finish(receiver.message) == receiver.finish(sender.message)


def test_different_passwords_give_different_keys() -> None:
    sender, receiver = Pake("sender", b"1-river-fox-lunar"), Pake("receiver", b"1-river-fox-lunal")
    keys_a, keys_b = sender.finish(receiver.message), receiver.finish(sender.message)
    assert keys_a.key != keys_b.key and keys_a.confirm_a != keys_b.confirm_a


def test_the_key_is_the_spake2_package_s_with_our_identities() -> None:
    """Independent of our wrapper: the package driven by hand, as the design spells it."""
    sender = Pake("sender", b"7-a-b-c", entropy=_entropy(b"a"))
    receiver = Pake("receiver", b"7-a-b-c", entropy=_entropy(b"b"))
    ids = {"idA": b"sendit/v2/sender", "idB": b"sendit/v2/receiver"}
    a = SPAKE2_A(b"7-a-b-c", entropy_f=_entropy(b"a"), **ids)
    b = SPAKE2_B(b"7-a-b-c", entropy_f=_entropy(b"b"), **ids)
    assert (a.start(), b.start()) == (sender.message, receiver.message)
    key = a.finish(receiver.message)
    assert sender.finish(receiver.message).key == key


def test_derivations_are_hkdf_sha256_with_empty_salt() -> None:
    key = bytes(range(32))
    keys = derive_keys(key)
    for name, info in [
        ("confirm_a", b"sendit/v2 confirm A"),
        ("confirm_b", b"sendit/v2 confirm B"),
        ("seal_a", b"sendit/v2 seal A"),
        ("seal_b", b"sendit/v2 seal B"),
    ]:
        # RFC 5869 by hand for one block: PRK = HMAC(salt, IKM), T(1) = HMAC(PRK, info || 1).
        prk = hmac.new(b"", key, "sha256").digest()
        assert getattr(keys, name) == hmac.new(prk, info + b"\x01", "sha256").digest()
        assert getattr(keys, name) == HKDF(SHA256(), 32, None, info).derive(key)
    assert len({keys.confirm_a, keys.confirm_b, keys.seal_a, keys.seal_b}) == 4


def test_entropy_makes_messages_deterministic() -> None:
    one = Pake("receiver", b"1-a-b-c", entropy=_entropy(b"x"))
    two = Pake("receiver", b"1-a-b-c", entropy=_entropy(b"x"))
    assert one.message == two.message != Pake("receiver", b"1-a-b-c").message


def test_keys_stay_out_of_repr() -> None:
    keys = derive_keys(bytes(32))
    assert keys.seal_a.hex() not in repr(keys) and keys.key.hex() not in repr(keys)


def test_same_is_equality() -> None:
    assert same(b"abc", b"abc") and not same(b"abc", b"abd") and not same(b"abc", b"ab")


def test_refusal_carries_its_id() -> None:
    sender = Pake("sender", b"1-a-b-c")
    with pytest.raises(BadHandshake) as refused:
        sender.finish(sender.message)
    assert refused.value.error_id == ErrorId.BAD_HANDSHAKE == "bad-handshake"


def test_a_role_is_sender_or_receiver() -> None:
    with pytest.raises(ValueError):
        Pake("A", b"1-a-b-c")  # type: ignore[arg-type]
