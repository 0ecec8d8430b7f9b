"""Async SQLAlchemy glue that behaves the same on SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every service; its metadata also holds the kit's outbox and inbox tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes in UTC and always returns them aware (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL is the embedded SQLite default."""
    return url.startswith("sqlite")


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, pre_ping: bool = False, echo: bool = False
) -> AsyncEngine:
    """Create the engine: SQLite in WAL mode with a busy timeout, or an asyncpg pool.

    Without pre-ping a connection broken by a database restart fails one statement, after which
    SQLAlchemy invalidates the whole pool; pre-ping trades a round trip per checkout for that.
    """
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=pre_ping
    )


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory whose objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def increment_counter(
    session: AsyncSession, table: Table, key: Mapping[str, Any], *, column: str = "value", step: int = 1
) -> int:
    """Add ``step`` to a counter row (created at ``step`` if missing) and return the new value.

    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` behaves the same on SQLite and PostgreSQL (neither
    needs a sequence) and holds the row lock only until the surrounding transaction ends.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values({**key, column: step})
        .on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + step})
        .returning(table.c[column])
    )
    return int((await session.execute(stmt)).scalar_one())


def service_metadata(*packages: str) -> MetaData:
    """The tables of the given service packages plus the kit's, as a MetaData of their own.

    Every service's models share the kit's ``Base`` (so the outbox and inbox are in each service's
    schema). In one process that imports several services, as the test suite does, ``Base.metadata``
    holds them all; migrations and schema comparisons use this narrower view.
    """
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    prefixes = (*packages, "tongban_kit.")
    for mapper in Base.registry.mappers:
        if not mapper.class_.__module__.startswith(prefixes):
            continue
        for table in mapper.tables:
            if isinstance(table, Table) and table.name not in metadata.tables:
                table.to_metadata(metadata)
    return metadata
