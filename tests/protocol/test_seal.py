"""sendit_protocol.seal and .b64: sealing signals, and the one spelling of bytes."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sendit_protocol import b64
from sendit_protocol.errors import ErrorId, Tampered
from sendit_protocol.seal import IV_LENGTH, open_sealed, seal

KEY = bytes(range(32))
IV = bytes(range(100, 112))


def test_seal_is_aes_gcm_with_the_type_as_associated_data() -> None:
    data = seal(KEY, "offer", b'{"n":0}', random=lambda n: IV)
    raw = base64.b64decode(data)
    assert raw[:IV_LENGTH] == IV
    assert AESGCM(KEY).decrypt(IV, raw[IV_LENGTH:], b"offer") == b'{"n":0}'
    assert len(raw) == IV_LENGTH + len(b'{"n":0}') + 16
    assert open_sealed(KEY, "offer", data) == b'{"n":0}'


def test_each_seal_draws_a_fresh_iv() -> None:
    assert seal(KEY, "offer", b"x") != seal(KEY, "offer", b"x")


def test_a_short_iv_source_is_refused() -> None:
    with pytest.raises(ValueError):
        seal(KEY, "offer", b"x", random=lambda n: bytes(n - 1))


@pytest.mark.parametrize(
    "key, kind, data",
    [
        (bytes(32), "offer", None),  # wrong key
        (KEY, "candidate", None),  # sealed as another type
        (KEY, "offer", "not base64!"),
        (KEY, "offer", b64.encode(bytes(27))),  # shorter than an IV and a tag
        (KEY, "offer", 42),
    ],
)
def test_what_does_not_open_is_tampered(key: bytes, kind: str, data: object) -> None:
    sealed = seal(KEY, "offer", b"hello", random=lambda n: IV) if data is None else data
    with pytest.raises(Tampered) as refused:
        open_sealed(key, kind, sealed)
    assert refused.value.error_id == ErrorId.TAMPERED


def test_every_flipped_bit_is_tampering() -> None:
    raw = bytearray(base64.b64decode(seal(KEY, "answer", b"hi", random=lambda n: IV)))
    for index in range(len(raw)):
        for bit in range(8):
            raw[index] ^= 1 << bit
            with pytest.raises(Tampered):
                open_sealed(KEY, "answer", b64.encode(bytes(raw)))
            raw[index] ^= 1 << bit


@pytest.mark.parametrize("data", [b"", b"A", b"AB", b"ABC", bytes(range(256))])
def test_base64_round_trip(data: bytes) -> None:
    assert b64.decode(b64.encode(data)) == data
    assert b64.encode(data) == base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "text", ["QQ", "QQ=", "Q Q==", "QQ==\n", "QR==", "QUJ=", "QUJD=", "QQ-_", "=QQ=", "QQ==QQ==", None, b"QQ=="]
)
def test_base64_refuses_all_but_the_canonical_spelling(text: object) -> None:
    with pytest.raises(b64.InvalidBase64):
        b64.decode(text)
