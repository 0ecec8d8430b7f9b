"""Unit of work: one transaction, its outbox rows, and a wake-up for the relay after commit."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from opentelemetry import propagate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tongban_contracts.envelope import EventEnvelope

from tongban_kit.outbox import NOTIFY_CHANNEL, OutboxSignal, insert_outbox, outbox_values


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span, to carry into an event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class UnitOfWork:
    """``async with uow:`` gives a session; ``emit`` adds events; ``commit`` commits and wakes the relay."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], signal: OutboxSignal | None = None
    ) -> None:
        self.session_factory = session_factory
        self.signal = signal
        self._session: AsyncSession | None = None
        self._outbox: list[dict[str, Any]] = []

    @property
    def session(self) -> AsyncSession:
        """The open session."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self.session_factory()
        self._outbox = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._session is not None
        try:
            if exc_type is not None:
                await self._session.rollback()
        finally:
            await self._session.close()
            self._session = None

    def emit(self, topic: str, event: EventEnvelope) -> None:
        """Add an event to this transaction's outbox rows (written at commit), carrying the current trace."""
        if event.traceparent is None:
            traceparent = current_traceparent()
            if traceparent:
                event = event.model_copy(update={"traceparent": traceparent})
        self._outbox.append(outbox_values(topic, event))

    async def commit(self) -> None:
        """Write the emitted events in one insert, commit, and wake the relay (in any replica)."""
        emitted, self._outbox = self._outbox, []
        if emitted:
            await insert_outbox(self.session, emitted)
            signal = self.signal
            if (signal is None or not signal.reaches_other_replicas) and self._on_postgresql():
                # Nothing will NOTIFY after the commit: deliver one with it, to whichever replica relays.
                await self.session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        await self.session.commit()
        if emitted and self.signal is not None:
            self.signal.committed()

    def _on_postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def rollback(self) -> None:
        """Roll the transaction back; emitted events are dropped with it."""
        await self.session.rollback()
        self._outbox = []
