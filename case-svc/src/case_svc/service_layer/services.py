"""What handlers need besides the unit of work: settings, cipher, calendar, clock, blob store, catalogue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tongban_contracts import topics
from tongban_kit.crypto import FieldCipher
from tongban_kit.db import utcnow

from case_svc.adapters.blobs import BlobStore
from case_svc.adapters.catalogue_client import CatalogueClient
from case_svc.adapters.counters import next_value
from case_svc.config import Settings
from case_svc.domain.items import CatalogueItem, RegionOffer
from case_svc.domain.working_days import WorkingDayCalendar


class NumberAllocator:
    """Hands out case-number sequences from blocks reserved in short transactions of their own.

    Reserving a block per (region, day) keeps the counter row out of the submission's transaction,
    so concurrent submissions do not queue on one row lock. Numbers stay unique; a crash may leave gaps.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], block: int = 20) -> None:
        self.session_factory = session_factory
        self.block = max(1, block)
        self._blocks: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = asyncio.Lock()

    async def next(self, region: str, day: str) -> int:
        """The next sequence of a handling region on a day (yyyymmdd)."""
        async with self._lock:
            nxt, last = self._blocks.get((region, day), (1, 0))
            if nxt > last:
                async with self.session_factory() as session:
                    last = await next_value(session, region, day, step=self.block)
                    await session.commit()
                nxt = last - self.block + 1
            self._blocks[(region, day)] = (nxt + 1, last)
            # Forget other days' blocks so the map stays small.
            for key in [k for k in self._blocks if k[1] != day]:
                del self._blocks[key]
            return nxt


class ItemCache:
    """A short-lived in-process copy of (item, offer) lookups: submissions skip two queries.

    Catalogue events seen by this replica clear it; other replicas see a change within ``ttl``.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, str], tuple[float, CatalogueItem, RegionOffer]] = {}

    def get(self, basic_code: str, region: str) -> tuple[CatalogueItem, RegionOffer] | None:
        """A fresh entry, or None."""
        entry = self._entries.get((basic_code, region))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1], entry[2]

    def put(self, basic_code: str, region: str, item: CatalogueItem, offer: RegionOffer) -> None:
        """Remember a complete lookup."""
        if self.ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[(basic_code, region)] = (time.monotonic(), item, offer)

    def clear(self) -> None:
        """Forget everything (a catalogue event arrived)."""
        self._entries.clear()


@dataclass
class CaseServices:
    """Dependencies of the handlers, built once per app."""

    settings: Settings
    cipher: FieldCipher
    calendar: WorkingDayCalendar
    blobs: BlobStore
    catalogue: CatalogueClient
    numbers: NumberAllocator
    clock: Callable[[], datetime] = field(default=utcnow)
    items: ItemCache = field(default_factory=ItemCache)

    @property
    def topic(self) -> str:
        """The case lifecycle topic (with the run's prefix)."""
        return self.settings.topic(topics.CASE_LIFECYCLE)
