"""Alembic's chain creates exactly the ORM's tables, and downgrades cleanly (SQLite here; PostgreSQL in integration)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from catalogue_svc.adapters import orm  # noqa: F401  (maps the catalogue tables)
from catalogue_svc.main import SERVICE_ROOT
from sqlalchemy import create_engine, inspect
from tongban_kit.db import service_metadata
from tongban_kit.migrations import alembic_config, upgrade


def comparable(diff: list[Any]) -> list[Any]:
    """Alembic cannot compare an index with a DESC expression; the DDL tests check that one."""
    return [
        d
        for d in diff
        if not (d[0] in ("add_index", "remove_index") and d[1].name == "ix_search_tokens_rank")
    ]


def test_migrations_match_the_models_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/m.db"
    upgrade(SERVICE_ROOT, url)
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), service_metadata("catalogue_svc.")
        )
        assert comparable(diff) == []
        tables = set(inspect(conn).get_table_names())
        rank_sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_search_tokens_rank'"
        ).scalar()
        table_sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'search_tokens'"
        ).scalar()
    assert "weight DESC" in rank_sql
    assert "WITHOUT ROWID" in table_sql
    assert {
        "items",
        "item_versions",
        "region_implementations",
        "faqs",
        "search_tokens",
        "faq_search_tokens",
    } <= tables
    command.downgrade(alembic_config(SERVICE_ROOT, url), "0001")
    with engine.connect() as conn:
        assert "search_tokens" not in inspect(conn).get_table_names()
    engine.dispose()
