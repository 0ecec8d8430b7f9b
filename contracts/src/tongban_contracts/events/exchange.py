"""Event payloads of data-exchange-svc on ``tongban.exchange.audit.v1`` (one model per event type).

Subjects are known only by their keyed hash (HMAC-SM3 of the identity number); no event carries an
identity number or a shared field's value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tongban_contracts.events.common import Actor as Actor  # re-exported: payloads name it
from tongban_contracts.events.common import Payload as _Payload

SERVICE = "exchange"


class ResourceField(_Payload):
    """A field a provider offers and how sensitive it is."""

    name: str
    sensitivity: Literal["public", "internal", "personal", "sensitive"]


class ResourceRegistered(_Payload):
    """``cn.gov.tongban.exchange.resource-registered.v1``: a provider system was registered."""

    resource_id: str
    code: str
    name: str
    provider_name: str
    region: str | None
    domain: str
    fields: list[ResourceField]
    supports: list[Literal["share", "verify"]]
    status: str
    version: int
    actor: Actor


class ResourceUpdated(ResourceRegistered):
    """``cn.gov.tongban.exchange.resource-updated.v1``: its endpoint, fields, modes or status changed."""


class GrantIssued(_Payload):
    """``cn.gov.tongban.exchange.grant-issued.v1``: a client may use a resource for named items."""

    grant_id: str
    client_id: str
    resource_id: str
    items: list[str]
    allowed_fields: list[str]
    masked_fields: list[str]
    modes: list[Literal["share", "verify"]]
    rate_limit_per_minute: int
    expires_at: datetime
    statutory_basis: str | None
    version: int
    actor: Actor


class GrantRevoked(_Payload):
    """``cn.gov.tongban.exchange.grant-revoked.v1``: the grant no longer allows anything."""

    grant_id: str
    client_id: str
    resource_id: str
    revoked_at: datetime
    version: int
    actor: Actor


class ConsentGiven(_Payload):
    """``cn.gov.tongban.exchange.consent-given.v1``: a subject consented for a case and resources."""

    consent_id: str
    subject_hash: str
    case_id: str
    resource_ids: list[str]
    until: datetime
    version: int
    actor: Actor


class ConsentRevoked(_Payload):
    """``cn.gov.tongban.exchange.consent-revoked.v1``: the subject withdrew the consent."""

    consent_id: str
    subject_hash: str
    case_id: str
    revoked_at: datetime
    version: int
    actor: Actor


class QueryLogged(_Payload):
    """``cn.gov.tongban.exchange.query-logged.v1``: one exchange-log entry (allowed, refused or failed).

    The event's subject is ``exchange-log`` and its ``sequence`` the entry's place in the hash chain,
    so a consumer can re-check the chain from the events alone.
    """

    entry_id: str
    seq: int = Field(ge=1)
    at: datetime
    client_id: str
    actor: Actor
    resource_id: str | None
    subject_hash: str | None
    case_id: str | None
    item_code: str | None
    mode: Literal["share", "verify"] | None
    fields: list[str]
    outcome: Literal["allowed", "refused", "failed"]
    reason: str | None
    grant_id: str | None = None
    basis: str | None = Field(default=None, description="consent:<id> or statutory:<law>")
    latency_ms: int | None
    prev_hash: str
    hash: str


EVENTS: dict[str, type[BaseModel]] = {
    "resource-registered": ResourceRegistered,
    "resource-updated": ResourceUpdated,
    "grant-issued": GrantIssued,
    "grant-revoked": GrantRevoked,
    "consent-given": ConsentGiven,
    "consent-revoked": ConsentRevoked,
    "query-logged": QueryLogged,
}
"""Event name (as in ``event_type("exchange", name)``) to its payload model."""
