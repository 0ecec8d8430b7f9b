"""Inbox: consume events once. The effect and the inbox row commit together, then the offset."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog
from aiokafka import AIOKafkaConsumer
from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from tongban_contracts.envelope import EventEnvelope

from tongban_kit.db import Base, UtcDateTime, utcnow
from tongban_kit.events import from_kafka
from tongban_kit.kafka import client_options
from tongban_kit.settings import ServiceSettings

log = structlog.get_logger("tongban.inbox")

Handler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]


class InboxMessage(Base):
    """An event this service has already applied, by consumer group."""

    __tablename__ = "inbox"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


async def apply_once(
    session_factory: async_sessionmaker[AsyncSession], consumer: str, event: EventEnvelope, handler: Handler
) -> bool:
    """Apply an event unless this consumer already did; True when it was applied now."""
    async with session_factory() as session:
        seen = await session.get(InboxMessage, (event.id, consumer))
        if seen is not None:
            return False
        session.add(InboxMessage(event_id=event.id, consumer=consumer, event_type=event.type))
        await handler(session, event)
        try:
            await session.commit()
        except IntegrityError:
            # Another replica applied it at the same moment; its commit won, ours rolls back.
            await session.rollback()
            return False
        return True


class InboxConsumer:
    """A consumer-group loop that applies each event once and commits offsets after the database."""

    def __init__(
        self,
        settings: ServiceSettings,
        session_factory: async_sessionmaker[AsyncSession],
        topics: Sequence[str],
        group_id: str,
        handler: Handler,
        *,
        from_beginning: bool = True,
        session_timeout_ms: int = 10000,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.topics = [settings.topic(t) for t in topics]
        self.group_id = settings.topic(group_id)
        self.handler = handler
        self.from_beginning = from_beginning
        self.session_timeout_ms = session_timeout_ms
        self.applied = 0
        self.running = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the loop in the background."""
        self._task = asyncio.create_task(self._run_forever(), name=f"inbox-{self.group_id}")

    async def _run_forever(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(
                *self.topics,
                **client_options(self.settings),
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest" if self.from_beginning else "latest",
                session_timeout_ms=self.session_timeout_ms,
                heartbeat_interval_ms=max(1000, self.session_timeout_ms // 3),
            )
            try:
                await consumer.start()
                self.running = True
                async for record in consumer:
                    await self._handle(record.key, record.value, record.headers)
                    await consumer.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("inbox consumer error; reconnecting", group=self.group_id, error=str(exc))
                await asyncio.sleep(1.0)
            finally:
                self.running = False
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 5)

    async def _handle(
        self, key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        try:
            event = from_kafka(key, value, headers)
        except Exception as exc:
            # A record that is not a CloudEvent cannot ever be applied; skip it loudly.
            log.error("undecodable record skipped", group=self.group_id, error=str(exc))
            return
        while True:
            try:
                if await apply_once(self.session_factory, self.group_id, event, self.handler):
                    self.applied += 1
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event not applied; retrying", event_id=event.id, error=str(exc))
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


async def seen(session: AsyncSession, event_id: str, consumer: str) -> bool:
    """Whether a consumer already applied an event."""
    return (
        await session.execute(
            select(InboxMessage.event_id).where(
                InboxMessage.event_id == event_id, InboxMessage.consumer == consumer
            )
        )
    ).first() is not None
