"""Electronic licences (电子证照): the Licence aggregate, its status, and the mutual-recognition rule."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eseal_svc.domain.errors import (
    InvalidLicence,
    LicenceAlreadyRevoked,
    LicenceAlreadySuspended,
    LicenceNotSuspended,
)
from eseal_svc.domain.events import (
    DomainEvent,
    LicenceIssuedEvent,
    LicenceReinstatedEvent,
    LicenceRevokedEvent,
    LicenceSuspendedEvent,
)

MAX_REASON_LENGTH = 500
LICENCE_TYPE_CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")


class LicenceStatus(enum.StrEnum):
    """Lifecycle state of a licence."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class StatusPurpose(enum.StrEnum):
    """statusPurpose of a BitstringStatusListEntry."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """Where a licence's bit for one purpose lives."""

    purpose: StatusPurpose
    list_id: str
    index: int


@dataclass(frozen=True, slots=True)
class Issuer:
    """The issuing organisation as a licence names it."""

    uscc: str
    name: str
    region: str


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidLicence(f"{what} must carry a time zone")
    return value.astimezone(UTC).replace(microsecond=0)


def _reason(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidLicence(f"reason must be at most {MAX_REASON_LENGTH} characters")
    return text or None


@dataclass(slots=True)
class Licence:
    """An issued licence (aggregate root); the credential itself is kept by the adapters."""

    id: str
    licence_type: str
    issuer: Issuer
    seal_id: str
    holder_subject_hash: str
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime
    revocation: StatusEntry
    suspension: StatusEntry
    status: LicenceStatus = LicenceStatus.ACTIVE
    status_changed_at: datetime | None = None
    status_reason: str | None = None
    version: int = 1
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def issue(
        cls,
        *,
        licence_id: str,
        licence_type: str,
        issuer: Issuer,
        seal_id: str,
        holder_subject_hash: str,
        valid_from: datetime,
        valid_until: datetime | None,
        issued_at: datetime,
        revocation: StatusEntry,
        suspension: StatusEntry,
    ) -> Licence:
        """A new active licence; records LicenceIssuedEvent."""
        if not LICENCE_TYPE_CODE.fullmatch(licence_type):
            raise InvalidLicence("licence type codes are lower-case snake_case")
        start = _utc(valid_from, "valid_from")
        end = _utc(valid_until, "valid_until") if valid_until is not None else None
        issued = _utc(issued_at, "issued_at")
        if end is not None and end <= start:
            raise InvalidLicence("valid_until must be after valid_from")
        if end is not None and end <= issued:
            raise InvalidLicence("valid_until must be in the future")
        if (
            revocation.purpose is not StatusPurpose.REVOCATION
            or suspension.purpose is not StatusPurpose.SUSPENSION
        ):
            raise InvalidLicence("a licence needs one revocation and one suspension entry")
        licence = cls(
            id=licence_id,
            licence_type=licence_type,
            issuer=issuer,
            seal_id=seal_id,
            holder_subject_hash=holder_subject_hash,
            valid_from=start,
            valid_until=end,
            issued_at=issued,
            revocation=revocation,
            suspension=suspension,
        )
        licence.events.append(LicenceIssuedEvent(licence_id=licence_id, occurred_at=issued))
        return licence

    def revoke(self, *, at: datetime, reason: str | None) -> None:
        """Revoke for good (a suspended licence may be revoked); sets the revocation bit."""
        if self.status is LicenceStatus.REVOKED:
            raise LicenceAlreadyRevoked("the licence is already revoked")
        self._change(LicenceStatus.REVOKED, at, reason)
        self.events.append(LicenceRevokedEvent(licence_id=self.id, occurred_at=self.status_changed_at or at))

    def suspend(self, *, at: datetime, reason: str | None) -> None:
        """Suspend until reinstated; sets the suspension bit."""
        if self.status is LicenceStatus.REVOKED:
            raise LicenceAlreadyRevoked("a revoked licence cannot be suspended")
        if self.status is LicenceStatus.SUSPENDED:
            raise LicenceAlreadySuspended("the licence is already suspended")
        self._change(LicenceStatus.SUSPENDED, at, reason)
        self.events.append(
            LicenceSuspendedEvent(licence_id=self.id, occurred_at=self.status_changed_at or at)
        )

    def reinstate(self, *, at: datetime, reason: str | None) -> None:
        """Lift a suspension; clears the suspension bit."""
        if self.status is not LicenceStatus.SUSPENDED:
            raise LicenceNotSuspended("only a suspended licence can be reinstated")
        self._change(LicenceStatus.ACTIVE, at, reason)
        self.events.append(
            LicenceReinstatedEvent(licence_id=self.id, occurred_at=self.status_changed_at or at)
        )

    def _change(self, status: LicenceStatus, at: datetime, reason: str | None) -> None:
        text = _reason(reason)
        self.status = status
        self.status_changed_at = _utc(at, "at")
        self.status_reason = text
        self.version += 1

    @property
    def revoked(self) -> bool:
        """The value of the revocation bit."""
        return self.status is LicenceStatus.REVOKED

    @property
    def suspended(self) -> bool:
        """The value of the suspension bit (a revoked licence keeps the bit it had)."""
        return self.status is LicenceStatus.SUSPENDED

    def in_validity(self, at: datetime) -> bool:
        """True when at lies inside [valid_from, valid_until)."""
        moment = _utc(at, "at")
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One mutual-recognition entry: an organisation of a region may issue these licence types."""

    uscc: str
    region: str
    licence_types: frozenset[str]


def issuer_trusted(entries: Iterable[TrustedIssuer], *, uscc: str, region: str, licence_type: str) -> bool:
    """True when the trust registry recognises the organisation of the region for the licence type."""
    return any(e.uscc == uscc and e.region == region and licence_type in e.licence_types for e in entries)
