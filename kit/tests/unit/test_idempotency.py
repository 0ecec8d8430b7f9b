"""Idempotency records: replay the first response, refuse the same key with another body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from tongban_kit import idempotency as idem
from tongban_kit.db import Base, make_engine, make_session_factory, utcnow
from tongban_kit.problems import Problem


def _request(key: str | None) -> Request:
    headers = [(b"idempotency-key", key.encode())] if key is not None else []
    return Request(
        {"type": "http", "method": "POST", "path": "/v1/cases", "headers": headers, "query_string": b""}
    )


@pytest.fixture
async def factory(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/i.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield make_session_factory(engine)
    await engine.dispose()


def test_key_is_scoped_and_validated() -> None:
    ikey = idem.idempotency_key(_request("k-1"), "platform-440000", {"a": 1})
    assert ikey is not None
    assert ikey.pk == ("platform-440000", "POST", "/v1/cases", "k-1")
    assert idem.idempotency_key(_request(None), "c", {}) is None
    with pytest.raises(Problem) as required:
        idem.idempotency_key(_request(None), "c", {}, required=True)
    assert required.value.status == 400
    with pytest.raises(Problem):
        idem.idempotency_key(_request("has space"), "c", {})


async def test_replay_same_body_and_conflict_on_other_body(factory: async_sessionmaker[AsyncSession]) -> None:
    first = idem.idempotency_key(_request("k"), "c", {"a": 1})
    assert first is not None
    async with factory() as s:
        assert await idem.replay(s, first) is None
        idem.remember(s, first, 201, {"id": "x"}, {"etag": '"x-v1"'})
        await s.commit()
    async with factory() as s:
        record = await idem.replay(s, first)
        assert record is not None
        assert (record.status, record.body) == (201, {"id": "x"})
        other = idem.idempotency_key(_request("k"), "c", {"a": 2})
        assert other is not None
        with pytest.raises(Problem) as conflict:
            await idem.replay(s, other)
        assert conflict.value.status == 409
        another_client = idem.idempotency_key(_request("k"), "other-client", {"a": 1})
        assert another_client is not None
        assert await idem.replay(s, another_client) is None


async def test_concurrent_duplicates_collide_on_the_primary_key(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    ikey = idem.idempotency_key(_request("dup"), "c", {"a": 1})
    assert ikey is not None
    async with factory() as a, factory() as b:
        idem.remember(a, ikey, 201, {"n": 1}, {})
        idem.remember(b, ikey, 201, {"n": 2}, {})
        await a.commit()
        with pytest.raises(IntegrityError):
            await b.commit()


async def test_expired_records_are_forgotten(factory: async_sessionmaker[AsyncSession]) -> None:
    ikey = idem.idempotency_key(_request("old"), "c", {})
    assert ikey is not None
    async with factory() as s:
        idem.remember(s, ikey, 201, {}, {})
        await s.commit()
        record = await s.get(idem.IdempotencyRecord, ikey.pk)
        assert record is not None
        record.created_at = utcnow() - timedelta(hours=25)
        await s.commit()
    async with factory() as s:
        assert await idem.replay(s, ikey) is None
        assert await idem.purge_expired(s) == 0


async def test_purge_deletes_only_records_past_the_retention(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    keys = [idem.idempotency_key(_request(name), "c", {}) for name in ("stale", "fresh")]
    async with factory() as s:
        for ikey in keys:
            assert ikey is not None
            idem.remember(s, ikey, 201, {}, {})
        await s.commit()
        stale = await s.get(idem.IdempotencyRecord, keys[0].pk)  # type: ignore[union-attr]
        assert stale is not None
        stale.created_at = utcnow() - timedelta(hours=25)
        await s.commit()
    async with factory() as s:
        assert await idem.purge_expired(s) == 1  # what the relay's housekeeping runs
        await s.commit()
        left = (await s.execute(select(idem.IdempotencyRecord.key))).scalars().all()
    assert left == ["fresh"]
