"""The Seal aggregate: an organisation's electronic seal, its validity window and revocation."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from eseal_svc.domain.errors import (
    InvalidRegion,
    InvalidSealName,
    InvalidValidityWindow,
    SealAlreadyRevoked,
    SealExpired,
    SealNotOwned,
    SealNotYetValid,
    SealRevoked,
)
from eseal_svc.domain.events import DomainEvent, SealIssued, SealRevokedEvent
from eseal_svc.domain.uscc import validate_uscc

# A seal certificate and its seal outliving ten years would outlive any key-length policy we follow.
MAX_VALIDITY = timedelta(days=3653)
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 500

# First two digits of the GB/T 2260 codes of the 34 provincial-level divisions.
PROVINCE_PREFIXES = frozenset(
    {
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    }
)
_REGION_FORMAT = re.compile(r"[0-9]{6}")


class SealAlgorithm(enum.StrEnum):
    """Signature algorithm of a seal's key pair."""

    SM2_SM3 = "SM2_SM3"
    ECDSA_P256_SHA256 = "ECDSA_P256_SHA256"
    ED25519 = "ED25519"

    @property
    def digest_name(self) -> str:
        """Name of the hash used for document digests under this algorithm."""
        return "SM3" if self is SealAlgorithm.SM2_SM3 else "SHA256"


class SealType(enum.StrEnum):
    """Kind of organisation seal; the code is the SES_ESPropertyInfo.type integer we write."""

    OFFICIAL = "official"
    CONTRACT = "contract"
    FINANCE = "finance"
    INVOICE = "invoice"
    ADMINISTRATIVE_APPROVAL = "administrative_approval"
    BUSINESS = "business"

    @property
    def ses_code(self) -> int:
        """Integer written to SES_ESPropertyInfo.type (GB/T 38540 leaves the registry to the issuer)."""
        return _SES_CODES[self]

    @property
    def label_zh(self) -> str:
        """The Chinese suffix of the seal's name, empty for the organisation's official seal."""
        return _LABELS_ZH[self]


_SES_CODES = {
    SealType.OFFICIAL: 1,
    SealType.CONTRACT: 2,
    SealType.FINANCE: 3,
    SealType.INVOICE: 4,
    SealType.ADMINISTRATIVE_APPROVAL: 5,
    SealType.BUSINESS: 6,
}
_LABELS_ZH = {
    SealType.OFFICIAL: "",
    SealType.CONTRACT: "合同专用章",
    SealType.FINANCE: "财务专用章",
    SealType.INVOICE: "发票专用章",
    SealType.ADMINISTRATIVE_APPROVAL: "行政审批专用章",
    SealType.BUSINESS: "业务专用章",
}


class SealStatus(enum.StrEnum):
    """Lifecycle state of a seal."""

    ACTIVE = "active"
    REVOKED = "revoked"


def validate_region(region: str) -> str:
    """Return the six-digit GB/T 2260 region code or raise InvalidRegion."""
    if not _REGION_FORMAT.fullmatch(region) or region[:2] not in PROVINCE_PREFIXES:
        raise InvalidRegion(f"region {region!r} is not a six-digit GB/T 2260 code of a province")
    return region


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValidityWindow(f"{what} must carry a time zone")
    # SES times are GeneralizedTime to the second, so the domain keeps the same precision.
    return value.astimezone(UTC).replace(microsecond=0)


def _name(value: str, what: str) -> str:
    text = value.strip()
    if not text or len(text) > MAX_NAME_LENGTH:
        raise InvalidSealName(f"{what} must be 1 to {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 0x20 for c in text):
        raise InvalidSealName(f"{what} must not contain control characters")
    return text


@dataclass(frozen=True, slots=True)
class ValidityWindow:
    """Half-open interval [valid_from, valid_to) in UTC, to the second."""

    valid_from: datetime
    valid_to: datetime

    @classmethod
    def of(cls, valid_from: datetime, valid_to: datetime, *, now: datetime) -> ValidityWindow:
        """Build a window for a new seal, checking it is sane at `now`."""
        start = _utc(valid_from, "valid_from")
        end = _utc(valid_to, "valid_to")
        current = _utc(now, "now")
        if end <= start:
            raise InvalidValidityWindow("valid_to must be after valid_from")
        if end - start > MAX_VALIDITY:
            raise InvalidValidityWindow("a seal may be valid for at most ten years")
        if end <= current:
            raise InvalidValidityWindow("valid_to must be in the future")
        return cls(start, end)

    def contains(self, at: datetime) -> bool:
        """True when `at` lies inside the window."""
        return self.valid_from <= at < self.valid_to


@dataclass(frozen=True, slots=True)
class SealSpec:
    """Validated request for a new seal, checked before any key is generated."""

    org_name: str
    uscc: str
    region: str
    seal_type: SealType
    algorithm: SealAlgorithm
    validity: ValidityWindow
    name: str

    @classmethod
    def create(
        cls,
        *,
        org_name: str,
        uscc: str,
        region: str,
        seal_type: SealType,
        algorithm: SealAlgorithm,
        valid_from: datetime,
        valid_to: datetime,
        now: datetime,
        name: str | None = None,
    ) -> SealSpec:
        """Validate every field of a seal request; raises a DomainError subclass on the first bad one."""
        org = _name(org_name, "org_name")
        seal_name = _name(name, "name") if name is not None else _name(org + seal_type.label_zh, "name")
        return cls(
            org_name=org,
            uscc=validate_uscc(uscc),
            region=validate_region(region),
            seal_type=SealType(seal_type),
            algorithm=SealAlgorithm(algorithm),
            validity=ValidityWindow.of(valid_from, valid_to, now=now),
            name=seal_name,
        )


@dataclass(slots=True)
class SealMaterial:
    """Cryptographic artefacts of a seal; the wrapped private key never leaves the service."""

    seal_der: bytes
    image_png: bytes
    signer_certificate_der: bytes
    wrapped_private_key: bytes = field(repr=False)


@dataclass(slots=True)
class Seal:
    """An organisation's electronic seal (aggregate root)."""

    id: str
    es_id: str
    spec: SealSpec
    material: SealMaterial
    created_at: datetime
    status: SealStatus = SealStatus.ACTIVE
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    version: int = 1
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def issue(
        cls, *, seal_id: str, es_id: str, spec: SealSpec, material: SealMaterial, created_at: datetime
    ) -> Seal:
        """A new active seal; records SealIssued."""
        created = _utc(created_at, "created_at")
        seal = cls(id=seal_id, es_id=es_id, spec=spec, material=material, created_at=created)
        seal.events.append(
            SealIssued(
                seal_id=seal_id,
                es_id=es_id,
                uscc=spec.uscc,
                region=spec.region,
                algorithm=spec.algorithm.value,
                valid_from=spec.validity.valid_from,
                valid_to=spec.validity.valid_to,
                occurred_at=created,
            )
        )
        return seal

    @property
    def is_revoked(self) -> bool:
        """True once the seal has been revoked."""
        return self.status is SealStatus.REVOKED

    def revoked_before(self, at: datetime) -> bool:
        """True when the seal had been revoked at or before `at`."""
        return self.revoked_at is not None and self.revoked_at <= _utc(at, "at")

    def ensure_owned_by(self, uscc: str) -> None:
        """Raise SealNotOwned unless the organisation with this credit code owns the seal."""
        if uscc.strip().upper() != self.spec.uscc:
            raise SealNotOwned("the seal belongs to another organisation")

    def ensure_can_sign(self, at: datetime) -> None:
        """Raise unless the seal may sign at `at`: not revoked and inside its validity window."""
        when = _utc(at, "at")
        if self.is_revoked:
            raise SealRevoked("the seal has been revoked")
        if when < self.spec.validity.valid_from:
            raise SealNotYetValid("the seal's validity window has not started")
        if when >= self.spec.validity.valid_to:
            raise SealExpired("the seal's validity window has ended")

    def revoke(self, *, at: datetime, reason: str) -> None:
        """Revoke the seal from `at` on; records SealRevokedEvent."""
        if self.is_revoked:
            raise SealAlreadyRevoked("the seal is already revoked")
        text = reason.strip()
        if len(text) > MAX_REASON_LENGTH:
            raise InvalidSealName(f"reason must be at most {MAX_REASON_LENGTH} characters")
        when = _utc(at, "at")
        self.status = SealStatus.REVOKED
        self.revoked_at = when
        self.revocation_reason = text or None
        self.version += 1
        self.events.append(
            SealRevokedEvent(
                seal_id=self.id,
                es_id=self.es_id,
                uscc=self.spec.uscc,
                region=self.spec.region,
                revoked_at=when,
                reason=self.revocation_reason,
                occurred_at=when,
            )
        )
