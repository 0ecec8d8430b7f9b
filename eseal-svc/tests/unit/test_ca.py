"""The deployment CA: certificates of every algorithm, chain checks, SM2 certificates checked independently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import gmalg
import pytest
from asn1crypto import x509 as a509
from asn1crypto.algos import DSASignature
from cryptography import x509
from eseal_svc.adapters.crypto import sm
from eseal_svc.adapters.crypto.ca import (
    CertificateAuthority,
    CertificateRole,
    CertificateSubject,
    ChainStatus,
    DeploymentPki,
    describe_certificate,
    verify_chain,
)
from eseal_svc.adapters.crypto.errors import CertificateError, KeyFormatError
from eseal_svc.adapters.crypto.keys import Signer, generate_signer
from eseal_svc.domain.model import SealAlgorithm

NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)


def _signer(pki: DeploymentPki, name: str = "福州市某局合同专用章") -> tuple[Signer, bytes]:
    key = generate_signer(pki.algorithm)
    certificate = pki.issue_signer_certificate(
        public_key=key.verifier(),
        seal_name=name,
        org_name="福州市某局",
        uscc="91350100M000100Y43",
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=800),
    )
    return key, certificate


def test_signer_certificate_chains_to_its_root(pki: DeploymentPki) -> None:
    _, certificate = _signer(pki)
    result = verify_chain(certificate, trust_anchors=[pki.root.certificate_der], at=NOW)
    assert result.status is ChainStatus.VALID
    assert result.path == (certificate, pki.root.certificate_der)
    assert result.anchor_der == pki.root.certificate_der


def test_certificate_contents(pki: DeploymentPki) -> None:
    _, certificate = _signer(pki, "某局合同专用章")
    info = describe_certificate(certificate)
    assert (
        info.subject == "CN=某局合同专用章,organizationIdentifier=NTRCN-91350100M000100Y43,O=福州市某局,C=CN"
    )
    assert info.issuer == describe_certificate(pki.root.certificate_der).subject
    assert not info.is_ca
    assert describe_certificate(pki.root.certificate_der).is_ca
    assert info.public_key_algorithm is pki.algorithm
    parsed = x509.load_der_x509_certificate(certificate)  # an independent parser reads it too
    constraints = parsed.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = parsed.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign


def test_tampered_certificate_fails(pki: DeploymentPki) -> None:
    _, certificate = _signer(pki)
    tampered = bytearray(certificate)
    position = tampered.find("福州市某局".encode())
    tampered[position] ^= 0x01
    result = verify_chain(bytes(tampered), trust_anchors=[pki.root.certificate_der], at=NOW)
    assert result.status is ChainStatus.BAD_SIGNATURE
    assert not result.valid


def test_unknown_root_is_not_trusted(pki: DeploymentPki, pki_factory: Callable[..., DeploymentPki]) -> None:
    _, certificate = _signer(pki)
    other = pki_factory(pki.algorithm, "110000")
    result = verify_chain(certificate, trust_anchors=[other.root.certificate_der], at=NOW)
    assert result.status is ChainStatus.NO_TRUSTED_ANCHOR
    assert result.anchor_der is None
    assert verify_chain(certificate, trust_anchors=[], at=NOW).status is ChainStatus.NO_TRUSTED_ANCHOR


def test_same_name_other_key_root_fails_signature(sm2_pki: DeploymentPki) -> None:
    _, certificate = _signer(sm2_pki)
    impostor = CertificateAuthority.create_root(
        signer=generate_signer(SealAlgorithm.SM2_SM3),
        subject=CertificateSubject("Tongban Seal Root CA 350000 SM2_SM3", organization="Tongban 350000"),
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=10),
    )
    result = verify_chain(certificate, trust_anchors=[impostor.certificate_der], at=NOW)
    assert result.status is ChainStatus.BAD_SIGNATURE


def test_validity_window_is_checked(sm2_pki: DeploymentPki) -> None:
    _, certificate = _signer(sm2_pki)
    anchors = [sm2_pki.root.certificate_der]
    assert verify_chain(certificate, trust_anchors=anchors, at=NOW + timedelta(days=900)).status is (
        ChainStatus.EXPIRED
    )
    assert verify_chain(certificate, trust_anchors=anchors, at=NOW - timedelta(days=31)).status is (
        ChainStatus.NOT_YET_VALID
    )


def test_end_entity_cannot_act_as_a_ca(sm2_pki: DeploymentPki) -> None:
    key, certificate = _signer(sm2_pki)
    rogue = CertificateAuthority(signer=key, certificate_der=certificate)
    victim = generate_signer(SealAlgorithm.SM2_SM3)
    forged = rogue.issue(
        subject=CertificateSubject("forged"),
        public_key=victim.verifier(),
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=10),
        role=CertificateRole.SIGNER,
    )
    result = verify_chain(
        forged, trust_anchors=[sm2_pki.root.certificate_der], intermediates=[certificate], at=NOW
    )
    assert result.status is ChainStatus.NOT_A_CA


def test_malformed_input_is_reported() -> None:
    assert verify_chain(b"\x30\x03\x02\x01\x01", trust_anchors=[], at=NOW).status is ChainStatus.MALFORMED
    with pytest.raises(CertificateError):
        describe_certificate(b"not a certificate")


def test_certificates_cannot_outlive_their_ca(sm2_pki: DeploymentPki) -> None:
    with pytest.raises(CertificateError):
        sm2_pki.root.issue(
            subject=CertificateSubject("too long"),
            public_key=generate_signer(SealAlgorithm.SM2_SM3).verifier(),
            not_before=NOW,
            not_after=NOW + timedelta(days=30 * 365),
            role=CertificateRole.SIGNER,
        )
    with pytest.raises(CertificateError):
        sm2_pki.root.issue(
            subject=CertificateSubject("root?"),
            public_key=generate_signer(SealAlgorithm.SM2_SM3).verifier(),
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            role=CertificateRole.ROOT,
        )


def test_sm2_subject_cannot_be_certified_by_an_ecdsa_ca(pki_factory: Callable[..., DeploymentPki]) -> None:
    ecdsa = pki_factory(SealAlgorithm.ECDSA_P256_SHA256)
    with pytest.raises(KeyFormatError):
        ecdsa.root.issue(
            subject=CertificateSubject("sm2 under ecdsa"),
            public_key=generate_signer(SealAlgorithm.SM2_SM3).verifier(),
            not_before=NOW,
            not_after=NOW + timedelta(days=1),
            role=CertificateRole.SIGNER,
        )


def test_sm2_certificate_signature_verifies_with_gmalg(sm2_pki: DeploymentPki) -> None:
    _, certificate = _signer(sm2_pki)
    parsed = a509.Certificate.load(certificate)
    assert parsed["signature_algorithm"]["algorithm"].dotted == sm.SM3_WITH_SM2_OID
    assert parsed["tbs_certificate"]["signature"]["algorithm"].dotted == sm.SM3_WITH_SM2_OID
    root = a509.Certificate.load(sm2_pki.root.certificate_der)
    root_point = root["tbs_certificate"]["subject_public_key_info"]["public_key"].native
    signature = DSASignature.load(parsed["signature_value"].native)
    verifier = gmalg.SM2(uid=sm.DEFAULT_SIGNER_ID, pk=root_point)
    tbs = parsed["tbs_certificate"].dump()
    r = signature["r"].native.to_bytes(32, "big")
    s = signature["s"].native.to_bytes(32, "big")
    assert verifier.verify(tbs, r, s)
    assert not verifier.verify(tbs + b"\x00", r, s)
    spki = parsed["tbs_certificate"]["subject_public_key_info"]
    assert spki["algorithm"]["parameters"].chosen.dotted == sm.SM2_CURVE_OID
