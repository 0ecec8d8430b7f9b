"""Private keys at rest: SM4-GCM (default) and AES-256-GCM key wrapping."""

from __future__ import annotations

import os

import gmssl_pyx
import pytest
from eseal_svc.adapters.crypto.errors import KeyUnwrapError
from eseal_svc.adapters.crypto.keys import generate_signer, load_signer
from eseal_svc.adapters.crypto.keywrap import NONCE_SIZE, TAG_SIZE, KeyWrapper, WrapAlgorithm, read_header
from eseal_svc.domain.model import SealAlgorithm


@pytest.fixture(params=list(WrapAlgorithm), ids=lambda a: a.name)
def wrapper(request: pytest.FixtureRequest) -> KeyWrapper:
    algorithm: WrapAlgorithm = request.param
    return KeyWrapper(os.urandom(algorithm.key_size), algorithm, kek_id="kek-2026")


def test_round_trip_of_a_real_private_key(wrapper: KeyWrapper) -> None:
    signer = generate_signer(SealAlgorithm.SM2_SM3)
    plaintext = signer.pkcs8_der()
    blob = wrapper.wrap(plaintext, context=b"seal-1")
    assert plaintext not in blob
    restored = load_signer(wrapper.unwrap(blob, context=b"seal-1"))
    assert restored.verifier().spki_der() == signer.verifier().spki_der()


def test_each_wrap_uses_a_fresh_nonce(wrapper: KeyWrapper) -> None:
    assert wrapper.wrap(b"key") != wrapper.wrap(b"key")


def test_wrong_kek_fails_cleanly(wrapper: KeyWrapper) -> None:
    blob = wrapper.wrap(b"secret key bytes")
    other = KeyWrapper(os.urandom(wrapper.algorithm.key_size), wrapper.algorithm, kek_id=wrapper.kek_id)
    with pytest.raises(KeyUnwrapError, match="authentication"):
        other.unwrap(blob)


def test_wrong_context_fails(wrapper: KeyWrapper) -> None:
    blob = wrapper.wrap(b"secret key bytes", context=b"seal-1")
    with pytest.raises(KeyUnwrapError):
        wrapper.unwrap(blob, context=b"seal-2")


@pytest.mark.parametrize("position", [2, 6, -1, -TAG_SIZE - 1])
def test_tampering_anywhere_fails(wrapper: KeyWrapper, position: int) -> None:
    blob = bytearray(wrapper.wrap(b"secret key bytes"))
    blob[position] ^= 0x01
    with pytest.raises(KeyUnwrapError):
        wrapper.unwrap(bytes(blob))


def test_truncated_and_foreign_blobs_fail(wrapper: KeyWrapper) -> None:
    blob = wrapper.wrap(b"k")
    for broken in (b"", b"TBKW", blob[:20], b"XXXX" + blob[4:]):
        with pytest.raises(KeyUnwrapError):
            wrapper.unwrap(broken)


def test_header_names_algorithm_and_kek(wrapper: KeyWrapper) -> None:
    header = read_header(wrapper.wrap(b"k"))
    assert header.algorithm is wrapper.algorithm
    assert header.kek_id == "kek-2026"


def test_blob_from_another_kek_id_is_refused() -> None:
    kek = os.urandom(16)
    blob = KeyWrapper(kek, kek_id="old").wrap(b"k")
    with pytest.raises(KeyUnwrapError, match="another KEK"):
        KeyWrapper(kek, kek_id="new").unwrap(blob)


def test_sm4_gcm_blob_decrypts_with_gmssl() -> None:
    kek = os.urandom(16)
    blob = KeyWrapper(kek).wrap(b"interoperable", context=b"ctx")
    header = read_header(blob)
    nonce = blob[header.header_size : header.header_size + NONCE_SIZE]
    body = blob[header.header_size + NONCE_SIZE :]
    aad = blob[: header.header_size] + b"ctx"
    assert gmssl_pyx.sm4_gcm_decrypt(kek, nonce, aad, body[:-TAG_SIZE], body[-TAG_SIZE:]) == b"interoperable"


def test_kek_length_and_configuration_are_checked() -> None:
    with pytest.raises(ValueError, match="16-byte"):
        KeyWrapper(os.urandom(32))
    with pytest.raises(ValueError, match="32-byte"):
        KeyWrapper(os.urandom(16), WrapAlgorithm.AES_256_GCM)
    with pytest.raises(ValueError, match="KEK id"):
        KeyWrapper(os.urandom(16), kek_id="")
    assert WrapAlgorithm.parse("SM4-GCM") is WrapAlgorithm.SM4_GCM
    assert WrapAlgorithm.parse("aes_256_gcm") is WrapAlgorithm.AES_256_GCM
    with pytest.raises(ValueError, match="unknown"):
        WrapAlgorithm.parse("rot13")


def test_kek_never_shows_in_repr() -> None:
    kek = os.urandom(16)
    assert kek.hex() not in repr(KeyWrapper(kek))
    assert "kek=" not in repr(KeyWrapper(kek))
