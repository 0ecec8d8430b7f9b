"""SM2 (GB/T 32918) and SM3 (GB/T 32905): thin wrappers over gmssl-pyx plus SM2 key encodings."""

from __future__ import annotations

import gmssl_pyx
from asn1crypto import core, keys

from eseal_svc.adapters.crypto.errors import ASN1_ERRORS, KeyFormatError

# GB/T 33560 object identifiers.
SM2_CURVE_OID = "1.2.156.10197.1.301"
SM3_OID = "1.2.156.10197.1.401"
SM3_WITH_SM2_OID = "1.2.156.10197.1.501"
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"

# GB/T 35276: signers without a distinguishing identity use this 16-byte ID in Z_A.
DEFAULT_SIGNER_ID: bytes = gmssl_pyx.SM2_DEFAULT_SIGNER_ID
SM2_ORDER = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)

PRIVATE_KEY_SIZE = 32
PUBLIC_KEY_SIZE = 64

# asn1crypto needs the curve's size to pad private scalars to 32 bytes; registering is idempotent.
if SM2_CURVE_OID not in keys.NamedCurve._map:
    keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, PRIVATE_KEY_SIZE)


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes) of data."""
    return bytes(gmssl_pyx.sm3_hash(data))


def sm2_generate_keypair() -> tuple[bytes, bytes]:
    """A fresh SM2 key pair: (private key 32 bytes, public key x||y 64 bytes)."""
    public_key, private_key = gmssl_pyx.sm2_key_generate()
    return bytes(private_key), bytes(public_key)


def sm2_sign(
    private_key: bytes, public_key: bytes, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
) -> bytes:
    """SM2 signature with SM3 (Z_A over signer_id) of message, DER SEQUENCE {r, s}."""
    try:
        return bytes(gmssl_pyx.sm2_sign(private_key, public_key, message, signer_id))
    except gmssl_pyx.GmsslInnerError as exc:
        # The library's message names only the bad argument, never its value.
        raise KeyFormatError(f"SM2 signing failed: {exc}") from None


def _well_formed_signature(signature: bytes) -> bool:
    # Checking the DER ourselves rejects malleable or malformed encodings before GmSSL sees them.
    try:
        parsed = core.Sequence.load(signature, strict=True)
        if len(parsed) != 2:
            return False
        r, s = (core.Integer.load(parsed[i].dump()).native for i in range(2))
        return bool(0 < r < SM2_ORDER and 0 < s < SM2_ORDER and parsed.dump(force=True) == signature)
    except ASN1_ERRORS:
        return False


def sm2_verify(
    public_key: bytes, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
) -> bool:
    """True when signature (DER r,s) is a valid SM2-with-SM3 signature of message under public_key."""
    if len(public_key) != PUBLIC_KEY_SIZE or not _well_formed_signature(signature):
        return False
    try:
        return bool(gmssl_pyx.sm2_verify(public_key, message, signature, signer_id))
    except gmssl_pyx.GmsslInnerError:
        return False


def normalize_public_key(public_key: bytes) -> bytes:
    """The 64-byte x||y form of an uncompressed, compressed or raw SM2 point on the curve."""
    try:
        return bytes(gmssl_pyx.normalize_sm2_public_key(public_key))
    except gmssl_pyx.GmsslInnerError as exc:
        raise KeyFormatError("not a point on the SM2 curve") from exc


def public_key_to_spki(public_key: bytes) -> bytes:
    """SubjectPublicKeyInfo DER: id-ecPublicKey with the SM2 curve and the uncompressed point."""
    point = normalize_public_key(public_key)
    info = keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": keys.ECDomainParameters("named", SM2_CURVE_OID)},
            "public_key": b"\x04" + point,
        }
    )
    return bytes(info.dump())


def _sm2_curve(parameters: object) -> bool:
    if not isinstance(parameters, keys.ECDomainParameters) or parameters.name != "named":
        return False
    return bool(parameters.chosen.dotted == SM2_CURVE_OID)


def is_sm2_spki(spki_der: bytes) -> bool:
    """True when the SubjectPublicKeyInfo is an EC key on the SM2 curve."""
    try:
        info = keys.PublicKeyInfo.load(spki_der)
        return bool(info["algorithm"]["algorithm"].dotted == EC_PUBLIC_KEY_OID) and _sm2_curve(
            info["algorithm"]["parameters"]
        )
    except ASN1_ERRORS:
        return False


def public_key_from_spki(spki_der: bytes) -> bytes:
    """The 64-byte SM2 public key inside a SubjectPublicKeyInfo, checked to lie on the curve."""
    if not is_sm2_spki(spki_der):
        raise KeyFormatError("not an SM2 SubjectPublicKeyInfo")
    info = keys.PublicKeyInfo.load(spki_der)
    point = bytes(info["public_key"].native)
    return normalize_public_key(point)


def private_key_to_pkcs8(private_key: bytes, public_key: bytes) -> bytes:
    """PKCS#8 PrivateKeyInfo DER of an SM2 key (RFC 5915 ECPrivateKey with its public point)."""
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise KeyFormatError("an SM2 private key is 32 bytes")
    point = normalize_public_key(public_key)
    inner = keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": int.from_bytes(private_key, "big"),
            "public_key": b"\x04" + point,
        }
    )
    # Keep all 32 bytes of the scalar even when it has leading zero bytes (RFC 5915).
    inner.set_key_size(PRIVATE_KEY_SIZE)
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters("named", SM2_CURVE_OID),
            },
            "private_key": inner,
        }
    )
    return bytes(info.dump())


def is_sm2_pkcs8(pkcs8_der: bytes) -> bool:
    """True when the PKCS#8 structure holds an EC key on the SM2 curve."""
    try:
        info = keys.PrivateKeyInfo.load(pkcs8_der)
        algorithm = info["private_key_algorithm"]
        return bool(algorithm["algorithm"].dotted == EC_PUBLIC_KEY_OID) and _sm2_curve(
            algorithm["parameters"]
        )
    except ASN1_ERRORS:
        return False


def private_key_from_pkcs8(pkcs8_der: bytes) -> tuple[bytes, bytes]:
    """(private key, public key) from an SM2 PKCS#8 DER that carries its public point."""
    if not is_sm2_pkcs8(pkcs8_der):
        raise KeyFormatError("not an SM2 PKCS#8 private key")
    try:
        inner = keys.PrivateKeyInfo.load(pkcs8_der)["private_key"].parsed
        scalar = int(inner["private_key"].native)
        point = inner["public_key"]
        if point.native is None:
            raise KeyFormatError("the SM2 private key lacks its public point")
        public_key = normalize_public_key(bytes(point.native))
    except ASN1_ERRORS as exc:
        raise KeyFormatError("malformed SM2 private key") from exc
    if not 0 < scalar < SM2_ORDER - 1:
        raise KeyFormatError("SM2 private key out of range")
    return scalar.to_bytes(PRIVATE_KEY_SIZE, "big"), public_key
