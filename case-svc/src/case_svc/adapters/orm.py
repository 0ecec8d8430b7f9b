"""ORM tables of case-svc (the kit's outbox, inbox and idempotency tables share this metadata)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from tongban_kit import idempotency, inbox, outbox  # noqa: F401  (registers the kit tables)
from tongban_kit.db import Base, UtcDateTime, utcnow

_BIGINT = BigInteger().with_variant(Integer, "sqlite")


class CaseRow(Base):
    """One case: the aggregate's state, its ETag version and its event sequence counter."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    basic_code: Mapped[str] = mapped_column(String(64))
    item_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10))
    receiving_region: Mapped[str] = mapped_column(String(6))
    handling_region: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(24))
    resume_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    applicant_kind: Mapped[str] = mapped_column(String(16))
    applicant_name_enc: Mapped[str] = mapped_column(Text)
    applicant_id_enc: Mapped[str] = mapped_column(Text)
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    masked_id: Mapped[str] = mapped_column(String(32))
    submitted_by: Mapped[dict[str, Any]] = mapped_column(JSON)
    delivery_method: Mapped[str] = mapped_column(String(12))
    delivery_address_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    form_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    participants: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    pauses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    correction_rounds: Mapped[int] = mapped_column(Integer, default=0)
    accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    statutory_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    statutory_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    promised_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    promised_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # Markers the deadline worker claims with a conditional UPDATE: the due date it already announced.
    statutory_warned_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    statutory_overdue_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    promised_warned_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    promised_overdue_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    transferred_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    concluded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    transfer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transfer_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(10), nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    handling_working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    delivery_proof: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    event_sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_cases_status_id", "status", "id"),
        Index("ix_cases_basic_code_id", "basic_code", "id"),
        Index("ix_cases_status_promised_due", "status", "promised_due"),
        Index("ix_cases_status_statutory_due", "status", "statutory_due"),
        Index("ix_cases_submitted_at", "submitted_at"),
    )


class CasePartyRow(Base):
    """A region's place in a case, with the case status copied in so region lists use one index."""

    __tablename__ = "case_parties"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    is_receiving: Mapped[bool] = mapped_column(Boolean, default=False)
    is_handling: Mapped[bool] = mapped_column(Boolean, default=False)
    is_participant: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        # Keyset pages of "my region's cases in this status": region + status + id, newest first.
        Index("ix_case_parties_region_status_case", "region", "status", "case_id"),
        Index("ix_case_parties_region_case", "region", "case_id"),
        Index("ix_case_parties_case", "case_id"),
    )


class HistoryRow(Base):
    """Append-only: every status change or command, who made it, and why."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24), nullable=True)
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_case_history_case_id_id", "case_id", "id"),)


class TaskRow(Base):
    """A joint-handling task of one participating region."""

    __tablename__ = "case_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(200), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CorrectionRow(Base):
    """A correction notice (一次性告知) and whether it was answered."""

    __tablename__ = "case_corrections"

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    round: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    due_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    after_acceptance: Mapped[bool] = mapped_column(Boolean)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (UniqueConstraint("case_id", "round", name="uq_case_corrections_case_round"),)


class MessageRow(Base):
    """A liaison message between the windows of a case (the body is encrypted: it may hold personal data)."""

    __tablename__ = "case_messages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    side: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str] = mapped_column(String(200))
    body_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_case_messages_case_id_id", "case_id", "id"),)


class FileRow(Base):
    """An uploaded material file; its bytes live in the blob store under its SHA-256."""

    __tablename__ = "case_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"))
    material_code: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(_BIGINT)
    content_type: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    uploaded_by: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __table_args__ = (Index("ix_case_files_case_id_id", "case_id", "id"),)


class RatingRow(Base):
    """The applicant's rating of a case (the comment stays here, never in events)."""

    __tablename__ = "case_ratings"

    case_id: Mapped[str] = mapped_column(String(36), ForeignKey("cases.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated_by: Mapped[dict[str, Any]] = mapped_column(JSON)
    rated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CounterRow(Base):
    """Daily case-number counter per handling region."""

    __tablename__ = "case_counters"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ItemRow(Base):
    """Read model: one published item version from catalogue events."""

    __tablename__ = "catalogue_items"

    basic_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RegionOfferRow(Base):
    """Read model: a region's implementation of an item."""

    __tablename__ = "catalogue_region_offers"

    basic_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


__all__ = [
    "Base",
    "CasePartyRow",
    "CaseRow",
    "CorrectionRow",
    "CounterRow",
    "FileRow",
    "HistoryRow",
    "ItemRow",
    "MessageRow",
    "RatingRow",
    "RegionOfferRow",
    "TaskRow",
]
