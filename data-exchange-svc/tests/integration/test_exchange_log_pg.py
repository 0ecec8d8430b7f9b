"""The exchange log's one-statement append on PostgreSQL: used after the first append, correct when
another replica moves the head in between, and still caught by the chain check when a row is altered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from data_exchange_svc.config import Settings
from data_exchange_svc.main import create_app
from data_exchange_svc.service_layer.audit_log import AuditLog
from tongban_kit.testing import create_database, drop_database
from tongban_kit.testkeys import TokenMinter
from tongban_kit.uow import UnitOfWork

pytestmark = pytest.mark.integration

AUD = "urn:tongban:exchange"


class Running:
    """A hub on a fresh PostgreSQL database, without a broker (events stay in the outbox)."""

    def __init__(self, app: Any, client: httpx.AsyncClient, minter: TokenMinter) -> None:
        self.runtime = app.state.runtime
        self.client = client
        self.minter = minter
        self.opened = 0

    def writer(self) -> AuditLog:
        """A log writer as a replica of its own would have it (its own idea of the head)."""

        def counting_uow() -> UnitOfWork:
            self.opened += 1
            return UnitOfWork(self.runtime.session_factory, self.runtime.signal)

        return AuditLog(
            counting_uow, self.runtime.settings, engine=self.runtime.engine, signal=self.runtime.signal
        )

    async def verify(self) -> dict[str, Any]:
        token = self.minter.mint("exchange:admin", audience=[AUD], client_id="admin-dev")
        r = await self.client.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def scalars(self, sql: str) -> list[Any]:
        async with self.runtime.engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            return [row[0] for row in await driver.fetch(sql)]


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    url = await create_database("exchange_log")
    try:
        minter = TokenMinter()
        app = create_app(Settings(env="test", database_url=url, kafka_bootstrap="127.0.0.1:1", seed=False))
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://hub"
            ) as client,
        ):
            app.state.runtime.verifier.set_keys(minter.jwks)
            yield Running(app, client, minter)
    finally:
        await drop_database(url)


def _entry(i: int) -> dict[str, Any]:
    return {
        "id": f"e{i}",
        "at": datetime.now(UTC),
        "client_id": "platform-440000",
        "actor": {"client_id": "platform-440000"},
        "resource_id": "r",
        "subject_hash": "h",
        "case_id": "k",
        "item_code": "XK00003001",
        "mode": "verify",
        "fields": ["name", "birth_date"],
        "outcome": "allowed",
        "reason": None,
        "grant_id": "g",
        "basis": "consent:c",
        "latency_ms": 3,
    }


async def _log_event_sequences(running: Running) -> list[int]:
    return await running.scalars("SELECT sequence FROM outbox WHERE key = 'exchange-log' ORDER BY position")


async def test_after_the_first_append_no_transaction_is_opened(running: Running) -> None:
    log = running.writer()
    await log.append(_entry(1))
    assert running.opened == 1  # the head is not known yet: read under its lock
    for i in range(2, 6):
        row = await log.append(_entry(i))
        assert row["seq"] == i
    assert running.opened == 1
    assert log.head_moves == 0
    result = await running.verify()
    assert (result["ok"], result["checked"], result["head"]["seq"]) == (True, 5, 5)
    assert await _log_event_sequences(running) == [1, 2, 3, 4, 5]
    assert await running.scalars("SELECT fields::text FROM exchange_log WHERE seq = 3") == [
        '["birth_date","name"]'
    ]


async def test_two_replicas_appending_keep_one_chain(running: Running) -> None:
    first, second = running.writer(), running.writer()
    await first.append(_entry(1))
    await second.append(_entry(2))
    row = await first.append(_entry(3))  # its head is stale: nothing written, then the locked path
    assert (row["seq"], first.head_moves) == (3, 1)
    rows = await asyncio.gather(
        *(writer.append(_entry(i)) for i in range(4, 44) for writer in [(first, second)[i % 2]])
    )
    assert sorted(r["seq"] for r in rows) == list(range(4, 44))
    result = await running.verify()
    assert (result["ok"], result["checked"]) == (True, 43), result
    assert await _log_event_sequences(running) == list(range(1, 44))


async def test_an_altered_row_is_found_on_postgresql(running: Running) -> None:
    log = running.writer()
    for i in range(1, 5):
        await log.append(_entry(i))
    async with running.runtime.engine.begin() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute("UPDATE exchange_log SET outcome = 'refused' WHERE seq = 3")
    result = await running.verify()
    assert result["ok"] is False
    assert (result["first_broken"]["seq"], result["first_broken"]["reason"]) == (3, "content-altered")
