"""Commands of eseal-svc: what a caller asks the service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from eseal_svc.domain.model import SealAlgorithm, SealType


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateSeal:
    """Make an organisation's seal: key pair, signer certificate, image and SESeal."""

    org_name: str
    uscc: str
    region: str
    seal_type: SealType
    algorithm: SealAlgorithm
    valid_from: datetime
    valid_to: datetime
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeSeal:
    """Revoke a seal from invalid_since (default: now) on."""

    seal_id: str
    expected_version: int
    reason: str
    invalid_since: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignDigests:
    """Sign document digests with a seal the caller's organisation owns."""

    seal_id: str
    org: str | None
    digests: tuple[bytes, ...]
    property_info: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignPdf:
    """Add a PAdES signature to a PDF with a seal the caller's organisation owns."""

    seal_id: str
    org: str | None
    pdf: bytes = field(repr=False)
    reason: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueLicence:
    """Issue a licence to a holder, sealed by the caller's organisation."""

    org: str | None
    licence_type: str
    seal_id: str | None
    holder_name: str
    holder_id_type: Literal["resident_id", "uscc"]
    holder_id_number: str = field(repr=False)
    fields: dict[str, str | int | float | bool] = field(repr=False)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeLicenceStatus:
    """Revoke, suspend or reinstate a licence."""

    licence_id: str
    action: Literal["revoke", "suspend", "reinstate"]
    expected_version: int
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterTrustAnchor:
    """Accept another deployment's root certificate for a region."""

    region: str
    certificate_der: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterTrustedIssuer:
    """Recognise an organisation of a region as issuer of licence types (added to what it had)."""

    uscc: str
    region: str
    org_name: str
    licence_types: frozenset[str]
