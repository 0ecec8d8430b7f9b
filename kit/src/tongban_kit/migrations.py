"""Alembic glue: one chain per service, batch mode for SQLite, run on start in dev and tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config


def alembic_config(service_root: Path, url: str) -> Config:
    """Alembic configuration of a service whose alembic.ini sits in its folder."""
    cfg = Config(str(service_root / "alembic.ini"))
    cfg.set_main_option(
        "script_location", str(service_root / "src" / service_root_package(service_root) / "migrations")
    )
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def service_root_package(service_root: Path) -> str:
    """The package directory under src/ of a service folder."""
    return next(
        p.name for p in (service_root / "src").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    )


def upgrade(service_root: Path, url: str, revision: str = "head") -> None:
    """Upgrade a database to the revision (blocking; call it in a thread from async code)."""
    command.upgrade(alembic_config(service_root, url), revision)


async def upgrade_async(service_root: Path, url: str) -> None:
    """Upgrade to head without blocking the event loop."""
    await asyncio.to_thread(upgrade, service_root, url)


def _configure(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        engine = async_engine_from_config(
            cfg.get_section(cfg.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        async with engine.connect() as conn:
            await conn.run_sync(_configure, metadata)
        await engine.dispose()

    asyncio.run(online())


def create_kit_tables(op: object) -> None:
    """Create the outbox, inbox and idempotency tables (every service's first migration calls this)."""
    from tongban_kit.db import Base
    from tongban_kit.idempotency import IdempotencyRecord
    from tongban_kit.inbox import InboxMessage
    from tongban_kit.outbox import OutboxMessage

    bind = op.get_bind()  # type: ignore[attr-defined]
    tables = [OutboxMessage.__table__, InboxMessage.__table__, IdempotencyRecord.__table__]
    Base.metadata.create_all(bind, tables=tables)  # type: ignore[arg-type]


def drop_kit_tables(op: object) -> None:
    """Drop what ``create_kit_tables`` made."""
    for name in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(name)  # type: ignore[attr-defined]
