"""Request and response bodies of the eseal API (separate from ORM rows and event payloads)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    model_validator,
)

from eseal_svc.domain.model import SealAlgorithm, SealType
from eseal_svc.domain.validation import ValidationReport

Region = Annotated[str, Field(pattern=r"^\d{6}$", examples=["310000"])]
USCC_PATTERN = r"^[0-9A-Za-z]{18}$"
Uscc = Annotated[str, Field(min_length=18, max_length=18, pattern=USCC_PATTERN)]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]
LicenceTypeCode = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Reason = Annotated[str, Field(max_length=500)]
HexDigest = Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$")]
FieldKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
FieldText = Annotated[str, Field(max_length=1000)]
FieldValue = StrictBool | StrictInt | StrictFloat | FieldText
# 1 MiB of base64 is about 750 KiB of data; PDFs have their own, larger limit.
MAX_DOCUMENT_B64 = 1_000_000
MAX_SIGNATURE_B64 = 200_000
MAX_PDF_B64 = 28_000_000


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (RFC 3339)")
    return value


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be standard base64") from exc
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Base64Document = Annotated[str, Field(min_length=0, max_length=MAX_DOCUMENT_B64), AfterValidator(_base64)]
Base64Signature = Annotated[str, Field(min_length=4, max_length=MAX_SIGNATURE_B64), AfterValidator(_base64)]
Base64Pdf = Annotated[str, Field(min_length=4, max_length=MAX_PDF_B64), AfterValidator(_base64)]


def b64(data: bytes) -> str:
    """Standard base64 text of bytes."""
    return base64.b64encode(data).decode()


class Strict(BaseModel):
    """Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------
# Seals


class SealIn(Strict):
    """A new seal of an organisation."""

    org_name: str = Field(min_length=1, max_length=200, examples=["上海市浦东新区市场监督管理局"])
    uscc: Uscc
    region: Region
    seal_type: SealType = SealType.OFFICIAL
    algorithm: SealAlgorithm = SealAlgorithm.SM2_SM3
    valid_from: AwareDatetime
    valid_to: AwareDatetime
    name: str | None = Field(None, min_length=1, max_length=200)


class RevokeSealIn(Strict):
    """Why the seal is revoked, and from when (default now; earlier when a key was compromised)."""

    reason: Reason = Field(min_length=1)
    invalid_since: AwareDatetime | None = None


class CertificateOut(BaseModel):
    """A certificate's main fields."""

    subject: str
    issuer: str
    serial_number: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    signature_algorithm_oid: str


class LicenceKeyOut(BaseModel):
    """The key that signs the seal's licences as JWTs (ES256 for SM2 seals, else the seal's key)."""

    alg: str
    kid: str
    jwk: dict[str, Any]
    certificate: str = Field(description="DER, base64")


class SealSummaryOut(BaseModel):
    """A seal as listed."""

    id: str
    es_id: str
    name: str
    org_name: str
    uscc: str
    region: str
    seal_type: SealType
    algorithm: SealAlgorithm
    status: Literal["active", "revoked"]
    valid_from: datetime
    valid_to: datetime
    created_at: datetime
    revoked_at: datetime | None
    version: int
    image_url: str


class SealOut(SealSummaryOut):
    """A seal with its GB/T 38540 structure, image address and certificates (never a private key)."""

    revocation_reason: str | None
    seal: str = Field(description="SESeal v4 DER, base64")
    signer_certificate: str = Field(description="DER, base64")
    certificate: CertificateOut
    licence_key: LicenceKeyOut


# ---------------------------------------------------------------------------------------------
# Signatures


class DigestIn(Strict):
    """A document's digest: SM3 for SM2 seals, SHA-256 for ECDSA and Ed25519 seals."""

    algorithm: Literal["sm3", "sha256"]
    value: HexDigest


class SignIn(Strict):
    """Exactly one of document, digest or digests (a batch)."""

    seal_id: Ident
    document: Base64Document | None = Field(None, description="the document's bytes, base64")
    digest: DigestIn | None = None
    digests: list[DigestIn] | None = Field(None, min_length=1, max_length=1000)
    property_info: str = Field("", max_length=200, pattern=r"^[\x20-\x7e]*$")

    @model_validator(mode="after")
    def _one(self) -> SignIn:
        given = [x for x in (self.document, self.digest, self.digests) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of document, digest or digests")
        return self


class SignatureOut(BaseModel):
    """One signature."""

    signature: str = Field(description="SES_Signature v4 DER, base64")
    data_hash: str = Field(description="hex digest that was signed")


class SignOut(BaseModel):
    """Signatures made in one request, all at signed_at."""

    seal_id: str
    es_id: str
    algorithm: SealAlgorithm
    format: str
    signed_at: datetime
    signatures: list[SignatureOut]


class VerifyIn(Strict):
    """A signature and what it should cover: the document's bytes or its digest."""

    signature: Base64Signature
    document: Base64Document | None = None
    digest: DigestIn | None = None

    @model_validator(mode="after")
    def _one(self) -> VerifyIn:
        if (self.document is None) == (self.digest is None):
            raise ValueError("give exactly one of document or digest")
        return self


class VerifyBatchIn(Strict):
    """Up to 1000 signatures to validate."""

    items: list[VerifyIn] = Field(min_length=1, max_length=1000)


class PdfSignIn(Strict):
    """A PDF to sign with an ECDSA P-256 or Ed25519 seal (PAdES B-B)."""

    seal_id: Ident
    pdf: Base64Pdf
    reason: str | None = Field(None, max_length=200)
    location: str | None = Field(None, max_length=200)


class PdfSignOut(BaseModel):
    """The signed PDF."""

    seal_id: str
    level: Literal["PAdES-B-B"] = "PAdES-B-B"
    signed_at: datetime
    pdf: str = Field(description="the signed PDF, base64")


class PdfVerifyIn(Strict):
    """A signed PDF."""

    pdf: Base64Pdf


class CheckOut(BaseModel):
    """One check the verifier performed."""

    name: str
    passed: bool
    detail: str
    sub_indication: str | None


class SignatureInfoOut(BaseModel):
    """What the verifier learned about the seal and signer."""

    es_id: str | None = None
    seal_name: str | None = None
    seal_type_code: int | None = None
    seal_valid_from: datetime | None = None
    seal_valid_to: datetime | None = None
    signing_time: datetime | None = None
    signature_algorithm: str | None = None
    digest_algorithm: str | None = None
    signer_subject: str | None = None
    maker_subject: str | None = None
    trust_anchor_subject: str | None = None
    property_info: str | None = None


Indication = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]


def _checks(report: ValidationReport) -> list[CheckOut]:
    return [
        CheckOut(
            name=c.name.value,
            passed=c.passed,
            detail=c.detail,
            sub_indication=c.sub_indication.value if c.sub_indication else None,
        )
        for c in report.checks
    ]


class ReportOut(BaseModel):
    """A validation report in the style of ETSI EN 319 102-1 / EU DSS."""

    indication: Indication
    sub_indication: str | None
    checks: list[CheckOut]
    info: SignatureInfoOut
    validation_time: datetime

    @classmethod
    def of(cls, report: ValidationReport, at: datetime) -> ReportOut:
        """From a domain report."""
        i = report.info
        return cls(
            indication=report.indication.value,
            sub_indication=report.sub_indication.value if report.sub_indication else None,
            checks=_checks(report),
            info=SignatureInfoOut(
                es_id=i.es_id,
                seal_name=i.seal_name,
                seal_type_code=i.seal_type_code,
                seal_valid_from=i.seal_valid_from,
                seal_valid_to=i.seal_valid_to,
                signing_time=i.signing_time,
                signature_algorithm=i.signature_algorithm,
                digest_algorithm=i.digest_algorithm,
                signer_subject=i.signer_subject,
                maker_subject=i.maker_subject,
                trust_anchor_subject=i.trust_anchor_subject,
                property_info=i.property_info,
            ),
            validation_time=at,
        )


class ReportsOut(BaseModel):
    """One report per item, in order."""

    reports: list[ReportOut]


# ---------------------------------------------------------------------------------------------
# Licences


class HolderIn(Strict):
    """The holder: a person (resident identity number) or an organisation (credit code)."""

    name: str = Field(min_length=1, max_length=100)
    id_type: Literal["resident_id", "uscc"] = "resident_id"
    id_number: str = Field(min_length=18, max_length=18, pattern=r"^[0-9A-Za-z]{18}$")


class LicenceIn(Strict):
    """A licence to issue, sealed by the caller's organisation."""

    licence_type: LicenceTypeCode
    seal_id: Ident | None = Field(
        None, description="default: the organisation's official, newest usable seal"
    )
    holder: HolderIn
    fields: dict[FieldKey, FieldValue] = Field(default_factory=dict, max_length=50)
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class IssuerOut(BaseModel):
    """The issuing organisation."""

    uscc: str
    name: str
    region: str


class HolderOut(BaseModel):
    """The holder, never with the full identity number."""

    name: str | None
    id_type: str | None
    id_masked: str
    subject_hash: str


class StatusEntryOut(BaseModel):
    """An entry in a Bitstring Status List."""

    purpose: Literal["revocation", "suspension"]
    status_list: str
    index: int


class LicenceOut(BaseModel):
    """An issued licence: the credential (vc+jwt and decoded) and, for SM2 seals, its SES_Signature."""

    id: str
    licence_type: str
    status: Literal["active", "suspended", "revoked"]
    issuer: IssuerOut
    seal_id: str
    holder: HolderOut
    fields: dict[str, Any]
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime
    status_changed_at: datetime | None
    status_reason: str | None
    credential_status: list[StatusEntryOut]
    credential: dict[str, Any]
    vc_jwt: str
    gm_signature: str | None = Field(description="detached SES_Signature v4 over the JWT's bytes, base64")
    version: int


class LicenceStatusIn(Strict):
    """Why the licence's status changes."""

    reason: Reason | None = None


class LicenceVerifyIn(Strict):
    """A licence to validate: its id here, or the vc+jwt a holder presented (with its SES_Signature)."""

    licence_id: Ident | None = None
    credential: str | None = Field(None, min_length=10, max_length=200_000, description="the vc+jwt")
    gm_signature: Base64Signature | None = None

    @model_validator(mode="after")
    def _one(self) -> LicenceVerifyIn:
        if (self.licence_id is None) == (self.credential is None):
            raise ValueError("give exactly one of licence_id or credential")
        return self


class LicenceSummaryOut(BaseModel):
    """What a licence report is about (no holder data)."""

    id: str | None = None
    licence_type: str | None = None
    issuer_uscc: str | None = None
    issuer_name: str | None = None
    issuer_region: str | None = None
    trust_anchor_region: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None


class LicenceReportOut(BaseModel):
    """A licence validation report."""

    indication: Indication
    sub_indication: str | None
    checks: list[CheckOut]
    licence: LicenceSummaryOut
    validation_time: datetime

    @classmethod
    def of(cls, report: ValidationReport, licence: LicenceSummaryOut, at: datetime) -> LicenceReportOut:
        """From a domain report."""
        return cls(
            indication=report.indication.value,
            sub_indication=report.sub_indication.value if report.sub_indication else None,
            checks=_checks(report),
            licence=licence,
            validation_time=at,
        )


class LicenceTypeIn(Strict):
    """A licence type to register."""

    code: LicenceTypeCode
    name: str = Field(min_length=1, max_length=200)


class LicenceTypeOut(BaseModel):
    """A registered licence type."""

    code: str
    name: str


# ---------------------------------------------------------------------------------------------
# Trust


class AnchorIn(Strict):
    """Another deployment's root CA certificate and the region it speaks for."""

    region: Region
    certificate: str = Field(min_length=10, max_length=20_000, description="PEM, or DER in base64")


class AnchorOut(BaseModel):
    """A trust anchor."""

    id: str
    region: str
    subject: str
    algorithm: str | None
    fingerprint_sha256: str
    not_after: datetime
    source: Literal["local", "registered"]
    certificate: str = Field(description="DER, base64")


class TrustedIssuerIn(Strict):
    """Recognise an organisation of a region as issuer of licence types (added to what it had)."""

    uscc: Uscc
    region: Region
    org_name: str = Field(min_length=1, max_length=200)
    licence_types: list[LicenceTypeCode] = Field(min_length=1, max_length=100)


class TrustedIssuerOut(BaseModel):
    """A trust-registry entry."""

    uscc: str
    region: str
    org_name: str
    licence_types: list[str]
    version: int


class TrustOut(BaseModel):
    """The published trust list: root certificates and recognised licence issuers."""

    anchors: list[AnchorOut]
    issuers: list[TrustedIssuerOut]


class JwksOut(BaseModel):
    """Public licence keys of active seals, each with its x5c certificate."""

    keys: list[dict[str, Any]]
