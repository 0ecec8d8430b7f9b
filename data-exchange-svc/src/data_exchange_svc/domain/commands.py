"""Commands the hub handles (imperative, one handler each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from data_exchange_svc.domain.model import Caller, DataDomain, FieldSpec, Mode


@dataclass(frozen=True, slots=True)
class RegisterResource:
    """Register a provider system."""

    code: str
    name: str
    provider_name: str
    provider_uscc: str | None
    region: str | None
    domain: DataDomain
    endpoint_url: str
    fields: tuple[FieldSpec, ...]
    supports: frozenset[Mode]
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class UpdateResource:
    """Change a provider's endpoint, fields, modes, timeout or status (None leaves a part unchanged)."""

    resource_id: str
    expected_version: int
    name: str | None = None
    endpoint_url: str | None = None
    fields: tuple[FieldSpec, ...] | None = None
    supports: frozenset[Mode] | None = None
    timeout_ms: int | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class IssueGrant:
    """Let a client use a resource for named items."""

    client_id: str
    resource_id: str
    items: frozenset[str]
    allowed_fields: frozenset[str]
    masked_fields: frozenset[str]
    modes: frozenset[Mode]
    rate_limit_per_minute: int
    expires_at: datetime
    statutory_basis: str | None


@dataclass(frozen=True, slots=True)
class RevokeGrant:
    """End a grant."""

    grant_id: str
    expected_version: int


@dataclass(frozen=True, slots=True)
class GiveConsent:
    """A subject consents to named resources being queried for a case, until a time."""

    subject_hash: str
    case_id: str
    resource_ids: tuple[str, ...]
    until: datetime
    purpose: str | None


@dataclass(frozen=True, slots=True)
class RevokeConsent:
    """The subject withdraws a consent."""

    consent_id: str
    subject_hash: str
    expected_version: int


@dataclass(frozen=True, slots=True)
class RunQuery:
    """Ask a provider about a person for a case (share fields or verify a fact)."""

    caller: Caller
    resource_id: str
    subject_id_number: str
    case_id: str
    item_code: str
    mode: Mode
    fields: tuple[str, ...] = ()
    fact: dict[str, Any] = field(default_factory=dict)

    @property
    def field_names(self) -> frozenset[str]:
        """The fields the query touches: those asked for, or those the fact states."""
        return frozenset(self.fields) if self.mode is Mode.SHARE else frozenset(self.fact)
