"""Payloads of identity-svc's audit events (topic tongban.identity.audit.v1).

No identity number, phone number, password, secret or token value ever appears in them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tongban_contracts.events.common import Payload as _Payload

SERVICE = "identity"


class LoginSucceeded(_Payload):
    """A person logged in (cn.gov.tongban.identity.login-succeeded.v1)."""

    person_id: str
    client_id: str
    acr: Literal["L1", "L2", "L3"]
    amr: list[str]
    ip: str | None = None
    sso: bool = Field(False, description="true when an existing single-sign-on session was reused")


class LoginFailed(_Payload):
    """A login attempt was refused (cn.gov.tongban.identity.login-failed.v1)."""

    person_id: str | None = Field(None, description="null when the username is unknown")
    client_id: str
    reason: Literal["wrong-password", "wrong-otp", "account-locked", "throttled", "level-unreachable"]
    ip: str | None = None
    failures: int = 0
    locked_until: datetime | None = None


class TokenIssued(_Payload):
    """An access token was issued (cn.gov.tongban.identity.token-issued.v1)."""

    jti: str
    client_id: str
    subject: str
    grant_type: str
    scope: str
    audience: list[str]
    expires_at: datetime
    acr: str | None = None
    region: str | None = None
    actor: dict[str, Any] | None = Field(None, description="RFC 8693 act claim of an exchanged token")
    refresh_family_id: str | None = None


class TokenRevoked(_Payload):
    """Tokens were revoked (cn.gov.tongban.identity.token-revoked.v1)."""

    client_id: str
    reason: Literal["client-request", "refresh-token-reuse", "code-reuse"]
    jti: str | None = None
    refresh_family_id: str | None = None
    subject: str | None = None
    revoked_by: str


class KeyRotated(_Payload):
    """A new signing key became active (cn.gov.tongban.identity.key-rotated.v1)."""

    kid: str
    previous_kids: list[str]
    previous_retire_after: datetime | None = None
    rotated_by: str


class ClientChanged(_Payload):
    """A client was registered or changed (cn.gov.tongban.identity.client-changed.v1)."""

    client_id: str
    change: Literal["created", "updated", "secret-rotated", "disabled", "enabled"]
    changed_by: str
    kind: str
    region: str | None = None
    scopes: list[str]
    grant_types: list[str]
    fields: list[str] = Field(default_factory=list)
    version: int


class PersonRegistered(_Payload):
    """A natural person registered (cn.gov.tongban.identity.person-registered.v1)."""

    person_id: str
    subject_hash: str
    verification_level: Literal["L1", "L2", "L3"]
    registered_by: str | None = None


class PersonVerified(_Payload):
    """A window clerk verified a person in person (cn.gov.tongban.identity.person-verified.v1)."""

    person_id: str
    verification_level: Literal["L3"]
    verified_by: str
    region: str | None = None
    clerk: str
    office: str


class LegalPersonChanged(_Payload):
    """A legal person or its representatives changed (cn.gov.tongban.identity.legal-person-changed.v1)."""

    legal_person_id: str
    change: Literal["created", "representative-added"]
    changed_by: str
    representatives: list[dict[str, str]]


EVENTS: dict[str, type[BaseModel]] = {
    "login-succeeded": LoginSucceeded,
    "login-failed": LoginFailed,
    "token-issued": TokenIssued,
    "token-revoked": TokenRevoked,
    "key-rotated": KeyRotated,
    "client-changed": ClientChanged,
    "person-registered": PersonRegistered,
    "person-verified": PersonVerified,
    "legal-person-changed": LegalPersonChanged,
}
