"""The Signer/Verifier protocol over SM2, ECDSA P-256 and Ed25519."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from eseal_svc.adapters.crypto import sm
from eseal_svc.adapters.crypto.errors import KeyFormatError
from eseal_svc.adapters.crypto.keys import (
    SIGNATURE_OIDS,
    Signer,
    Sm2Signer,
    Verifier,
    algorithm_for_signature_oid,
    digest,
    generate_signer,
    load_signer,
    load_verifier,
)
from eseal_svc.domain.model import SealAlgorithm

ALGORITHMS = list(SealAlgorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.value)
def test_sign_and_verify_round_trip(algorithm: SealAlgorithm) -> None:
    signer = generate_signer(algorithm)
    assert isinstance(signer, Signer)
    verifier = signer.verifier()
    assert isinstance(verifier, Verifier)
    assert signer.algorithm is verifier.algorithm is algorithm
    signature = signer.sign(b"document")
    assert verifier.verify(signature, b"document")
    assert not verifier.verify(signature, b"documenT")
    assert not verifier.verify(b"", b"document")
    assert not generate_signer(algorithm).verifier().verify(signature, b"document")


@pytest.mark.parametrize("algorithm", ALGORITHMS, ids=lambda a: a.value)
def test_keys_survive_pkcs8_and_spki(algorithm: SealAlgorithm) -> None:
    signer = generate_signer(algorithm)
    restored = load_signer(signer.pkcs8_der())
    assert restored.algorithm is algorithm
    assert restored.verifier().spki_der() == signer.verifier().spki_der()
    verifier = load_verifier(signer.verifier().spki_der())
    assert verifier.verify(restored.sign(b"m"), b"m")


def test_sm2_pkcs8_with_a_foreign_public_point_is_refused() -> None:
    a, b = generate_signer(SealAlgorithm.SM2_SM3), generate_signer(SealAlgorithm.SM2_SM3)
    assert isinstance(a, Sm2Signer) and isinstance(b, Sm2Signer)
    mixed = sm.private_key_to_pkcs8(a.private_key, b.public_key)
    with pytest.raises(KeyFormatError, match="does not match"):
        load_signer(mixed)


def test_unsupported_keys_are_refused() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p384 = ec.generate_private_key(ec.SECP384R1())
    for key in (rsa_key, p384):
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(KeyFormatError):
            load_signer(pkcs8)
        with pytest.raises(KeyFormatError):
            load_verifier(spki)
    with pytest.raises(KeyFormatError):
        load_signer(b"garbage")
    with pytest.raises(KeyFormatError):
        load_verifier(b"garbage")


def test_digest_profile() -> None:
    assert digest(SealAlgorithm.SM2_SM3, b"abc") == sm.sm3(b"abc")
    for algorithm in (SealAlgorithm.ECDSA_P256_SHA256, SealAlgorithm.ED25519):
        assert digest(algorithm, b"abc") == hashlib.sha256(b"abc").digest()


def test_signature_oids_map_both_ways() -> None:
    assert SIGNATURE_OIDS[SealAlgorithm.SM2_SM3] == "1.2.156.10197.1.501"
    for algorithm, oid in SIGNATURE_OIDS.items():
        assert algorithm_for_signature_oid(oid) is algorithm
    with pytest.raises(KeyFormatError):
        algorithm_for_signature_oid("1.2.840.113549.1.1.11")


def test_private_keys_do_not_leak_through_repr() -> None:
    signer = generate_signer(SealAlgorithm.SM2_SM3)
    assert isinstance(signer, Sm2Signer)
    assert signer.private_key.hex() not in repr(signer)
    assert "private_key" not in repr(signer)
