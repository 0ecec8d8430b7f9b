"""Shared test setup of case-svc: helper import path, an in-process app on SQLite, platform clients."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from case_api import CaseApp, start_case_app  # noqa: E402


@pytest.fixture
async def case_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[CaseApp]:
    """case-svc in-process on a temporary SQLite file, no broker (events stay in the outbox)."""
    monkeypatch.setenv("TONGBAN_ENV", "test")
    monkeypatch.setenv("TONGBAN_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("CASE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/case.db")
    monkeypatch.setenv("CASE_BLOB_DIR", str(tmp_path / "blobs"))
    monkeypatch.setenv("CASE_DEADLINE_WORKER", "false")
    monkeypatch.setenv("CASE_CONSUME_CATALOGUE", "false")
    monkeypatch.setenv("CASE_CATALOGUE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CASE_MAX_UPLOAD_BYTES", "65536")
    async with start_case_app() as app:
        yield app
        # Every event any test made must validate against its committed JSON Schema.
        await app.check_outbox_against_schemas()
