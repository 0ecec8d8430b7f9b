"""Shared test setup of catalogue-svc: the helper module's import path and an app on SQLite."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from catalogue_support import Catalogue, running_catalogue  # noqa: E402


@pytest.fixture(scope="module")
async def catalogue(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Catalogue]:
    """catalogue-svc in-process on a fresh SQLite file with the seed loaded; no broker (events stay queued)."""
    db = tmp_path_factory.mktemp("catalogue") / "catalogue.db"
    async with running_catalogue(f"sqlite+aiosqlite:///{db}") as running:
        yield running
