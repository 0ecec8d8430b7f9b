"""ORM tables of data-exchange-svc (the kit's outbox, inbox and idempotency tables share this metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from tongban_kit import idempotency, inbox, outbox  # noqa: F401  (registers the kit tables)
from tongban_kit.db import Base, UtcDateTime, utcnow

__all__ = ["AuditHeadRow", "AuditRow", "Base", "ConsentRow", "GrantRow", "HubKeyRow", "ResourceRow"]


class ResourceRow(Base):
    """A provider system (data resource) registered with the hub."""

    __tablename__ = "resources"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    provider_name: Mapped[str] = mapped_column(String(200))
    provider_uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)
    region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    domain: Mapped[str] = mapped_column(String(32))
    endpoint_url: Mapped[str] = mapped_column(String(500))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    supports: Mapped[list[str]] = mapped_column(JSON)
    timeout_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class GrantRow(Base):
    """Lets one client use one resource for named items, fields and modes."""

    __tablename__ = "grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    resource_id: Mapped[str] = mapped_column(String(36))
    items: Mapped[list[str]] = mapped_column(JSON)
    allowed_fields: Mapped[list[str]] = mapped_column(JSON)
    masked_fields: Mapped[list[str]] = mapped_column(JSON)
    modes: Mapped[list[str]] = mapped_column(JSON)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    statutory_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_grants_client_resource", "client_id", "resource_id"),)


class ConsentRow(Base):
    """An applicant's consent for a case; the subject is known only by keyed hash."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_hash: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(64))
    resource_ids: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(String(500), nullable=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_consents_subject_case", "subject_hash", "case_id"),)


class AuditRow(Base):
    """One entry of the exchange log, chained to the previous one by its hash."""

    __tablename__ = "exchange_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    client_id: Mapped[str] = mapped_column(String(200))
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)
    resource_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    item_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    grant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    basis: Mapped[str | None] = mapped_column(String(600), nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_exchange_log_subject", "subject_hash", "seq"),
        Index("ix_exchange_log_client", "client_id", "seq"),
    )


class AuditHeadRow(Base):
    """The chain's head (one row): appends lock it, so entries are numbered and linked one at a time."""

    __tablename__ = "exchange_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class HubKeyRow(Base):
    """The hub's signing keys; the private half encrypted with the field key."""

    __tablename__ = "hub_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_jwk: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
