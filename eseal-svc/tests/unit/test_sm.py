"""SM3 and SM2 against the standards' published vectors and an independent implementation (gmalg)."""

from __future__ import annotations

import gmalg
import gmssl_pyx
import pytest
from asn1crypto.algos import DSASignature
from cryptography.hazmat.primitives import hashes
from eseal_svc.adapters.crypto import sm
from eseal_svc.adapters.crypto.errors import KeyFormatError

# GB/T 32905-2016 Appendix A.
SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"

# GB/T 32918.5-2017 Appendix A (signature example on the recommended curve, ID 1234567812345678).
VEC_MESSAGE = b"message digest"
VEC_D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
VEC_X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
VEC_Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
VEC_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
VEC_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
VEC_ZA = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
VEC_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
CURVE_A_B_G = (
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)


def _der(r: str, s: str) -> bytes:
    return bytes(DSASignature({"r": int(r, 16), "s": int(s, 16)}).dump())


def _gmalg(public_key: bytes) -> gmalg.SM2:
    return gmalg.SM2(uid=sm.DEFAULT_SIGNER_ID, pk=b"\x04" + public_key)


def _rs(signature: bytes) -> tuple[bytes, bytes]:
    parsed = DSASignature.load(signature)
    return parsed["r"].native.to_bytes(32, "big"), parsed["s"].native.to_bytes(32, "big")


@pytest.mark.parametrize(
    ("message", "expected"), [(b"abc", SM3_ABC), (b"abcd" * 16, SM3_ABCD16)], ids=["abc", "abcd*16"]
)
def test_sm3_known_answers(message: bytes, expected: str) -> None:
    assert sm.sm3(message).hex() == expected
    hasher = hashes.Hash(hashes.SM3())
    hasher.update(message)
    assert hasher.finalize().hex() == expected
    independent = gmalg.SM3()
    independent.update(message)
    assert independent.value().hex() == expected


def test_sm3_gmalg_agrees_on_long_input() -> None:
    data = bytes(range(256)) * 5
    hasher = gmalg.SM3()
    hasher.update(data)
    assert hasher.value() == sm.sm3(data)


def test_published_sm2_vector_is_self_consistent() -> None:
    public_key = bytes.fromhex(VEC_X + VEC_Y)
    # The public key is d*G (computed independently by gmalg).
    assert gmalg.SM2().generate_pk(bytes.fromhex(VEC_D)) == b"\x04" + public_key
    za = sm.sm3(b"\x00\x80" + sm.DEFAULT_SIGNER_ID + bytes.fromhex(CURVE_A_B_G) + public_key)
    assert za.hex().upper() == VEC_ZA
    assert sm.sm3(za + VEC_MESSAGE).hex().upper() == VEC_E


def test_published_sm2_signature_verifies() -> None:
    public_key = bytes.fromhex(VEC_X + VEC_Y)
    signature = _der(VEC_R, VEC_S)
    assert sm.sm2_verify(public_key, VEC_MESSAGE, signature)
    assert _gmalg(public_key).verify(VEC_MESSAGE, bytes.fromhex(VEC_R), bytes.fromhex(VEC_S))
    assert not sm.sm2_verify(public_key, b"message digesT", signature)
    assert not sm.sm2_verify(public_key, VEC_MESSAGE, _der(VEC_R, VEC_R))


def test_sm2_signatures_verify_with_gmalg() -> None:
    private_key, public_key = sm.sm2_generate_keypair()
    for message in (b"", b"a", "跨省通办".encode() * 50):
        signature = sm.sm2_sign(private_key, public_key, message)
        r, s = _rs(signature)
        assert _gmalg(public_key).verify(message, r, s)
        assert not _gmalg(public_key).verify(message + b"!", r, s)


def test_gmalg_signatures_verify_with_gmssl_pyx() -> None:
    private_key, public_key = sm.sm2_generate_keypair()
    signer = gmalg.SM2(sk=private_key, uid=sm.DEFAULT_SIGNER_ID, pk=b"\x04" + public_key)
    message = "广东签发，北京核验".encode()
    r, s = signer.sign(message)
    signature = bytes(DSASignature({"r": int.from_bytes(r, "big"), "s": int.from_bytes(s, "big")}).dump())
    assert sm.sm2_verify(public_key, message, signature)
    assert not sm.sm2_verify(public_key, message + b"x", signature)


def test_sm2_signing_draws_a_fresh_nonce() -> None:
    private_key, public_key = sm.sm2_generate_keypair()
    assert sm.sm2_sign(private_key, public_key, b"m") != sm.sm2_sign(private_key, public_key, b"m")


@pytest.mark.parametrize(
    "signature",
    [b"", b"\x30\x00", b"not der at all", _der(VEC_R, "00"), _der(VEC_R, "F" * 64)],
    ids=["empty", "empty-seq", "garbage", "s-zero", "s-out-of-range"],
)
def test_malformed_signatures_are_rejected_without_raising(signature: bytes) -> None:
    assert sm.sm2_verify(bytes.fromhex(VEC_X + VEC_Y), VEC_MESSAGE, signature) is False


def test_non_canonical_der_signature_is_rejected() -> None:
    good = _der(VEC_R, VEC_S)
    # The same r and s with a long-form length byte: valid BER, not DER.
    padded = b"\x30\x81" + good[1:]
    assert sm.sm2_verify(bytes.fromhex(VEC_X + VEC_Y), VEC_MESSAGE, good)
    assert not sm.sm2_verify(bytes.fromhex(VEC_X + VEC_Y), VEC_MESSAGE, padded)


def test_spki_round_trip_uses_the_sm2_curve_oid() -> None:
    _, public_key = sm.sm2_generate_keypair()
    spki = sm.public_key_to_spki(public_key)
    assert sm.public_key_from_spki(spki) == public_key
    assert bytes.fromhex("06082a811ccf5501822d") in spki  # OID 1.2.156.10197.1.301
    assert bytes.fromhex("06072a8648ce3d0201") in spki  # id-ecPublicKey


def test_spki_rejects_points_off_the_curve() -> None:
    with pytest.raises(KeyFormatError):
        sm.public_key_to_spki(b"\x01" * 64)
    _, public_key = sm.sm2_generate_keypair()
    spki = bytearray(sm.public_key_to_spki(public_key))
    spki[-1] ^= 0x01
    with pytest.raises(KeyFormatError):
        sm.public_key_from_spki(bytes(spki))


def test_spki_rejects_other_curves() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = p256.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert not sm.is_sm2_spki(der)
    with pytest.raises(KeyFormatError):
        sm.public_key_from_spki(der)


def test_pkcs8_round_trip_keeps_leading_zero_bytes() -> None:
    private_key, public_key = sm.sm2_generate_keypair()
    for scalar in (private_key, b"\x00" + private_key[1:]):
        der = sm.private_key_to_pkcs8(scalar, public_key)
        assert sm.private_key_from_pkcs8(der) == (scalar, public_key)
    assert len(sm.private_key_to_pkcs8(b"\x00" + private_key[1:], public_key)) == len(
        sm.private_key_to_pkcs8(private_key, public_key)
    )


def test_pkcs8_rejects_garbage_and_wrong_sizes() -> None:
    _, public_key = sm.sm2_generate_keypair()
    with pytest.raises(KeyFormatError):
        sm.private_key_from_pkcs8(b"\x30\x03\x02\x01\x00")
    with pytest.raises(KeyFormatError):
        sm.private_key_to_pkcs8(b"\x01" * 31, public_key)


def test_library_is_gmssl_pyx_with_the_default_id() -> None:
    assert gmssl_pyx.SM2_DEFAULT_SIGNER_ID == b"1234567812345678" == sm.DEFAULT_SIGNER_ID
