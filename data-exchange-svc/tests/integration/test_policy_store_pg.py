"""On PostgreSQL the policy inputs are read by a prepared statement of their own; it must give what the
ORM query gives (which the SQLite tests cover rule by rule), for every shape of answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.adapters.orm import ConsentRow, GrantRow
from data_exchange_svc.config import Settings
from data_exchange_svc.main import create_app
from sqlalchemy import update
from tongban_kit.testing import create_database, drop_database

pytestmark = pytest.mark.integration

CLIENT = "platform-440000"


@pytest.fixture(scope="module")
async def runtime() -> AsyncIterator[Any]:
    url = await create_database("exchange_store")
    try:
        app = create_app(Settings(env="test", database_url=url, kafka_bootstrap="127.0.0.1:1"))
        async with LifespanManager(app):
            runtime = app.state.runtime
            now = datetime.now(UTC)
            async with runtime.session_factory() as session:
                household = await repo.get_resource(session, "household-registration")
                assert household is not None
                session.add_all(
                    [
                        GrantRow(
                            id="g-statutory",
                            client_id=CLIENT,
                            resource_id=household.id,
                            items=["XK00009001"],
                            allowed_fields=["name"],
                            masked_fields=[],
                            modes=["verify"],
                            rate_limit_per_minute=60,
                            expires_at=now + timedelta(days=1),
                            statutory_basis="《户口登记条例》第十条",
                            status="revoked",
                            version=2,
                            created_by="test",
                        ),
                        *(
                            ConsentRow(
                                id=f"k{i}",
                                subject_hash="h1",
                                case_id="case-1",
                                resource_ids=[household.id, "other"],
                                purpose=None,
                                until=now + timedelta(days=i + 1),
                                status="active" if i else "revoked",
                                version=1 + i,
                                actor={"client_id": CLIENT},
                            )
                            for i in range(2)
                        ),
                    ]
                )
                await session.execute(
                    update(GrantRow).where(GrantRow.client_id == "platform-110000").values(items=[])
                )
                await session.commit()
            yield runtime
    finally:
        await drop_database(url)


async def _both(runtime: Any, ref: str, client_id: str, subject_hash: str, case_id: str) -> Any:
    async with runtime.session_factory() as session:
        orm = await repo.policy_inputs(session, ref, client_id, subject_hash, case_id)
    async with runtime.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        pg = await repo.policy_inputs_pg(driver, ref, client_id, subject_hash, case_id)
    key = attrgetter("id")
    assert pg[0] == orm[0]
    assert sorted(pg[1], key=key) == sorted(orm[1], key=key)
    assert sorted(pg[2], key=key) == sorted(orm[2], key=key)
    return pg


@pytest.mark.parametrize("by", ["code", "id"])
async def test_grants_and_consents_as_the_orm_reads_them(runtime: Any, by: str) -> None:
    resource, _, _ = await _both(runtime, "household-registration", CLIENT, "h1", "case-1")
    assert resource is not None
    ref = resource.code if by == "code" else resource.id
    resource, grants, consents = await _both(runtime, ref, CLIENT, "h1", "case-1")
    assert resource is not None and resource.code == "household-registration"
    assert resource.fields and resource.supports
    assert {g.id for g in grants} >= {"g-statutory"} and len(grants) == 2
    assert {c.id for c in consents} == {"k0", "k1"}
    assert all(g.expires_at.tzinfo is not None for g in grants)


async def test_answers_without_grants_consents_or_resource(runtime: Any) -> None:
    resource, grants, consents = await _both(runtime, "household-registration", "nobody", "h2", "case-1")
    assert resource is not None and (grants, consents) == ([], [])
    _, grants, _ = await _both(runtime, "household-registration", "platform-110000", "h1", "case-2")
    assert len(grants) == 1 and grants[0].items == frozenset()
    assert await _both(runtime, "no-such-resource", CLIENT, "h1", "case-1") == (None, [], [])
