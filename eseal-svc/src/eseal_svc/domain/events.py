"""Domain events of seals (past tense); the service layer maps them to integration events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened to an aggregate."""

    occurred_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SealIssued(DomainEvent):
    """A seal was made for an organisation."""

    seal_id: str
    es_id: str
    uscc: str
    region: str
    algorithm: str
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SealRevokedEvent(DomainEvent):
    """A seal was revoked; signatures made after revoked_at no longer validate."""

    seal_id: str
    es_id: str
    uscc: str
    region: str
    revoked_at: datetime
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenceIssuedEvent(DomainEvent):
    """A licence was issued."""

    licence_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenceRevokedEvent(DomainEvent):
    """A licence was revoked for good."""

    licence_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenceSuspendedEvent(DomainEvent):
    """A licence was suspended."""

    licence_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenceReinstatedEvent(DomainEvent):
    """A suspension was lifted."""

    licence_id: str
