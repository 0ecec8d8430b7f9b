"""GB/T 38540 v4 structures: DER layout, field-by-field round trips, and the validation report."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gmalg
import pytest
from asn1crypto.algos import DSASignature
from eseal_svc.adapters.crypto import sm
from eseal_svc.adapters.crypto.ca import DeploymentPki, certificate_verifier
from eseal_svc.adapters.crypto.errors import CertificateError, SesFormatError
from eseal_svc.adapters.crypto.keys import EcdsaP256Signer, Ed25519Signer, Sm2Signer, digest, generate_signer
from eseal_svc.adapters.crypto.sealmaker import MadeSeal, make_organisation_seal
from eseal_svc.adapters.crypto.ses import (
    CertListType,
    DocumentDigest,
    ExtensionData,
    SealPicture,
    SealReference,
    SESSignature,
    make_seal,
    parse_seal,
    parse_signature,
    sign,
    verify_seal,
    verify_ses_signature,
)
from eseal_svc.domain.model import SealAlgorithm, SealSpec
from eseal_svc.domain.validation import CheckName, Indication, SubIndication, ValidationReport

NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
DOCUMENT = "准予跨省迁移户口的决定书 No. 440000-20261127-000123".encode()
SealFactory = Callable[..., tuple[SealSpec, MadeSeal]]


def _tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """Split DER contents into (tag, value) pairs, independently of any ASN.1 library."""
    items, i = [], 0
    while i < len(data):
        tag, length = data[i], data[i + 1]
        i += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[i : i + count], "big")
            i += count
        items.append((tag, data[i : i + length]))
        i += length
    return items


def _children(der: bytes) -> list[tuple[int, bytes]]:
    ((tag, value),) = _tlvs(der)
    assert tag == 0x30
    return _tlvs(value)


def _sign(made: MadeSeal, algorithm: SealAlgorithm, document: bytes = DOCUMENT, at: datetime = NOW) -> bytes:
    return sign(
        seal_der=made.seal_der,
        signer=made.signer,
        signer_certificate=made.signer_certificate,
        data_hash=digest(algorithm, document),
        signed_at=at,
        property_info="/Doc_0/Signs/Sign_0",
    )


def _verify(
    signature: bytes, pki: DeploymentPki, document: bytes | DocumentDigest = DOCUMENT, **kwargs: object
) -> ValidationReport:
    options: dict[str, object] = {
        "trust_anchors": [pki.trust_anchor],
        "validation_time": NOW + timedelta(hours=1),
    }
    options.update(kwargs)
    return verify_ses_signature(signature, document, **options)  # type: ignore[arg-type]


def test_seal_round_trips_field_by_field(sm2_pki: DeploymentPki) -> None:
    signer = generate_signer(SealAlgorithm.SM2_SM3)
    certificate = sm2_pki.issue_signer_certificate(
        public_key=signer.verifier(),
        seal_name="福州市某局合同专用章",
        org_name="福州市某局",
        uscc="91350100M000100Y43",
        not_before=NOW,
        not_after=NOW + timedelta(days=10),
    )
    extension = ExtensionData("1.2.156.999.1", b"vendor data", critical=False)
    der = make_seal(
        maker=sm2_pki.maker,
        maker_certificate=sm2_pki.maker_certificate,
        es_id="35010020261127000001",
        seal_type=2,
        name="福州市某局合同专用章",
        signer_certificates=[certificate],
        created_at=NOW + timedelta(microseconds=5),
        valid_start=NOW,
        valid_end=NOW + timedelta(days=10),
        picture=SealPicture("png", b"\x89PNG picture", 40, 42),
        vendor_id="TONGBAN-TEST",
        ext_datas=[extension],
    )
    seal = parse_seal(der)
    assert seal.der == der
    assert (seal.header_id, seal.version, seal.vendor_id) == ("ES", 4, "TONGBAN-TEST")
    assert seal.es_id == "35010020261127000001"
    assert (seal.seal_type, seal.name) == (2, "福州市某局合同专用章")
    assert seal.cert_list_type is CertListType.CERTIFICATES
    assert seal.certificates == (certificate,)
    assert seal.cert_digests == ()
    assert (seal.created_at, seal.valid_start, seal.valid_end) == (NOW, NOW, NOW + timedelta(days=10))
    assert seal.picture == SealPicture("png", b"\x89PNG picture", 40, 42)
    assert seal.ext_datas == (extension,)
    assert seal.maker_certificate == sm2_pki.maker_certificate
    assert seal.sign_algorithm_oid == sm.SM3_WITH_SM2_OID
    assert certificate_verifier(seal.maker_certificate).verify(seal.signed_value, seal.seal_info_der)


def test_seal_der_layout_follows_the_standard(sm2_seal: MadeSeal) -> None:
    seal = _children(sm2_seal.seal_der)
    assert [tag for tag, _ in seal] == [0x30, 0x04, 0x06, 0x03]  # SES_SealInfo, cert, signAlgID, signedValue
    assert seal[2][1] == bytes.fromhex("2a811ccf55018375")  # 1.2.156.10197.1.501
    info = _tlvs(seal[0][1])
    assert [tag for tag, _ in info] == [0x30, 0x16, 0x30, 0x30]  # header, esID, property, picture
    header = _tlvs(info[0][1])
    assert header == [(0x16, b"ES"), (0x02, b"\x04"), (0x16, b"TONGBAN")]
    prop = _tlvs(info[2][1])
    # type, name, certListType, certList, createDate, validStart, validEnd
    assert [tag for tag, _ in prop] == [0x02, 0x0C, 0x02, 0x30, 0x18, 0x18, 0x18]
    assert prop[2][1] == b"\x01"
    assert _tlvs(prop[3][1]) == [(0x04, sm2_seal.signer_certificate)]
    assert prop[5][1].endswith(b"Z")
    picture = _tlvs(info[3][1])
    assert [tag for tag, _ in picture] == [0x16, 0x04, 0x02, 0x02]
    assert picture[0][1] == b"png"
    assert picture[1][1] == sm2_seal.image_png
    # The maker signed exactly the SES_SealInfo bytes.
    seal_info_der = sm2_seal.seal_der[4 : 4 + len(parse_seal(sm2_seal.seal_der).seal_info_der)]
    assert seal_info_der == parse_seal(sm2_seal.seal_der).seal_info_der


def test_seal_with_certificate_digests(sm2_pki: DeploymentPki, seal_factory: SealFactory) -> None:
    _, made = seal_factory(sm2_pki, cert_list_type=CertListType.DIGESTS)
    seal = parse_seal(made.seal_der)
    assert seal.cert_list_type is CertListType.DIGESTS
    assert seal.certificates == ()
    assert [(d.type, d.value) for d in seal.cert_digests] == [("SM3", sm.sm3(made.signer_certificate))]
    prop = _tlvs(_tlvs(_children(made.seal_der)[0][1])[2][1])
    assert prop[2][1] == b"\x02"
    digest_obj = _tlvs(_tlvs(prop[3][1])[0][1])
    assert [tag for tag, _ in digest_obj] == [0x13, 0x04]  # PrintableString, OCTET STRING


def test_signature_round_trips_field_by_field(sm2_seal: MadeSeal) -> None:
    data_hash = sm.sm3(DOCUMENT)
    extension = ExtensionData("1.2.156.999.2", b"x", critical=True)
    der = sign(
        seal_der=sm2_seal.seal_der,
        signer=sm2_seal.signer,
        signer_certificate=sm2_seal.signer_certificate,
        data_hash=data_hash,
        signed_at=NOW,
        property_info="/Doc_0/Signs/Sign_0",
        ext_datas=[extension],
    )
    parsed = parse_signature(der)
    assert parsed.version == 4
    assert parsed.seal.der == sm2_seal.seal_der  # the seal is embedded byte for byte
    assert parsed.time_info == NOW
    assert parsed.data_hash == data_hash
    assert parsed.property_info == "/Doc_0/Signs/Sign_0"
    assert parsed.ext_datas == (extension,)
    assert parsed.signer_certificate == sm2_seal.signer_certificate
    assert parsed.signature_algorithm_oid == sm.SM3_WITH_SM2_OID
    assert parsed.time_stamp is None
    assert sm2_seal.signer.verifier().verify(parsed.signature, parsed.tbs_der)

    outer = _children(der)
    assert [tag for tag, _ in outer] == [0x30, 0x04, 0x06, 0x03]
    tbs = _tlvs(outer[0][1])
    # version, eseal, timeInfo, dataHash, propertyInfo, [0] extDatas
    assert [tag for tag, _ in tbs] == [0x02, 0x30, 0x18, 0x03, 0x16, 0xA0]
    assert tbs[2][1] == b"20261127080000Z"
    assert tbs[3][1] == b"\x00" + data_hash  # BIT STRING with no unused bits


def test_time_stamp_is_read_from_its_explicit_tag(sm2_seal: MadeSeal) -> None:
    value = SESSignature.load(_sign(sm2_seal, SealAlgorithm.SM2_SM3))
    value["time_stamp"] = b"rfc3161 token"
    der = value.dump()
    assert _children(der)[-1][0] == 0xA0
    assert parse_signature(der).time_stamp == b"rfc3161 token"


def test_sm2_signature_verifies_with_gmalg(sm2_seal: MadeSeal) -> None:
    parsed = parse_signature(_sign(sm2_seal, SealAlgorithm.SM2_SM3))
    assert isinstance(sm2_seal.signer, Sm2Signer)
    rs = DSASignature.load(parsed.signature)
    independent = gmalg.SM2(uid=sm.DEFAULT_SIGNER_ID, pk=b"\x04" + sm2_seal.signer.public_key)
    r, s = rs["r"].native.to_bytes(32, "big"), rs["s"].native.to_bytes(32, "big")
    assert independent.verify(parsed.tbs_der, r, s)


@pytest.mark.parametrize("cert_list_type", list(CertListType), ids=lambda t: t.name)
def test_valid_signature_passes_for_every_algorithm(
    pki: DeploymentPki, seal_factory: SealFactory, cert_list_type: CertListType
) -> None:
    _, made = seal_factory(pki, cert_list_type=cert_list_type)
    report = _verify(_sign(made, pki.algorithm), pki, revocation_lookup=lambda ref: None)
    assert report.indication is Indication.TOTAL_PASSED, report.checks
    assert report.sub_indication is None
    # Every SES check, in the order the standard gives (the later names are PAdES and licence checks).
    assert [c.name for c in report.checks] == list(CheckName)[
        : list(CheckName).index(CheckName.REVOCATION) + 1
    ]
    assert all(c.passed for c in report.checks)
    assert report.info.es_id == "350100-0001"
    assert report.info.signing_time == NOW
    assert report.info.signature_algorithm == pki.algorithm.value
    assert report.info.digest_algorithm == pki.algorithm.digest_name
    assert report.info.signer_subject is not None and "NTRCN-91350100M000100Y43" in report.info.signer_subject
    assert report.info.trust_anchor_subject is not None and "350000" in report.info.trust_anchor_subject


def test_non_sm2_profile_uses_sha256(
    pki_factory: Callable[..., DeploymentPki], seal_factory: SealFactory
) -> None:
    pki = pki_factory(SealAlgorithm.ECDSA_P256_SHA256)
    _, made = seal_factory(pki)
    parsed = parse_signature(_sign(made, SealAlgorithm.ECDSA_P256_SHA256))
    assert parsed.signature_algorithm_oid == "1.2.840.10045.4.3.2"
    assert parsed.seal.sign_algorithm_oid == "1.2.840.10045.4.3.2"
    assert parsed.data_hash == hashlib.sha256(DOCUMENT).digest()


@pytest.mark.parametrize("position", [0, len(DOCUMENT) // 2, len(DOCUMENT) - 1])
def test_changed_document_byte_is_a_hash_failure(
    sm2_pki: DeploymentPki, sm2_seal: MadeSeal, position: int
) -> None:
    signature = _sign(sm2_seal, SealAlgorithm.SM2_SM3)
    changed = bytearray(DOCUMENT)
    changed[position] ^= 0x01
    report = _verify(signature, sm2_pki, bytes(changed))
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.HASH_FAILURE
    data_hash = report.check(CheckName.DATA_HASH)
    assert data_hash is not None and not data_hash.passed
    signature_value = report.check(CheckName.SIGNATURE_VALUE)
    assert signature_value is not None and signature_value.passed


def test_document_may_be_given_by_digest(sm2_pki: DeploymentPki, sm2_seal: MadeSeal) -> None:
    signature = _sign(sm2_seal, SealAlgorithm.SM2_SM3)
    assert _verify(signature, sm2_pki, DocumentDigest(sm.sm3(DOCUMENT))).passed
    wrong = _verify(signature, sm2_pki, DocumentDigest(hashlib.sha256(DOCUMENT).digest()))
    assert wrong.sub_indication is SubIndication.HASH_FAILURE
    assert _verify(signature, sm2_pki, DocumentDigest(b"short")).sub_indication is SubIndication.HASH_FAILURE


def test_revoked_seal_fails_only_for_signatures_after_revocation(
    sm2_pki: DeploymentPki, sm2_seal: MadeSeal
) -> None:
    revoked_at = NOW
    es_id = parse_seal(sm2_seal.seal_der).es_id
    maker_fingerprint = hashlib.sha256(sm2_pki.maker_certificate).hexdigest()
    seen: list[SealReference] = []

    def lookup(reference: SealReference) -> datetime | None:
        seen.append(reference)
        return revoked_at if reference.es_id == es_id else None

    before = _verify(
        _sign(sm2_seal, SealAlgorithm.SM2_SM3, at=NOW - timedelta(minutes=1)),
        sm2_pki,
        revocation_lookup=lookup,
    )
    after = _verify(
        _sign(sm2_seal, SealAlgorithm.SM2_SM3, at=NOW + timedelta(minutes=1)),
        sm2_pki,
        revocation_lookup=lookup,
    )
    at_the_instant = _verify(
        _sign(sm2_seal, SealAlgorithm.SM2_SM3, at=NOW), sm2_pki, revocation_lookup=lookup
    )
    assert before.indication is Indication.TOTAL_PASSED
    revocation = before.check(CheckName.REVOCATION)
    assert revocation is not None and "after signing" in revocation.detail
    assert (after.indication, after.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.REVOKED)
    assert at_the_instant.sub_indication is SubIndication.REVOKED
    assert seen[0] == SealReference(es_id, maker_fingerprint)


def test_unknown_trust_anchor_is_indeterminate(
    sm2_seal: MadeSeal, pki_factory: Callable[..., DeploymentPki]
) -> None:
    beijing = pki_factory(SealAlgorithm.SM2_SM3, "110000")
    report = _verify(_sign(sm2_seal, SealAlgorithm.SM2_SM3), beijing)
    assert report.indication is Indication.INDETERMINATE
    assert report.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert report.info.trust_anchor_subject is None


def test_signature_from_another_region_verifies_once_its_anchor_is_registered(
    sm2_pki: DeploymentPki, sm2_seal: MadeSeal, pki_factory: Callable[..., DeploymentPki]
) -> None:
    beijing = pki_factory(SealAlgorithm.SM2_SM3, "110000")
    report = verify_ses_signature(
        _sign(sm2_seal, SealAlgorithm.SM2_SM3),
        DOCUMENT,
        trust_anchors=[beijing.trust_anchor, sm2_pki.trust_anchor],
        validation_time=NOW,
    )
    assert report.passed


@pytest.mark.parametrize("cert_list_type", list(CertListType), ids=lambda t: t.name)
def test_signer_not_in_the_seal_fails(
    sm2_pki: DeploymentPki, seal_factory: SealFactory, cert_list_type: CertListType
) -> None:
    _, made = seal_factory(sm2_pki, cert_list_type=cert_list_type)
    _, other = seal_factory(sm2_pki)  # same CA, same organisation, a different key and certificate
    signature = sign(
        seal_der=made.seal_der,
        signer=other.signer,
        signer_certificate=other.signer_certificate,
        data_hash=sm.sm3(DOCUMENT),
        signed_at=NOW,
    )
    report = _verify(signature, sm2_pki)
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication is SubIndication.SIGNER_NOT_IN_SEAL
    signature_value = report.check(CheckName.SIGNATURE_VALUE)
    assert signature_value is not None and signature_value.passed


def test_signing_outside_the_seal_window_is_reported(
    sm2_pki: DeploymentPki, seal_factory: SealFactory
) -> None:
    spec, made = seal_factory(
        sm2_pki,
        valid_from=NOW - timedelta(days=10),
        valid_to=NOW + timedelta(days=1),
        created_at=NOW - timedelta(days=10),
    )
    late = _verify(
        _sign(made, SealAlgorithm.SM2_SM3, at=spec.validity.valid_to + timedelta(seconds=1)),
        sm2_pki,
        validation_time=NOW + timedelta(days=2),
    )
    early = _verify(
        _sign(made, SealAlgorithm.SM2_SM3, at=spec.validity.valid_from - timedelta(days=1)), sm2_pki
    )
    assert (late.indication, late.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.EXPIRED)
    assert (early.indication, early.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID)


def test_tampered_signature_value_fails(sm2_pki: DeploymentPki, sm2_seal: MadeSeal) -> None:
    value = SESSignature.load(_sign(sm2_seal, SealAlgorithm.SM2_SM3))
    value["signature"] = sm2_seal.signer.sign(b"something else")
    report = _verify(value.dump(), sm2_pki)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CRYPTO_FAILURE,
    )
    check = report.check(CheckName.SIGNATURE_VALUE)
    assert check is not None and not check.passed


def test_tampered_seal_fails_the_maker_signature(sm2_pki: DeploymentPki, sm2_seal: MadeSeal) -> None:
    signature = bytearray(_sign(sm2_seal, SealAlgorithm.SM2_SM3))
    position = signature.find("合同专用章".encode())
    signature[position : position + 15] = "财务专用章".encode()
    report = _verify(bytes(signature), sm2_pki)
    assert report.sub_indication is SubIndication.SIG_CRYPTO_FAILURE
    maker = report.check(CheckName.SEAL_MAKER_SIGNATURE)
    assert maker is not None and not maker.passed


@pytest.mark.parametrize("garbage", [b"", b"\x30\x00", b"not der", b"\x30\x03\x02\x01\x04"])
def test_garbage_is_a_format_failure(sm2_pki: DeploymentPki, garbage: bytes) -> None:
    report = _verify(garbage, sm2_pki)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        SubIndication.FORMAT_FAILURE,
    )
    assert [c.name for c in report.checks] == [CheckName.FORMAT]
    with pytest.raises(SesFormatError):
        parse_signature(garbage)


def test_trailing_bytes_and_wrong_versions_are_format_failures(
    sm2_pki: DeploymentPki, sm2_seal: MadeSeal
) -> None:
    signature = _sign(sm2_seal, SealAlgorithm.SM2_SM3)
    assert _verify(signature + b"\x00", sm2_pki).sub_indication is SubIndication.FORMAT_FAILURE
    value = SESSignature.load(signature)
    value["to_sign"]["version"] = 3
    assert _verify(value.dump(force=True), sm2_pki).sub_indication is SubIndication.FORMAT_FAILURE
    with pytest.raises(SesFormatError, match="version"):
        parse_signature(value.dump(force=True))


def test_signing_time_in_the_future_is_a_format_failure(sm2_pki: DeploymentPki, sm2_seal: MadeSeal) -> None:
    signature = _sign(sm2_seal, SealAlgorithm.SM2_SM3, at=NOW + timedelta(days=1))
    report = _verify(signature, sm2_pki, validation_time=NOW)
    assert report.sub_indication is SubIndication.FORMAT_FAILURE


def test_seal_alone_can_be_verified(
    sm2_pki: DeploymentPki, sm2_seal: MadeSeal, pki_factory: Callable[..., DeploymentPki]
) -> None:
    anchors = [sm2_pki.trust_anchor]
    assert verify_seal(sm2_seal.seal_der, trust_anchors=anchors, at=NOW).passed
    expired = verify_seal(sm2_seal.seal_der, trust_anchors=anchors, at=NOW + timedelta(days=400))
    assert expired.sub_indication is SubIndication.EXPIRED
    unknown = verify_seal(
        sm2_seal.seal_der, trust_anchors=[pki_factory(SealAlgorithm.SM2_SM3, "110000").trust_anchor], at=NOW
    )
    assert unknown.indication is Indication.INDETERMINATE
    assert verify_seal(b"junk", trust_anchors=anchors, at=NOW).sub_indication is SubIndication.FORMAT_FAILURE


def test_private_keys_never_appear_in_seal_or_signature(
    pki: DeploymentPki, seal_factory: SealFactory
) -> None:
    _, made = seal_factory(pki)
    signature = _sign(made, pki.algorithm)
    pkcs8 = made.signer.pkcs8_der()
    signer = made.signer
    if isinstance(signer, Sm2Signer):
        scalar = signer.private_key
    elif isinstance(signer, EcdsaP256Signer):
        scalar = signer.key.private_numbers().private_value.to_bytes(32, "big")
    else:
        assert isinstance(signer, Ed25519Signer)
        scalar = signer.key.private_bytes_raw()
    for blob in (made.seal_der, signature, made.signer_certificate, made.image_png):
        assert scalar not in blob
        assert pkcs8 not in blob
    assert scalar.hex() not in repr(made)


def test_builders_refuse_bad_input(sm2_pki: DeploymentPki, sm2_seal: MadeSeal) -> None:
    with pytest.raises(ValueError, match="32-byte"):
        sign(
            seal_der=sm2_seal.seal_der,
            signer=sm2_seal.signer,
            signer_certificate=sm2_seal.signer_certificate,
            data_hash=b"\x00" * 20,
            signed_at=NOW,
        )
    with pytest.raises(ValueError, match="ASCII"):
        sign(
            seal_der=sm2_seal.seal_der,
            signer=sm2_seal.signer,
            signer_certificate=sm2_seal.signer_certificate,
            data_hash=sm.sm3(b""),
            signed_at=NOW,
            property_info="文件",
        )
    with pytest.raises(CertificateError, match="maker"):
        make_seal(
            maker=generate_signer(SealAlgorithm.SM2_SM3),
            maker_certificate=sm2_pki.maker_certificate,
            es_id="x",
            seal_type=1,
            name="n",
            signer_certificates=[sm2_seal.signer_certificate],
            created_at=NOW,
            valid_start=NOW,
            valid_end=NOW + timedelta(days=1),
            picture=SealPicture("png", b"", 40, 40),
        )


def test_seal_maker_refuses_a_pki_of_another_algorithm(
    seal_factory: SealFactory, pki_factory: Callable[..., DeploymentPki], sm2_pki: DeploymentPki
) -> None:
    spec, _ = seal_factory(sm2_pki)
    with pytest.raises(ValueError, match="cannot make"):
        make_organisation_seal(spec, pki=pki_factory(SealAlgorithm.ED25519), es_id="x", created_at=NOW)


def test_random_corruption_never_raises_and_never_passes(sm2_pki: DeploymentPki, sm2_seal: MadeSeal) -> None:
    signature = _sign(sm2_seal, SealAlgorithm.SM2_SM3)
    rng = random.Random(38540)
    outcomes: set[SubIndication | None] = set()
    for _ in range(300):
        corrupted = bytearray(signature)
        for _ in range(rng.choice((1, 1, 2, 4))):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        report = _verify(bytes(corrupted), sm2_pki, revocation_lookup=lambda reference: None)
        outcomes.add(report.sub_indication)
        if bytes(corrupted) != signature:
            assert not report.passed
    assert {SubIndication.FORMAT_FAILURE, SubIndication.SIG_CRYPTO_FAILURE} <= outcomes
