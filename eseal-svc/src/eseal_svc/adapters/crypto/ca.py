"""A small per-deployment CA (root, seal-maker and signer certificates) and certificate-chain checks.

ECDSA and Ed25519 certificates come from cryptography's X.509 builder. cryptography cannot sign
with SM2, so SM2 certificates are assembled with asn1crypto: the TBSCertificate is encoded, its DER
is signed with SM3withSM2 (GM/T 0015 profile, default signer ID) and the three parts are joined.
Chains of both kinds are verified the same way, from the parsed DER.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from asn1crypto import keys as akeys
from asn1crypto import x509 as a509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from eseal_svc.adapters.crypto.errors import ASN1_ERRORS, CertificateError, KeyFormatError
from eseal_svc.adapters.crypto.keys import (
    EcdsaP256Signer,
    Ed25519Signer,
    Signer,
    Verifier,
    algorithm_for_signature_oid,
    generate_signer,
    load_verifier,
)
from eseal_svc.adapters.crypto.sm import SM3_WITH_SM2_OID
from eseal_svc.domain.model import SealAlgorithm

MAX_CHAIN_DEPTH = 5
# Extensions this verifier understands; a critical one outside this set makes a certificate unusable.
_KNOWN_CRITICAL = frozenset({"basic_constraints", "key_usage", "extended_key_usage"})


class CertificateRole(enum.StrEnum):
    """What a certificate is for, which fixes its basic constraints and key usage."""

    ROOT = "root"
    SEAL_MAKER = "seal_maker"
    SIGNER = "signer"


@dataclass(frozen=True, slots=True)
class CertificateSubject:
    """Distinguished name of a certificate holder."""

    common_name: str
    organization: str | None = None
    # ETSI EN 319 412-1 semantics: "NTRCN-" followed by the unified social credit code.
    organization_identifier: str | None = None
    country: str = "CN"

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = [("country_name", self.country)]
        if self.organization:
            pairs.append(("organization_name", self.organization))
        if self.organization_identifier:
            pairs.append(("organization_identifier", self.organization_identifier))
        pairs.append(("common_name", self.common_name))
        return pairs

    def to_asn1crypto(self) -> Any:
        """The name as an asn1crypto Name, in the order C, O, organizationIdentifier, CN."""
        rdns = []
        for attr, value in self._pairs():
            kind = "printable_string" if attr == "country_name" else "utf8_string"
            rdns.append(
                a509.RelativeDistinguishedName(
                    [{"type": attr, "value": a509.DirectoryString(name=kind, value=value)}]
                )
            )
        return a509.Name(name="", value=a509.RDNSequence(rdns))

    def to_cryptography(self) -> x509.Name:
        """The same name for cryptography's builder."""
        oids = {
            "country_name": NameOID.COUNTRY_NAME,
            "organization_name": NameOID.ORGANIZATION_NAME,
            "organization_identifier": NameOID.ORGANIZATION_IDENTIFIER,
            "common_name": NameOID.COMMON_NAME,
        }
        return x509.Name([x509.NameAttribute(oids[attr], value) for attr, value in self._pairs()])


def subject_for_organisation(*, seal_name: str, org_name: str, uscc: str) -> CertificateSubject:
    """Subject of an organisation's signer certificate."""
    return CertificateSubject(
        common_name=seal_name, organization=org_name, organization_identifier=f"NTRCN-{uscc}"
    )


def key_identifier(spki_der: bytes) -> bytes:
    """RFC 7093 method 1: leftmost 160 bits of SHA-256 over the subjectPublicKey bits."""
    bits = akeys.PublicKeyInfo.load(spki_der)["public_key"].contents[1:]
    return hashlib.sha256(bits).digest()[:20]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CertificateError("certificate times must carry a time zone")
    return value.astimezone(UTC).replace(microsecond=0)


def _time(value: datetime) -> Any:
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
    return a509.Time(name="utc_time" if value.year < 2050 else "general_time", value=value)


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA key and its certificate; issues seal-maker and signer certificates."""

    signer: Signer = field(repr=False)
    certificate_der: bytes

    @property
    def algorithm(self) -> SealAlgorithm:
        """Signature algorithm of the certificates it issues."""
        return self.signer.algorithm

    @classmethod
    def create_root(
        cls, *, signer: Signer, subject: CertificateSubject, not_before: datetime, not_after: datetime
    ) -> CertificateAuthority:
        """A self-signed root: the trust anchor other regions register."""
        der = _build(
            issuer_signer=signer,
            issuer_certificate_der=None,
            subject=subject,
            subject_key=signer.verifier(),
            not_before=not_before,
            not_after=not_after,
            role=CertificateRole.ROOT,
        )
        return cls(signer, der)

    def issue(
        self,
        *,
        subject: CertificateSubject,
        public_key: Verifier,
        not_before: datetime,
        not_after: datetime,
        role: CertificateRole,
    ) -> bytes:
        """DER of an end-entity certificate for public_key, signed by this CA."""
        if role is CertificateRole.ROOT:
            raise CertificateError("use create_root for root certificates")
        ca_after = a509.Certificate.load(self.certificate_der)["tbs_certificate"]["validity"][
            "not_after"
        ].native
        if _aware(not_after) > ca_after:
            # An end-entity certificate must not outlive the CA that vouches for it.
            raise CertificateError("certificate would outlive its CA")
        return _build(
            issuer_signer=self.signer,
            issuer_certificate_der=self.certificate_der,
            subject=subject,
            subject_key=public_key,
            not_before=not_before,
            not_after=not_after,
            role=role,
        )


def _build(
    *,
    issuer_signer: Signer,
    issuer_certificate_der: bytes | None,
    subject: CertificateSubject,
    subject_key: Verifier,
    not_before: datetime,
    not_after: datetime,
    role: CertificateRole,
) -> bytes:
    start, end = _aware(not_before), _aware(not_after)
    if end <= start:
        raise CertificateError("not_after must be after not_before")
    if issuer_signer.algorithm is SealAlgorithm.SM2_SM3:
        return _build_sm2(issuer_signer, issuer_certificate_der, subject, subject_key, start, end, role)
    return _build_with_cryptography(
        issuer_signer, issuer_certificate_der, subject, subject_key, start, end, role
    )


def _build_sm2(
    issuer_signer: Signer,
    issuer_certificate_der: bytes | None,
    subject: CertificateSubject,
    subject_key: Verifier,
    start: datetime,
    end: datetime,
    role: CertificateRole,
) -> bytes:
    subject_spki = subject_key.spki_der()
    if issuer_certificate_der is None:
        issuer_name, issuer_spki = subject.to_asn1crypto(), subject_spki
    else:
        issuer_tbs = a509.Certificate.load(issuer_certificate_der)["tbs_certificate"]
        issuer_name = issuer_tbs["subject"]
        issuer_spki = issuer_tbs["subject_public_key_info"].dump()
    is_ca = role is CertificateRole.ROOT
    usage = {"key_cert_sign", "crl_sign"} if is_ca else {"digital_signature", "non_repudiation"}
    constraints: dict[str, Any] = {"ca": True, "path_len_constraint": 0} if is_ca else {"ca": False}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
        {"extn_id": "key_usage", "critical": True, "extn_value": a509.KeyUsage(usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": key_identifier(subject_spki)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": key_identifier(issuer_spki)},
        },
    ]
    # The AlgorithmIdentifier of SM3withSM2 carries no parameters (GM/T 0015).
    algorithm = {"algorithm": SM3_WITH_SM2_OID}
    tbs = a509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": x509.random_serial_number(),
            "signature": algorithm,
            "issuer": issuer_name,
            "validity": {"not_before": _time(start), "not_after": _time(end)},
            "subject": subject.to_asn1crypto(),
            "subject_public_key_info": akeys.PublicKeyInfo.load(subject_spki),
            "extensions": extensions,
        }
    )
    signature = issuer_signer.sign(tbs.dump())
    certificate = a509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )
    return bytes(certificate.dump())


def _build_with_cryptography(
    issuer_signer: Signer,
    issuer_certificate_der: bytes | None,
    subject: CertificateSubject,
    subject_key: Verifier,
    start: datetime,
    end: datetime,
    role: CertificateRole,
) -> bytes:
    private_key: Any
    hash_algorithm: hashes.HashAlgorithm | None
    if isinstance(issuer_signer, EcdsaP256Signer):
        private_key, hash_algorithm = issuer_signer.key, hashes.SHA256()
    elif isinstance(issuer_signer, Ed25519Signer):
        private_key, hash_algorithm = issuer_signer.key, None
    else:
        raise KeyFormatError("issuer key is not ECDSA P-256 or Ed25519")
    subject_spki = subject_key.spki_der()
    try:
        subject_public: Any = serialization.load_der_public_key(subject_spki)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # An SM2 subject key under an ECDSA or Ed25519 CA is not a combination we issue.
        raise KeyFormatError("subject key cannot be certified by this CA") from exc
    if issuer_certificate_der is None:
        issuer_name, issuer_spki = subject.to_cryptography(), subject_spki
    else:
        issuer_certificate = x509.load_der_x509_certificate(issuer_certificate_der)
        issuer_name = issuer_certificate.subject
        issuer_spki = issuer_certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    is_ca = role is CertificateRole.ROOT
    usage = x509.KeyUsage(
        digital_signature=not is_ca,
        content_commitment=not is_ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=is_ca,
        crl_sign=is_ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject.to_cryptography())
        .issuer_name(issuer_name)
        .public_key(subject_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier(key_identifier(subject_spki)), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier(key_identifier(issuer_spki), None, None), critical=False)
    )
    return builder.sign(private_key, hash_algorithm).public_bytes(serialization.Encoding.DER)


# ---------------------------------------------------------------------------------------------
# Reading and verifying certificates


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a report shows about a certificate."""

    subject: str
    issuer: str
    serial_number: int
    not_before: datetime
    not_after: datetime
    is_ca: bool
    signature_algorithm_oid: str
    public_key_algorithm: SealAlgorithm | None
    fingerprint_sha256: str


def _name_text(name: Any) -> str:
    # RFC 4514 order is the reverse of the encoding order.
    parts = []
    labels = {
        "2.5.4.3": "CN",
        "2.5.4.6": "C",
        "2.5.4.10": "O",
        "2.5.4.11": "OU",
        "2.5.4.97": "organizationIdentifier",
    }
    for rdn in reversed(list(name.chosen)):
        for atv in rdn:
            value = atv["value"]
            text = value.native if not hasattr(value, "chosen") else value.chosen.native
            label = labels.get(atv["type"].dotted, atv["type"].dotted)
            escaped = str(text).replace("\\", "\\\\").replace(",", "\\,").replace("+", "\\+")
            parts.append(f"{label}={escaped}")
    return ",".join(parts)


# Verifying a signature reads the same few certificates (anchors, maker, signer) many times; a
# full parse costs about a millisecond, so parsed certificates are kept by their exact bytes.
# Only successful parses are cached, and callers only read the objects.
CERTIFICATE_CACHE_SIZE = 1024


@lru_cache(maxsize=CERTIFICATE_CACHE_SIZE)
def load_certificate(der: bytes) -> Any:
    """The asn1crypto Certificate of DER bytes, fully parsed; CertificateError when malformed."""
    try:
        certificate = a509.Certificate.load(der, strict=True)
        # asn1crypto parses lazily; decoding everything now keeps malformed fields from failing later.
        validity = certificate.native["tbs_certificate"]["validity"]
    except ASN1_ERRORS as exc:
        raise CertificateError("not a DER X.509 certificate") from exc
    if any(validity[k].tzinfo is None for k in ("not_before", "not_after")):
        raise CertificateError("certificate validity times must be in UTC")
    return certificate


def describe_certificate(der: bytes) -> CertificateInfo:
    """Subject, issuer, validity and algorithms of a certificate."""
    certificate = load_certificate(der)
    tbs = certificate["tbs_certificate"]
    try:
        key_algorithm: SealAlgorithm | None = load_verifier(tbs["subject_public_key_info"].dump()).algorithm
    except KeyFormatError:
        key_algorithm = None
    return CertificateInfo(
        subject=_name_text(tbs["subject"]),
        issuer=_name_text(tbs["issuer"]),
        serial_number=int(tbs["serial_number"].native),
        not_before=tbs["validity"]["not_before"].native,
        not_after=tbs["validity"]["not_after"].native,
        is_ca=_is_ca(certificate),
        signature_algorithm_oid=certificate["signature_algorithm"]["algorithm"].dotted,
        public_key_algorithm=key_algorithm,
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
    )


def organisation_identifier(der: bytes) -> str | None:
    """The subject's organizationIdentifier (e.g. "NTRCN-<credit code>"), if the certificate has one."""
    certificate = load_certificate(der)
    for rdn in certificate["tbs_certificate"]["subject"].chosen:
        for atv in rdn:
            if atv["type"].dotted == "2.5.4.97":
                value = atv["value"]
                return str(value.chosen.native if hasattr(value, "chosen") else value.native)
    return None


def certificate_verifier(der: bytes) -> Verifier:
    """The public key of a certificate as a Verifier."""
    certificate = load_certificate(der)
    return load_verifier(certificate["tbs_certificate"]["subject_public_key_info"].dump())


def _extension(certificate: Any, name: str) -> Any:
    for extension in certificate["tbs_certificate"]["extensions"]:
        if extension["extn_id"].native == name:
            return extension["extn_value"].parsed
    return None


def _is_ca(certificate: Any) -> bool:
    constraints = _extension(certificate, "basic_constraints")
    return bool(constraints is not None and constraints["ca"].native)


def signed_by(child: Any, parent: Any) -> bool:
    """True when parent's key verifies child's signature under the algorithm child names."""
    outer = child["signature_algorithm"]["algorithm"].dotted
    inner = child["tbs_certificate"]["signature"]["algorithm"].dotted
    if outer != inner:
        return False
    try:
        algorithm = algorithm_for_signature_oid(outer)
        verifier = load_verifier(parent["tbs_certificate"]["subject_public_key_info"].dump())
    except KeyFormatError:
        return False
    if verifier.algorithm is not algorithm:
        return False
    return verifier.verify(bytes(child["signature_value"].native), child["tbs_certificate"].dump())


class ChainStatus(enum.StrEnum):
    """Outcome of a chain check."""

    VALID = "valid"
    MALFORMED = "malformed"
    NO_TRUSTED_ANCHOR = "no_trusted_anchor"
    BAD_SIGNATURE = "bad_signature"
    NOT_A_CA = "not_a_ca"
    KEY_USAGE = "key_usage"
    UNSUPPORTED_CRITICAL_EXTENSION = "unsupported_critical_extension"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


@dataclass(frozen=True, slots=True)
class ChainResult:
    """A chain check's outcome, the path from the certificate to its anchor, and why it failed."""

    status: ChainStatus
    detail: str
    path: tuple[bytes, ...] = ()

    @property
    def valid(self) -> bool:
        """True when the chain reaches a trust anchor and every certificate on it is good at the time."""
        return self.status is ChainStatus.VALID

    @property
    def anchor_der(self) -> bytes | None:
        """The trust anchor the path ends in, when one was reached."""
        return self.path[-1] if self.path and self.status is not ChainStatus.NO_TRUSTED_ANCHOR else None


def _key_usage(certificate: Any) -> set[str] | None:
    usage = _extension(certificate, "key_usage")
    return None if usage is None else set(usage.native)


def _unsupported_critical(certificate: Any) -> str | None:
    for extension in certificate["tbs_certificate"]["extensions"]:
        if extension["critical"].native and extension["extn_id"].native not in _KNOWN_CRITICAL:
            return str(extension["extn_id"].dotted)
    return None


def verify_chain(
    certificate_der: bytes,
    *,
    trust_anchors: Sequence[bytes],
    at: datetime,
    intermediates: Sequence[bytes] = (),
) -> ChainResult:
    """Build and check the path from an end-entity certificate to one of the trust anchors at `at`.

    Checks each signature by its issuer's key, each validity window at `at`, the CA flag and
    keyCertSign of every issuer, the issuer's path length, and the end entity's signing key usage.
    """
    when = _aware(at)
    try:
        leaf = load_certificate(certificate_der)
        anchors = [(der, load_certificate(der)) for der in trust_anchors]
        pool = anchors + [(der, load_certificate(der)) for der in intermediates]
    except CertificateError as exc:
        return ChainResult(ChainStatus.MALFORMED, str(exc))
    anchor_set = {der for der, _ in anchors}

    path: list[tuple[bytes, Any]] = [(certificate_der, leaf)]
    while path[-1][0] not in anchor_set:
        if len(path) > MAX_CHAIN_DEPTH:
            return ChainResult(ChainStatus.NO_TRUSTED_ANCHOR, "chain too long")
        current = path[-1][1]
        issuer_name = current["tbs_certificate"]["issuer"].dump()
        named = [(d, c) for d, c in pool if c["tbs_certificate"]["subject"].dump() == issuer_name]
        named = [(d, c) for d, c in named if all(d != seen for seen, _ in path)]
        if not named:
            return ChainResult(
                ChainStatus.NO_TRUSTED_ANCHOR,
                f"no registered trust anchor issued {_name_text(current['tbs_certificate']['subject'])}",
                tuple(d for d, _ in path),
            )
        issuer = next(((d, c) for d, c in named if signed_by(current, c)), None)
        if issuer is None:
            return ChainResult(
                ChainStatus.BAD_SIGNATURE,
                f"signature of {_name_text(current['tbs_certificate']['subject'])} does not verify",
                tuple(d for d, _ in path),
            )
        path.append(issuer)

    ders = tuple(d for d, _ in path)
    for position, (_, certificate) in enumerate(path):
        tbs = certificate["tbs_certificate"]
        subject = _name_text(tbs["subject"])
        unsupported = _unsupported_critical(certificate)
        if unsupported is not None:
            return ChainResult(
                ChainStatus.UNSUPPORTED_CRITICAL_EXTENSION, f"{subject} has critical {unsupported}", ders
            )
        if when < tbs["validity"]["not_before"].native:
            return ChainResult(
                ChainStatus.NOT_YET_VALID,
                f"{subject} not valid before {tbs['validity']['not_before'].native}",
                ders,
            )
        if when > tbs["validity"]["not_after"].native:
            return ChainResult(
                ChainStatus.EXPIRED, f"{subject} expired {tbs['validity']['not_after'].native}", ders
            )
        usage = _key_usage(certificate)
        signs_documents = usage is None or bool(usage & {"digital_signature", "non_repudiation"})
        if position == 0 and len(path) > 1 and not signs_documents:
            return ChainResult(ChainStatus.KEY_USAGE, f"{subject} may not sign documents", ders)
        if position > 0:
            if not _is_ca(certificate):
                return ChainResult(ChainStatus.NOT_A_CA, f"{subject} is not a CA", ders)
            if usage is not None and "key_cert_sign" not in usage:
                return ChainResult(ChainStatus.KEY_USAGE, f"{subject} may not sign certificates", ders)
            limit = _extension(certificate, "basic_constraints")["path_len_constraint"].native
            # Intermediate CAs below this issuer are the CA certificates between it and the leaf.
            if limit is not None and position - 1 > limit:
                return ChainResult(ChainStatus.NOT_A_CA, f"{subject} path length exceeded", ders)
    return ChainResult(ChainStatus.VALID, "chain to a registered trust anchor verified", ders)


# ---------------------------------------------------------------------------------------------
# A deployment's PKI

ROOT_LIFETIME = timedelta(days=20 * 365)
MAKER_LIFETIME = timedelta(days=12 * 365)


@dataclass(frozen=True, slots=True)
class DeploymentPki:
    """One deployment's root CA and seal maker for one algorithm; the root is its trust anchor."""

    region: str
    root: CertificateAuthority
    maker: Signer = field(repr=False)
    maker_certificate: bytes

    @property
    def algorithm(self) -> SealAlgorithm:
        """Algorithm of the CA, the maker and the signer certificates it issues."""
        return self.root.algorithm

    @property
    def trust_anchor(self) -> bytes:
        """DER of the root certificate that other regions register."""
        return self.root.certificate_der

    def issue_signer_certificate(
        self,
        *,
        public_key: Verifier,
        seal_name: str,
        org_name: str,
        uscc: str,
        not_before: datetime,
        not_after: datetime,
    ) -> bytes:
        """DER of an organisation's signer certificate, valid for the seal's window."""
        return self.root.issue(
            subject=subject_for_organisation(seal_name=seal_name, org_name=org_name, uscc=uscc),
            public_key=public_key,
            not_before=not_before,
            not_after=not_after,
            role=CertificateRole.SIGNER,
        )


def create_deployment_pki(
    *, algorithm: SealAlgorithm, region: str, operator: str, now: datetime
) -> DeploymentPki:
    """A fresh root CA (20 years) and seal maker (12 years) for a deployment and algorithm."""
    start = _aware(now) - timedelta(minutes=5)  # tolerate clock skew between regions
    root = CertificateAuthority.create_root(
        signer=generate_signer(algorithm),
        subject=CertificateSubject(f"Tongban Seal Root CA {region} {algorithm.value}", organization=operator),
        not_before=start,
        not_after=start + ROOT_LIFETIME,
    )
    maker = generate_signer(algorithm)
    maker_certificate = root.issue(
        subject=CertificateSubject(f"Tongban Seal Maker {region} {algorithm.value}", organization=operator),
        public_key=maker.verifier(),
        not_before=start,
        not_after=start + MAKER_LIFETIME,
        role=CertificateRole.SEAL_MAKER,
    )
    return DeploymentPki(region, root, maker, maker_certificate)
