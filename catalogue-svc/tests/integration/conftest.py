"""Integration setup of catalogue-svc: the app on a fresh PostgreSQL database per module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from catalogue_support import Catalogue, running_catalogue
from tongban_kit import testing


@pytest.fixture(scope="module")
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this module, dropped afterwards."""
    url = await testing.create_database("catalogue")
    yield url
    await testing.drop_database(url)


@pytest.fixture(scope="module")
async def pg_catalogue(pg_url: str) -> AsyncIterator[Catalogue]:
    """catalogue-svc in-process on PostgreSQL (migrated and seeded on start); no broker."""
    async with running_catalogue(pg_url) as running:
        yield running
