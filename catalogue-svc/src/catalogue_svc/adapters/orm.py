"""ORM tables of catalogue-svc (the kit's outbox, inbox and idempotency tables share this metadata).

``items`` is the aggregate's row: its ``revision`` is the ETag counter, ``event_sequence`` the last
``ce_sequence`` it emitted, and it repeats the facts of the version in force so that lists and
filters read one table.
``item_versions`` holds every version's content as JSON. Two partial unique indexes make the
domain's rules hold in the database too: at most one draft and one open published version per item.
``search_tokens`` is the token table of ``domain/search.py``; its primary key starts with the
token, so a query reads the matching rows in key order on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from tongban_kit import idempotency, inbox, outbox  # noqa: F401  (registers the kit tables)
from tongban_kit.db import Base, UtcDateTime, utcnow

__all__ = [
    "Base",
    "FaqRow",
    "FaqSearchTokenRow",
    "ItemRow",
    "ItemVersionRow",
    "RegionImplementationRow",
    "SearchTokenRow",
]


class ItemRow(Base):
    """One catalogue item: its revision and the listing facts of its version in force."""

    __tablename__ = "items"

    basic_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    # ce_sequence of the item's last event: it moves only when an event is written, so the
    # sequence is gap-free although draft edits also move the revision.
    event_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    current_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    item_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ministry: Mapped[str | None] = mapped_column(String(100), nullable=True)
    mode_online: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    mode_proxy: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    mode_joint: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    audience_natural: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    audience_legal: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    statutory_limit_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    promised_limit_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint("revision >= 1", name="revision_positive"),
        Index("ix_items_ministry", "ministry"),
        Index("ix_items_item_type", "item_type"),
    )


class ItemVersionRow(Base):
    """One numbered version of an item: state, validity window and the content as JSON."""

    __tablename__ = "item_versions"

    basic_code: Mapped[str] = mapped_column(
        String(10), ForeignKey("items.basic_code", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("state IN ('draft', 'published', 'retired')", name="state_known"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="window_not_empty"),
        CheckConstraint("number >= 1", name="number_positive"),
        Index(
            "uq_item_versions_one_draft",
            "basic_code",
            unique=True,
            sqlite_where=text("state = 'draft'"),
            postgresql_where=text("state = 'draft'"),
        ),
        Index(
            "uq_item_versions_one_in_force",
            "basic_code",
            unique=True,
            sqlite_where=text("state = 'published' AND valid_to IS NULL"),
            postgresql_where=text("state = 'published' AND valid_to IS NULL"),
        ),
    )


class RegionImplementationRow(Base):
    """A province's implementation of an item, with its own revision (ETag and event sequence)."""

    __tablename__ = "region_implementations"

    basic_code: Mapped[str] = mapped_column(
        String(10), ForeignKey("items.basic_code", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    item_version: Mapped[int] = mapped_column(Integer, nullable=False)
    implementation_code: Mapped[str] = mapped_column(String(31), nullable=False, unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_region_implementations_region", "region"),)


class FaqRow(Base):
    """One FAQ entry of an item, with who added it."""

    __tablename__ = "faqs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    basic_code: Mapped[str] = mapped_column(
        String(10), ForeignKey("items.basic_code", ondelete="CASCADE"), nullable=False
    )
    question: Mapped[str] = mapped_column(Text, nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    region: Mapped[str | None] = mapped_column(String(6), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_faqs_basic_code_id", "basic_code", "id"),)


class SearchTokenRow(Base):
    """One (token, item) row of the search index of the items in force.

    The domain yields one (token, field, weight) per field; the table keeps one row per token and item
    with the fields' weights summed and the fields as a bit set. Scores, matches and order are the
    same as summing per-field rows, with fewer rows to read, and ``COUNT(*)`` replaces
    ``COUNT(DISTINCT token)``. The primary key leads with the token and carries the weight (SQLite:
    a WITHOUT ROWID table; PostgreSQL: INCLUDE), so a query is an index-only range read on both.
    """

    __tablename__ = "search_tokens"

    token: Mapped[str] = mapped_column(String(64), nullable=False)
    basic_code: Mapped[str] = mapped_column(String(10), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    fields: Mapped[int] = mapped_column(Integer, nullable=False)
    weight: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("token", "basic_code", postgresql_include=["weight"]),
        Index("ix_search_tokens_basic_code", "basic_code"),
        # A token's items best first: one-token searches read just their page, others the heads.
        Index("ix_search_tokens_rank", "token", text("weight DESC"), "basic_code"),
        {"sqlite_with_rowid": False},
    )


class FaqSearchTokenRow(Base):
    """One (token, FAQ entry) row of the FAQ knowledge base's index, laid out like ``search_tokens``."""

    __tablename__ = "faq_search_tokens"

    token: Mapped[str] = mapped_column(String(64), nullable=False)
    faq_id: Mapped[str] = mapped_column(String(36), nullable=False)
    fields: Mapped[int] = mapped_column(Integer, nullable=False)
    weight: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        PrimaryKeyConstraint("token", "faq_id", postgresql_include=["weight"]),
        Index("ix_faq_search_tokens_faq_id", "faq_id"),
        {"sqlite_with_rowid": False},
    )
