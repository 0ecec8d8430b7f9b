"""Unit of work: one transaction, its outbox rows, and a wake-up for the relay after commit."""

from __future__ import annotations

from types import TracebackType

from opentelemetry import propagate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tongban_contracts.envelope import EventEnvelope

from tongban_kit.outbox import NOTIFY_CHANNEL, OutboxSignal, enqueue


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
        self._emitted = 0

    @property
    def session(self) -> AsyncSession:
        """The open session."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self.session_factory()
        self._emitted = 0
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
        """Write an event to the outbox in this transaction, carrying the current trace."""
        if event.traceparent is None:
            traceparent = current_traceparent()
            if traceparent:
                event = event.model_copy(update={"traceparent": traceparent})
        enqueue(self.session, topic, event)
        self._emitted += 1

    async def commit(self) -> None:
        """Commit; when events were written, wake the relay (on PostgreSQL in any replica)."""
        if self._emitted and self.session.get_bind().dialect.name == "postgresql":
            # Delivered at commit to the elected relay, which may run in another replica.
            await self.session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
        await self.session.commit()
        if self._emitted and self.signal is not None:
            self.signal.notify()
        self._emitted = 0

    async def rollback(self) -> None:
        """Roll the transaction back."""
        await self.session.rollback()
        self._emitted = 0
