"""Transactional outbox: events are rows written with the state change, then relayed to Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from tongban_contracts.envelope import EventEnvelope

from tongban_kit.db import Base, UtcDateTime, utcnow
from tongban_kit.events import to_kafka

log = structlog.get_logger("tongban.outbox")


class OutboxMessage(Base):
    """One event waiting to be published (``sent_at`` is set only after the broker acknowledged it)."""

    __tablename__ = "outbox"

    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "position"),)


def outbox_values(topic: str, envelope: EventEnvelope) -> dict[str, Any]:
    """The outbox row of an event, as values for a Core insert."""
    return {
        "event_id": envelope.id,
        "topic": topic,
        "key": envelope.key,
        "sequence": envelope.sequence,
        "envelope": envelope.model_dump(mode="json"),
        "created_at": utcnow(),
        "attempts": 0,
    }


async def insert_outbox(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows in one statement; positions follow the list's order."""
    # Through the mapped class on purpose: SQLAlchemy then sends one multi-row INSERT, while the bare
    # table goes through the driver's executemany, measured 17 % more app CPU per case submission.
    await session.execute(insert(OutboxMessage), rows)


# A fixed, service-independent advisory lock id: every service has its own database,
# so the same number never collides across services.
RELAY_LOCK_ID = 7_220_405_001
# PostgreSQL channel on which any replica's commit wakes the elected relay.
NOTIFY_CHANNEL = "tongban_outbox"


class OutboxSignal:
    """Wakes the relay when a transaction that wrote outbox rows commits.

    In the relay's own process an in-memory event is enough. Other replicas reach it with a
    PostgreSQL NOTIFY sent after the commit on a connection of its own: commits that land while one
    NOTIFY is in flight share the next one, so a busy replica sends far fewer than one per commit and
    no request waits for it.
    """

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._event = asyncio.Event()
        self._engine = engine if engine is not None and engine.dialect.name == "postgresql" else None
        self.relay_here = False
        self._pending = False
        self._broadcaster: asyncio.Task[None] | None = None

    @property
    def reaches_other_replicas(self) -> bool:
        """Whether ``committed`` wakes a relay in another process (else the commit must NOTIFY)."""
        return self._engine is not None

    def notify(self) -> None:
        """Tell the relay there is something to send."""
        self._event.set()

    def committed(self) -> None:
        """A transaction with outbox rows committed: wake the relay, wherever it runs."""
        self.notify()
        if self._engine is None or self.relay_here:
            return
        self._pending = True
        if self._broadcaster is None or self._broadcaster.done():
            self._broadcaster = asyncio.get_running_loop().create_task(self._broadcast(self._engine))

    async def _broadcast(self, engine: AsyncEngine) -> None:
        while self._pending:
            self._pending = False
            try:
                async with engine.connect() as conn:
                    auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await auto.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}")
            except Exception as exc:  # the relay's poll picks the rows up anyway
                log.warning("outbox notify failed", error=str(exc))
                return

    async def wait(self, timeout: float) -> None:
        """Sleep until notified or until the timeout (the fallback poll)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()


class Publisher:
    """What the relay needs from Kafka: send one message and wait for the acknowledgement."""

    @property
    def connected(self) -> bool:
        """Whether sending can be tried at all (a connector not yet connected says no)."""
        return True

    async def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        """Send and wait until the broker acknowledged (acks=all)."""
        raise NotImplementedError


class OutboxRelay:
    """Publishes unsent outbox rows; only the replica holding the advisory lock sends.

    Events of one aggregate (one Kafka key) are sent strictly one after another in outbox order;
    different aggregates are sent concurrently, so throughput is not one broker round trip per event.
    On PostgreSQL the elected relay LISTENs for commits of every replica; ``linger_seconds`` lets a
    busy service gather a few commits into one pass.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        signal: OutboxSignal,
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 5.0,
        retry_seconds: float = 1.0,
        linger_seconds: float = 0.0,
        lock_check_seconds: float = 5.0,
        retention_seconds: float = 3 * 86400.0,
        purge_interval_seconds: float = 600.0,
        purge_batch: int = 10_000,
        housekeeping: Sequence[Callable[[AsyncSession], Awaitable[int]]] = (),
    ) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.publisher = publisher
        self.signal = signal
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.retry_seconds = retry_seconds
        self.linger_seconds = linger_seconds
        self.lock_check_seconds = lock_check_seconds
        self.retention_seconds = retention_seconds
        self.purge_interval_seconds = purge_interval_seconds
        self.purge_batch = purge_batch
        self.housekeeping = tuple(housekeeping)
        self.is_leader = False
        self.sent_total = 0
        self._failures = 0
        self._stopping = asyncio.Event()
        self._marking: asyncio.Future[None] | None = None
        self._marking_positions: frozenset[int] = frozenset()

    async def run(self) -> None:
        """Run until stopped: win the election, then relay forever."""
        while not self._stopping.is_set():
            try:
                if self.engine.dialect.name == "postgresql":
                    await self._run_as_candidate()
                else:
                    # SQLite is the single-process embedded default: there is only one relay.
                    self.is_leader = True
                    await self._relay_loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep relaying through database hiccups
                log.warning("outbox relay error", error=str(exc))
                self.is_leader = False
                await asyncio.sleep(self.retry_seconds)

    async def _run_as_candidate(self) -> None:
        async with self.engine.connect() as conn:
            while not self._stopping.is_set():
                got = (
                    await conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": RELAY_LOCK_ID})
                ).scalar()
                await conn.commit()
                if got:
                    break
                self.is_leader = False
                await asyncio.sleep(self.idle_poll_seconds)
            if self._stopping.is_set():
                return
            self.is_leader = self.signal.relay_here = True
            log.info("outbox relay elected")
            driver = (await conn.get_raw_connection()).driver_connection
            listening = driver is not None and hasattr(driver, "add_listener")
            if listening:
                await driver.add_listener(NOTIFY_CHANNEL, self._on_notify)  # type: ignore[union-attr]
            try:
                await self._relay_loop(lock_conn=conn)
            finally:
                self.is_leader = self.signal.relay_here = False
                with contextlib.suppress(Exception):
                    if listening:
                        await driver.remove_listener(NOTIFY_CHANNEL, self._on_notify)  # type: ignore[union-attr]
                    await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": RELAY_LOCK_ID})
                    await conn.commit()

    def _on_notify(self, *_args: Any) -> None:
        self.signal.notify()

    async def _relay_loop(self, lock_conn: Any = None) -> None:
        try:
            await self._relay_batches(lock_conn)
        finally:
            await self._settle_marks()

    async def _relay_batches(self, lock_conn: Any) -> None:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        purged = loop.time() - self.purge_interval_seconds  # a first purge soon after election
        while not self._stopping.is_set():
            sent = await self._relay_batch()
            if loop.time() - purged >= self.purge_interval_seconds:
                await self.purge_sent()
                await self._housekeep()
                purged = loop.time()
            if lock_conn is not None and loop.time() - checked >= self.lock_check_seconds:
                # Proves the lock's session is still alive; a dead one raises and forces a new election.
                await lock_conn.execute(text("SELECT 1"))
                await lock_conn.commit()
                checked = loop.time()
            if sent == 0:
                await self._settle_marks()
                await self.signal.wait(self.idle_poll_seconds)
            elif sent < self.batch_size and self.linger_seconds > 0:
                await asyncio.sleep(self.linger_seconds)

    async def purge_sent(self) -> int:
        """Delete rows sent longer ago than the retention, a bounded batch at a time; return how many.

        Sent rows are kept a while to answer "was this event published, and when"; without a purge the
        table would grow by every event the service ever emitted.
        """
        cutoff = utcnow() - timedelta(seconds=self.retention_seconds)
        old = (
            select(OutboxMessage.position)
            .where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)
            .order_by(OutboxMessage.position)
            .limit(self.purge_batch)
        )
        total = 0
        while not self._stopping.is_set():
            async with self._autocommit() as conn:
                result = await conn.execute(
                    delete(OutboxMessage).where(OutboxMessage.position.in_(old.scalar_subquery()))
                )
            total += result.rowcount or 0
            if (result.rowcount or 0) < self.purge_batch:
                break
        if total:
            log.info("outbox rows purged", count=total, older_than_seconds=self.retention_seconds)
        return total

    async def _housekeep(self) -> None:
        """Other periodic clean-ups that one replica should run (e.g. expired idempotency records)."""
        for task in self.housekeeping:
            try:
                async with self.session_factory() as session:
                    count = await task(session)
                    await session.commit()
            except Exception as exc:  # a failed clean-up must not stop the relay
                log.warning("housekeeping failed", task=getattr(task, "__name__", "?"), error=str(exc))
            else:
                if count:
                    log.info("housekeeping done", task=getattr(task, "__name__", "?"), count=count)

    async def relay_once(self) -> int:
        """Send one batch of unsent rows, per key in position order, and mark them; return how many."""
        sent = await self._relay_batch()
        await self._settle_marks()
        return sent

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        # One statement, no transaction: no BEGIN and COMMIT round trips for a plain read or update.
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def _relay_batch(self) -> int:
        """Send one batch; marking it sent overlaps the next batch (``_settle_marks`` waits for it)."""
        query = (
            # Plain rows, not mapped objects: the relay reads four columns and updates by position.
            select(OutboxMessage.position, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.envelope)
            .where(OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.position)
            .limit(self.batch_size)
        )
        if self._marking_positions:
            # Sent and acknowledged, their sent_at still being written: not to be sent again.
            query = query.where(OutboxMessage.position.not_in(self._marking_positions))
        if not self.publisher.connected:
            return 0  # nothing can be sent yet (not worth a read); the connector wakes us when it connects
        async with self._autocommit() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return 0
        by_key: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_key[row.key].append(row)
        sent_ids: list[int] = []
        failed: list[tuple[int, str]] = []

        async def send_in_order(group: list[Any]) -> None:
            for row in group:
                try:
                    key, value, headers = to_kafka(EventEnvelope.model_validate(row.envelope))
                    await self.publisher.send(row.topic, key, value, headers)
                except Exception as exc:
                    # The aggregate's later events wait for the next pass, so its order is kept.
                    failed.append((row.position, str(exc)[:500]))
                    return
                sent_ids.append(row.position)

        # Every send of this batch is acknowledged before the next batch is read, so an aggregate's
        # events never overtake each other across batches.
        await asyncio.gather(*(send_in_order(group) for group in by_key.values()))
        await self._settle_marks()
        if sent_ids:
            self._marking_positions = frozenset(sent_ids)
            self._marking = asyncio.ensure_future(self._mark_sent(sent_ids))
        self.sent_total += len(sent_ids)
        if failed:
            await self._settle_marks()
            async with self._autocommit() as conn:
                await conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.position.in_([position for position, _ in failed]))
                    .values(attempts=OutboxMessage.attempts + 1, last_error=failed[0][1])
                )
            # Back off while the broker is away, so an outage costs little CPU.
            self._failures += 1
            delay = min(self.retry_seconds * 2 ** (self._failures - 1), 30.0)
            log.warning(
                "outbox events not sent; retrying", count=len(failed), error=failed[0][1], delay=delay
            )
            await asyncio.sleep(delay)
        else:
            self._failures = 0
        return len(sent_ids)

    async def _mark_sent(self, positions: list[int]) -> None:
        async with self._autocommit() as conn:
            await conn.execute(
                update(OutboxMessage).where(OutboxMessage.position.in_(positions)).values(sent_at=utcnow())
            )

    async def _settle_marks(self) -> None:
        """Wait until the last batch is marked sent; if that failed, its rows go again (at least once)."""
        marking, self._marking = self._marking, None
        try:
            if marking is not None:
                await marking
        except Exception as exc:
            log.warning("outbox rows sent but not marked; they will be sent again", error=str(exc))
        finally:
            self._marking_positions = frozenset()

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stopping.set()
        self.signal.notify()


async def pending_count(session: AsyncSession) -> int:
    """How many events wait to be sent (for readiness and metrics)."""
    from sqlalchemy import func

    return int(
        (await session.execute(select(func.count()).where(OutboxMessage.sent_at.is_(None)))).scalar_one()
    )
