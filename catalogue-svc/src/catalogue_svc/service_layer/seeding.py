"""Load the national seed catalogue into an empty database and publish it through the outbox."""

from __future__ import annotations

import structlog
from sqlalchemy.exc import IntegrityError
from tongban_kit.db import utcnow
from tongban_kit.ids import new_id

from catalogue_svc.seed import SeedData, load_seed
from catalogue_svc.service_layer.handlers import Clock
from catalogue_svc.service_layer.unit_of_work import CatalogueUnitOfWork

log = structlog.get_logger("catalogue.seed")


async def seed_catalogue(
    *, uow: CatalogueUnitOfWork, clock: Clock = utcnow, data: SeedData | None = None
) -> int:
    """Create, publish and implement every seed item when there are no items yet; return how many."""
    async with uow:
        if await uow.items.count() > 0:
            return 0
        seed = data if data is not None else load_seed()
        now = clock()
        indexed = []
        for seed_item in seed.items:
            item, changes = seed_item.materialise(now=now)
            events = item.pull_events()
            await uow.items.add(item, now=now, events=len(events))
            for faq in seed_item.faqs:
                faq_id = new_id()
                await uow.faqs.add(faq_id, item.basic_code, faq, author="seed", region=None, now=now)
                await uow.search.index_faq(faq_id, faq)
            assert item.current is not None
            indexed.append((item.current, seed_item.faqs))
            for sequence, event in enumerate(events, start=1):
                uow.emit(event, sequence=sequence)
            for change in changes:
                region_revision = await uow.regions.put(
                    change.implementation, item_version=change.item_version, expected_revision=None, now=now
                )
                uow.emit(change, sequence=region_revision)
        await uow.search.index_new_items(indexed)
        try:
            await uow.commit()
        except IntegrityError:  # another replica seeded the same empty database first
            await uow.rollback()
            log.info("seed skipped: another instance loaded it")
            return 0
    log.info("seed catalogue loaded", items=len(seed.items))
    return len(seed.items)
