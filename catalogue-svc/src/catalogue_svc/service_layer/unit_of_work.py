"""The catalogue's unit of work: the kit's transaction and outbox, with this service's repositories."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession
from tongban_contracts import topics
from tongban_kit.uow import UnitOfWork

from catalogue_svc.adapters.repository import FaqRepository, ItemRepository, RegionRepository
from catalogue_svc.adapters.search_index import SqlSearchIndex
from catalogue_svc.domain.events import DomainEvent
from catalogue_svc.service_layer.events import to_envelope


class CatalogueUnitOfWork:
    """``async with uow:`` opens a transaction; ``emit`` writes an event to the outbox in it."""

    items: ItemRepository
    regions: RegionRepository
    faqs: FaqRepository
    search: SqlSearchIndex

    def __init__(self, uow: UnitOfWork, *, topic: str = topics.CATALOGUE_ITEMS) -> None:
        self._uow = uow
        self.topic = topic

    async def __aenter__(self) -> CatalogueUnitOfWork:
        await self._uow.__aenter__()
        session = self._uow.session
        self.items = ItemRepository(session)
        self.regions = RegionRepository(session)
        self.faqs = FaqRepository(session)
        self.search = SqlSearchIndex(session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._uow.__aexit__(exc_type, exc, tb)

    @property
    def session(self) -> AsyncSession:
        """The open session (for the kit's idempotency records)."""
        return self._uow.session

    def emit(self, event: DomainEvent, *, sequence: int) -> None:
        """Write one domain event to the outbox as a CloudEvent with this sequence."""
        self._uow.emit(self.topic, to_envelope(event, sequence=sequence))

    async def commit(self) -> None:
        """Commit and wake the outbox relay."""
        await self._uow.commit()

    async def rollback(self) -> None:
        """Roll back."""
        await self._uow.rollback()
