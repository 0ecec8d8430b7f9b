"""On PostgreSQL: the same search results as SQLite and the domain, migrations, and concurrent writers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from catalogue_support import Catalogue, item_body
from catalogue_svc.adapters.orm import ItemVersionRow
from catalogue_svc.domain.search import InMemorySearchIndex
from catalogue_svc.seed import load_seed
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from tongban_kit.db import service_metadata

pytestmark = pytest.mark.integration

HUKOU = ["XK00003000", "XK00003001", "XK00003002", "XK00003003", "XK00003004", "XK00003005"]
QUERIES = [
    "户口",
    "hkqy",
    "户口迁移",
    "公积金",
    "gjj",
    "养老保险",
    "社保卡",
    "证明",
    "登记",
    "hukou",
    "身份证",
]


async def walk(c: Catalogue, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await c.client.get("/v1/items", params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        out.extend(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return out


def domain_ranking(query: str) -> list[str]:
    index = InMemorySearchIndex()
    for seed_item in load_seed().items:
        item, _ = seed_item.materialise(now=datetime(2026, 1, 1, tzinfo=UTC))
        assert item.current is not None
        index.put(seed_item.basic_code, item.current, seed_item.faqs)
    return [h.key for h in index.search(query)]


def comparable(diff: list[Any]) -> list[Any]:
    """Alembic cannot compare an index with a DESC expression; the test reads that one's DDL."""
    return [
        d
        for d in diff
        if not (d[0] in ("add_index", "remove_index") and d[1].name == "ix_search_tokens_rank")
    ]


async def test_search_finds_hukou_migration_on_postgres(pg_catalogue: Catalogue) -> None:
    assert pg_catalogue.runtime.engine.dialect.name == "postgresql"
    by_chars = [i["basic_code"] for i in await walk(pg_catalogue, q="户口")]
    assert by_chars[: len(HUKOU)] == HUKOU
    assert [i["basic_code"] for i in await walk(pg_catalogue, q="hkqy")] == HUKOU
    assert {i["basic_code"] for i in await walk(pg_catalogue, q="gjj")} == {"GG00007000", "GG00008000"}


@pytest.mark.parametrize("query", QUERIES)
async def test_postgres_ranks_exactly_like_the_domain_and_sqlite(pg_catalogue: Catalogue, query: str) -> None:
    hits = await walk(pg_catalogue, q=query, limit=100)
    assert [i["basic_code"] for i in hits] == domain_ranking(query)
    assert [i["basic_code"] for i in await walk(pg_catalogue, q=query, limit=2)] == [
        i["basic_code"] for i in hits
    ]


async def test_filters_and_keyset_pagination_on_postgres(pg_catalogue: Catalogue) -> None:
    everything = [i["basic_code"] for i in await walk(pg_catalogue, limit=100)]
    assert everything == sorted(everything)
    assert len(everything) >= 23
    assert [i["basic_code"] for i in await walk(pg_catalogue, limit=5)] == everything
    joint = {i["basic_code"] for i in await walk(pg_catalogue, mode="joint")}
    assert joint == {*HUKOU, "GG00005000", "GG00018000"}
    assert "XK00016000" not in {i["basic_code"] for i in await walk(pg_catalogue, region="510000")}


async def test_migrations_match_the_models_on_postgres(pg_catalogue: Catalogue) -> None:
    async with pg_catalogue.runtime.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}),
                service_metadata("catalogue_svc."),
            )
        )
    assert comparable(diff) == []
    async with pg_catalogue.runtime.engine.connect() as conn:
        rank = await conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_search_tokens_rank'"
        )
        pk = await conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'pk_search_tokens'"
        )
        assert "weight DESC" in rank.scalar_one()
        assert "INCLUDE (weight)" in pk.scalar_one()


async def test_publish_freezes_and_the_database_refuses_two_versions_in_force(
    pg_catalogue: Catalogue,
) -> None:
    c = pg_catalogue.client
    r = await c.post("/v1/items", json=item_body("XK00094000"), headers=pg_catalogue.writer())
    r = await c.post("/v1/items/XK00094000/draft/publish", headers=pg_catalogue.writer(r.headers["etag"]))
    assert r.status_code == 200
    r = await c.patch(
        "/v1/items/XK00094000/draft", json={"name": "改"}, headers=pg_catalogue.writer(r.headers["etag"])
    )
    assert r.status_code == 409
    async with pg_catalogue.runtime.session_factory() as session:
        row = await session.scalar(select(ItemVersionRow).where(ItemVersionRow.basic_code == "XK00094000"))
        assert row is not None
        with pytest.raises(IntegrityError):
            await session.execute(
                insert(ItemVersionRow).values(
                    basic_code="XK00094000",
                    number=2,
                    state="published",
                    content=row.content,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    published_at=row.published_at,
                    valid_from=row.valid_from,
                )
            )
        await session.rollback()


async def test_concurrent_writers_with_one_etag_one_wins_and_one_gets_412(pg_catalogue: Catalogue) -> None:
    c = pg_catalogue.client
    r = await c.post("/v1/items", json=item_body("XK00094001"), headers=pg_catalogue.writer())
    etag = r.headers["etag"]
    results = await asyncio.gather(
        *(
            c.patch(
                "/v1/items/XK00094001/draft", json={"name": f"并发{n}"}, headers=pg_catalogue.writer(etag)
            )
            for n in range(4)
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 412, 412, 412]
    final = await c.get("/v1/items/XK00094001/draft", headers=pg_catalogue.writer())
    winner = next(r for r in results if r.status_code == 200)
    assert final.json()["name"] == winner.json()["name"]
    assert final.headers["etag"] == '"XK00094001-v2"'


async def test_region_put_by_the_wrong_region_is_403_on_postgres(pg_catalogue: Catalogue) -> None:
    r = await pg_catalogue.client.get("/v1/items/XK00003000/regions/440000")
    body = {
        k: r.json()[k]
        for k in ("implementation_code", "handling_org", "address", "hours", "modes", "joint_roles")
    }
    body["promised_limit_days"] = 5
    headers = pg_catalogue.auth("catalogue:implement", region="310000", **{"If-Match": r.headers["etag"]})
    r = await pg_catalogue.client.put("/v1/items/XK00003000/regions/440000", json=body, headers=headers)
    assert r.status_code == 403


@pytest.mark.parametrize("seed", [1, 2])
async def test_bounded_and_single_token_search_equal_the_aggregate_on_postgres(
    pg_url: str, seed: int
) -> None:
    from catalogue_support import check_bounded_search_is_exact
    from tongban_kit.db import make_engine, make_session_factory

    engine = make_engine(pg_url)
    try:
        assert await check_bounded_search_is_exact(make_session_factory(engine), seed=seed) >= 40
    finally:
        await engine.dispose()


async def test_connections_plan_statements_for_their_own_parameters(pg_catalogue: Catalogue) -> None:
    async with pg_catalogue.runtime.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"


async def test_reads_run_without_a_transaction_on_postgres(pg_catalogue: Catalogue) -> None:
    from catalogue_svc.api.deps import READ_SESSIONS_KEY

    factory = pg_catalogue.runtime.extras[READ_SESSIONS_KEY]
    async with factory() as session:
        conn = await session.connection()
        assert conn.sync_connection is not None
        assert conn.sync_connection.get_execution_options()["isolation_level"] == "AUTOCOMMIT"
        pid = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        async with pg_catalogue.runtime.engine.connect() as other:
            state = await other.exec_driver_sql(f"SELECT state FROM pg_stat_activity WHERE pid = {int(pid)}")
            assert state.scalar_one() == "idle"  # not "idle in transaction": no BEGIN was sent
