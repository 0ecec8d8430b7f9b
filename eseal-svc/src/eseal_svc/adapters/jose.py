"""Compact JWS (VC-JOSE-COSE ``vc+jwt``) signed with a seal's licence key, with the certificate in x5c.

The certificate travels in the header so that a verifier in another region needs only the root
certificates it registered as trust anchors: it builds the chain from x5c, checks the signature
with the certified key, and reads the organisation from the certificate's subject.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey
from joserfc.jws import JWSRegistry

from eseal_svc.adapters.crypto.ca import certificate_verifier, key_identifier
from eseal_svc.adapters.crypto.errors import CertificateError, KeyFormatError
from eseal_svc.adapters.crypto.keys import EcdsaP256Signer, Ed25519Signer, Signer, Verifier
from eseal_svc.domain.model import SealAlgorithm

VC_JWT = "vc+jwt"
# RFC 9864 names Ed25519 signatures "Ed25519"; ES256 is ECDSA P-256 with SHA-256.
JOSE_ALGORITHMS: dict[SealAlgorithm, str] = {
    SealAlgorithm.ECDSA_P256_SHA256: "ES256",
    SealAlgorithm.ED25519: "Ed25519",
}
ACCEPTED = list(JOSE_ALGORITHMS.values())
MAX_X5C = 4


class _Registry(JWSRegistry):
    # x5c carries a certificate or two: headers are larger than joserfc's 512-byte default allows.
    max_header_length = 16_384


def _registry(algorithms: list[str]) -> JWSRegistry:
    return _Registry(algorithms=algorithms)


class JoseFormatError(ValueError):
    """A token is not a compact JWS of the shape we issue."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jose_algorithm(algorithm: SealAlgorithm) -> str:
    """The JWS alg of a key algorithm; KeyFormatError for SM2 (no registered JOSE algorithm)."""
    try:
        return JOSE_ALGORITHMS[algorithm]
    except KeyError:
        raise KeyFormatError(f"{algorithm.value} has no JOSE algorithm") from None


def _private_jwk(signer: Signer) -> ECKey | OKPKey:
    if isinstance(signer, EcdsaP256Signer):
        return ECKey.import_key(signer.key)
    if isinstance(signer, Ed25519Signer):
        return OKPKey.import_key(signer.key)
    raise KeyFormatError("only ECDSA P-256 and Ed25519 keys sign JWS")


def _public_jwk(verifier: Verifier) -> ECKey | OKPKey:
    key = serialization.load_der_public_key(verifier.spki_der())
    if verifier.algorithm is SealAlgorithm.ECDSA_P256_SHA256:
        return ECKey.import_key(key)  # type: ignore[arg-type]
    if verifier.algorithm is SealAlgorithm.ED25519:
        return OKPKey.import_key(key)  # type: ignore[arg-type]
    raise KeyFormatError("only ECDSA P-256 and Ed25519 keys verify JWS")


def kid_for(certificate_der: bytes) -> str:
    """The key id: base64url of the RFC 7093 key identifier of the certified key."""
    spki = certificate_verifier(certificate_der).spki_der()
    return _b64url(key_identifier(spki))


def encode_json(document: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, the exact bytes that get signed."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sign_compact(
    payload: dict[str, Any], *, signer: Signer, certificate_der: bytes, chain: list[bytes] | None = None
) -> str:
    """A compact JWS of the payload with typ vc+jwt, kid and x5c (the signer's certificate first)."""
    alg = jose_algorithm(signer.algorithm)
    header = {
        "alg": alg,
        "typ": VC_JWT,
        "cty": "vc",
        "kid": kid_for(certificate_der),
        "x5c": [base64.b64encode(c).decode() for c in [certificate_der, *(chain or [])]],
    }
    return jws.serialize_compact(
        header, encode_json(payload), _private_jwk(signer), registry=_registry([alg])
    )


def public_jwk(certificate_der: bytes) -> dict[str, Any]:
    """The public JWK of a certified key, with kid, alg, use and x5c."""
    verifier = certificate_verifier(certificate_der)
    jwk = _public_jwk(verifier).as_dict(private=False)
    jwk.update(
        kid=kid_for(certificate_der),
        alg=jose_algorithm(verifier.algorithm),
        use="sig",
        x5c=[base64.b64encode(certificate_der).decode()],
    )
    return jwk


@dataclass(frozen=True, slots=True)
class CompactJws:
    """A compact JWS read without checking its signature."""

    token: str
    header: dict[str, Any]
    payload: dict[str, Any]
    certificates: tuple[bytes, ...]


def read_compact(token: str) -> CompactJws:
    """Header, JSON payload and x5c certificates of a compact JWS; JoseFormatError when malformed."""
    try:
        extracted = jws.extract_compact(token.strip().encode("ascii"), registry=_registry(ACCEPTED))
        header = dict(extracted.headers())
        payload = json.loads(extracted.payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise JoseFormatError(f"not a compact JWS with a JSON payload: {exc}") from exc
    if not isinstance(payload, dict):
        raise JoseFormatError("the JWS payload is not a JSON object")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or len(x5c) > MAX_X5C or not all(isinstance(c, str) for c in x5c):
        raise JoseFormatError("the JWS header carries no usable x5c certificate chain")
    try:
        certificates = tuple(base64.b64decode(c, validate=True) for c in x5c)
    except (binascii.Error, ValueError) as exc:
        raise JoseFormatError("x5c entries must be base64 DER certificates") from exc
    return CompactJws(token.strip(), header, payload, certificates)


def verify_compact(parsed: CompactJws) -> bool:
    """True when the JWS verifies with the key of its first x5c certificate under the alg it names."""
    try:
        verifier = certificate_verifier(parsed.certificates[0])
        alg = jose_algorithm(verifier.algorithm)
    except (CertificateError, KeyFormatError):
        return False
    if parsed.header.get("alg") != alg:
        return False
    try:
        jws.deserialize_compact(parsed.token, _public_jwk(verifier), registry=_registry([alg]))
    except (JoseError, ValueError):
        return False
    return True
