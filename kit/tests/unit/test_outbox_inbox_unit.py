"""Relay ordering and inbox once-only semantics on SQLite with a fake publisher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tongban_contracts.envelope import EventEnvelope
from tongban_kit import idempotency, inbox  # noqa: F401
from tongban_kit.db import Base, make_engine, make_session_factory
from tongban_kit.inbox import InboxMessage, apply_once
from tongban_kit.outbox import (
    OutboxMessage,
    OutboxRelay,
    OutboxSignal,
    Publisher,
    insert_outbox,
    outbox_values,
)


class FlakyPublisher(Publisher):
    """Records what was sent; fails for chosen keys until told otherwise."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.failing: set[bytes] = set()

    async def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        if key in self.failing:
            raise ConnectionError("broker down")
        seq = int(dict(headers)["ce_sequence"])
        self.sent.append((key.decode(), seq))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/o.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine, make_session_factory(engine)
    await engine.dispose()


def _event(subject: str, seq: int) -> EventEnvelope:
    return EventEnvelope(id=f"{subject}-{seq}", type="t", source="s", subject=subject, sequence=seq, data={})


async def test_relay_keeps_per_aggregate_order_when_one_send_fails(
    db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    engine, factory = db
    async with factory() as s:
        rows = [outbox_values("topic", _event(k, seq)) for seq in (1, 2, 3) for k in ("a", "b")]
        await insert_outbox(s, rows)
        await s.commit()
    pub = FlakyPublisher()
    pub.failing.add(b"a")
    relay = OutboxRelay(engine, factory, pub, OutboxSignal(), retry_seconds=0)
    assert await relay.relay_once() == 3
    assert pub.sent == [("b", 1), ("b", 2), ("b", 3)]
    pub.failing.clear()
    assert await relay.relay_once() == 3
    assert [x for x in pub.sent if x[0] == "a"] == [("a", 1), ("a", 2), ("a", 3)]
    assert await relay.relay_once() == 0
    async with factory() as s:
        unsent = (await s.execute(select(func.count()).where(OutboxMessage.sent_at.is_(None)))).scalar_one()
        failed = (
            await s.execute(select(OutboxMessage.attempts).where(OutboxMessage.event_id == "a-1"))
        ).scalar_one()
    assert unsent == 0
    assert failed == 1


async def test_a_batch_being_marked_sent_is_not_sent_again_by_the_next(
    db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    engine, factory = db
    relay = OutboxRelay(engine, factory, FlakyPublisher(), OutboxSignal())
    pub = relay.publisher
    assert isinstance(pub, FlakyPublisher)
    marks_started = 0
    real_mark = relay._mark_sent

    async def slow_mark(positions: list[int]) -> None:
        nonlocal marks_started
        marks_started += 1
        await asyncio.sleep(0.2)  # the next batch is read while this one is still being marked
        await real_mark(positions)

    relay._mark_sent = slow_mark  # type: ignore[method-assign]
    async with factory() as s:
        await insert_outbox(s, [outbox_values("topic", _event("a", 1))])
        await s.commit()
    assert await relay._relay_batch() == 1
    async with factory() as s:
        await insert_outbox(s, [outbox_values("topic", _event("a", 2))])
        await s.commit()
    assert await relay._relay_batch() == 1  # only the new row: a-1 is excluded while being marked
    await relay._settle_marks()
    assert await relay.relay_once() == 0
    assert pub.sent == [("a", 1), ("a", 2)] and marks_started == 2
    async with factory() as s:
        unsent = (await s.execute(select(func.count()).where(OutboxMessage.sent_at.is_(None)))).scalar_one()
    assert unsent == 0


async def test_sent_rows_past_the_retention_are_purged_in_batches(
    db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    engine, factory = db
    async with factory() as s:
        await insert_outbox(s, [outbox_values("topic", _event(f"k{i}", 1)) for i in range(6)])
        await s.commit()
        now = datetime.now(UTC)
        ages = {"k0": 10, "k1": 9, "k2": 8, "k3": 1}  # days since sent; k4 and k5 are unsent
        for key, days in ages.items():
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.key == key)
                .values(sent_at=now - timedelta(days=days))
            )
        await s.commit()
    relay = OutboxRelay(
        engine, factory, FlakyPublisher(), OutboxSignal(), retention_seconds=3 * 86400, purge_batch=2
    )
    assert await relay.purge_sent() == 3  # two batches: 2, then 1
    async with factory() as s:
        left = (await s.execute(select(OutboxMessage.key).order_by(OutboxMessage.key))).scalars().all()
    assert left == ["k3", "k4", "k5"]
    assert await relay.purge_sent() == 0


async def test_housekeeping_runs_every_task_even_after_one_fails(
    db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    engine, factory = db
    ran: list[str] = []

    async def broken(session: AsyncSession) -> int:
        ran.append("broken")
        raise RuntimeError("no such table")

    async def counting(session: AsyncSession) -> int:
        ran.append("counting")
        return int((await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())

    relay = OutboxRelay(engine, factory, FlakyPublisher(), OutboxSignal(), housekeeping=[broken, counting])
    await relay._housekeep()
    assert ran == ["broken", "counting"]


async def test_inbox_applies_an_event_once(db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]]) -> None:
    _, factory = db
    applied: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        applied.append(event.id)

    event = _event("x", 1)
    assert await apply_once(factory, "g", event, handler) is True
    assert await apply_once(factory, "g", event, handler) is False
    assert await apply_once(factory, "other-group", event, handler) is True
    assert applied == ["x-1", "x-1"]
    async with factory() as s:
        assert (await s.execute(select(func.count()).select_from(InboxMessage))).scalar_one() == 2


async def test_failed_handler_leaves_no_inbox_row(
    db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    _, factory = db

    async def broken(session: AsyncSession, event: EventEnvelope) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await apply_once(factory, "g", _event("y", 1), broken)
    async with factory() as s:
        assert (await s.execute(select(func.count()).select_from(InboxMessage))).scalar_one() == 0


async def test_counter_rows_increment_atomically(
    db: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table
    from tongban_kit.db import increment_counter

    meta = MetaData()
    counters = Table(
        "test_counters",
        meta,
        Column("name", String(50), primary_key=True),
        Column("value", Integer, nullable=False),
    )
    engine, factory = db
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    async with factory() as s:
        assert await increment_counter(s, counters, {"name": "a"}) == 1
        assert await increment_counter(s, counters, {"name": "a"}, step=20) == 21
        assert await increment_counter(s, counters, {"name": "b"}) == 1
        await s.commit()
