"""One small Signer/Verifier protocol over SM2-with-SM3, ECDSA P-256 with SHA-256 and Ed25519."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from eseal_svc.adapters.crypto import sm
from eseal_svc.adapters.crypto.errors import KeyFormatError
from eseal_svc.domain.model import SealAlgorithm

ECDSA_WITH_SHA256_OID = "1.2.840.10045.4.3.2"
ED25519_OID = "1.3.101.112"
SHA256_OID = "2.16.840.1.101.3.4.2.1"

SIGNATURE_OIDS: dict[SealAlgorithm, str] = {
    SealAlgorithm.SM2_SM3: sm.SM3_WITH_SM2_OID,
    SealAlgorithm.ECDSA_P256_SHA256: ECDSA_WITH_SHA256_OID,
    SealAlgorithm.ED25519: ED25519_OID,
}
ALGORITHMS_BY_SIGNATURE_OID: dict[str, SealAlgorithm] = {oid: alg for alg, oid in SIGNATURE_OIDS.items()}
DIGEST_SIZE = 32


def algorithm_for_signature_oid(oid: str) -> SealAlgorithm:
    """The seal algorithm whose signatures carry this OID; KeyFormatError when unsupported."""
    try:
        return ALGORITHMS_BY_SIGNATURE_OID[oid]
    except KeyError:
        raise KeyFormatError(f"unsupported signature algorithm {oid}") from None


def digest(algorithm: SealAlgorithm, data: bytes) -> bytes:
    """Document digest under the algorithm's profile: SM3 for SM2, SHA-256 otherwise."""
    if algorithm is SealAlgorithm.SM2_SM3:
        return sm.sm3(data)
    return hashlib.sha256(data).digest()


@runtime_checkable
class Verifier(Protocol):
    """A public key that checks signatures of one algorithm."""

    @property
    def algorithm(self) -> SealAlgorithm:
        """The algorithm of the key."""
        ...

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when signature is valid over message; never raises for bad input."""
        ...

    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER of the key."""
        ...


@runtime_checkable
class Signer(Protocol):
    """A private key that signs with one algorithm."""

    @property
    def algorithm(self) -> SealAlgorithm:
        """The algorithm of the key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Signature over message (DER r,s for SM2 and ECDSA, 64 raw bytes for Ed25519)."""
        ...

    def verifier(self) -> Verifier:
        """The matching public key."""
        ...

    def pkcs8_der(self) -> bytes:
        """Unencrypted PKCS#8 DER; only ever handed to the key wrapper."""
        ...


@dataclass(frozen=True, slots=True)
class Sm2Verifier:
    """SM2 public key (x||y)."""

    public_key: bytes
    algorithm: SealAlgorithm = SealAlgorithm.SM2_SM3

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when signature is a valid SM2-with-SM3 signature (default signer ID)."""
        return sm.sm2_verify(self.public_key, message, signature)

    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER with the SM2 curve OID."""
        return sm.public_key_to_spki(self.public_key)


@dataclass(frozen=True, slots=True)
class Sm2Signer:
    """SM2 private key; gmssl-pyx needs the public point beside the scalar to compute Z_A."""

    private_key: bytes = field(repr=False)
    public_key: bytes
    algorithm: SealAlgorithm = SealAlgorithm.SM2_SM3

    def sign(self, message: bytes) -> bytes:
        """SM2-with-SM3 signature, DER r,s."""
        return sm.sm2_sign(self.private_key, self.public_key, message)

    def verifier(self) -> Sm2Verifier:
        """The public half."""
        return Sm2Verifier(self.public_key)

    def pkcs8_der(self) -> bytes:
        """PKCS#8 DER with the public point included."""
        return sm.private_key_to_pkcs8(self.private_key, self.public_key)


@dataclass(frozen=True, slots=True)
class EcdsaP256Verifier:
    """ECDSA public key on P-256."""

    key: ec.EllipticCurvePublicKey
    algorithm: SealAlgorithm = SealAlgorithm.ECDSA_P256_SHA256

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when signature (DER r,s) is valid for SHA-256 of message."""
        try:
            self.key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER."""
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True, slots=True)
class EcdsaP256Signer:
    """ECDSA private key on P-256."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    algorithm: SealAlgorithm = SealAlgorithm.ECDSA_P256_SHA256

    def sign(self, message: bytes) -> bytes:
        """ECDSA with SHA-256, DER r,s."""
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    def verifier(self) -> EcdsaP256Verifier:
        """The public half."""
        return EcdsaP256Verifier(self.key.public_key())

    def pkcs8_der(self) -> bytes:
        """PKCS#8 DER."""
        return self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass(frozen=True, slots=True)
class Ed25519Verifier:
    """Ed25519 public key."""

    key: ed25519.Ed25519PublicKey
    algorithm: SealAlgorithm = SealAlgorithm.ED25519

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when signature is a valid pure-Ed25519 signature of message."""
        try:
            self.key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def spki_der(self) -> bytes:
        """SubjectPublicKeyInfo DER."""
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True, slots=True)
class Ed25519Signer:
    """Ed25519 private key."""

    key: ed25519.Ed25519PrivateKey = field(repr=False)
    algorithm: SealAlgorithm = SealAlgorithm.ED25519

    def sign(self, message: bytes) -> bytes:
        """Pure Ed25519 signature (64 bytes)."""
        return self.key.sign(message)

    def verifier(self) -> Ed25519Verifier:
        """The public half."""
        return Ed25519Verifier(self.key.public_key())

    def pkcs8_der(self) -> bytes:
        """PKCS#8 DER."""
        return self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def generate_signer(algorithm: SealAlgorithm) -> Signer:
    """A fresh key pair of the algorithm."""
    if algorithm is SealAlgorithm.SM2_SM3:
        private_key, public_key = sm.sm2_generate_keypair()
        return Sm2Signer(private_key, public_key)
    if algorithm is SealAlgorithm.ECDSA_P256_SHA256:
        return EcdsaP256Signer(ec.generate_private_key(ec.SECP256R1()))
    if algorithm is SealAlgorithm.ED25519:
        return Ed25519Signer(ed25519.Ed25519PrivateKey.generate())
    raise KeyFormatError(f"unsupported algorithm {algorithm}")


_PROBE = b"eseal-svc key consistency probe"


def load_signer(pkcs8_der: bytes) -> Signer:
    """A signer from unencrypted PKCS#8 DER of any supported algorithm."""
    if sm.is_sm2_pkcs8(pkcs8_der):
        private_key, public_key = sm.private_key_from_pkcs8(pkcs8_der)
        signer = Sm2Signer(private_key, public_key)
        # A stored public point that does not match the scalar would make every signature invalid.
        if not signer.verifier().verify(signer.sign(_PROBE), _PROBE):
            raise KeyFormatError("the SM2 private key does not match its public point")
        return signer
    try:
        key = serialization.load_der_private_key(pkcs8_der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFormatError("not a supported PKCS#8 private key") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return EcdsaP256Signer(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise KeyFormatError("private key algorithm is not SM2, ECDSA P-256 or Ed25519")


def load_verifier(spki_der: bytes) -> Verifier:
    """A verifier from SubjectPublicKeyInfo DER of any supported algorithm."""
    if sm.is_sm2_spki(spki_der):
        return Sm2Verifier(sm.public_key_from_spki(spki_der))
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFormatError("not a supported SubjectPublicKeyInfo") from None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return EcdsaP256Verifier(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519Verifier(key)
    raise KeyFormatError("public key algorithm is not SM2, ECDSA P-256 or Ed25519")
