"""Kafka -> read model: catalogue events build case-svc's local copy of items and region offers."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_contracts import EventEnvelope, event_type, topics
from tongban_kit.app import ServiceRuntime
from tongban_kit.inbox import InboxConsumer

from case_svc.adapters.readmodel import ItemStore

log = structlog.get_logger("case.catalogue-consumer")

GROUP = "case-svc.catalogue"
ITEM_PUBLISHED = event_type("catalogue", "item-published")
ITEM_RETIRED = event_type("catalogue", "item-retired")
REGION_CHANGED = event_type("catalogue", "region-implementation-changed")


async def apply_catalogue_event(session: AsyncSession, event: EventEnvelope) -> None:
    """Apply one catalogue event to the read model (in the inbox's transaction)."""
    store = ItemStore(session)
    try:
        if event.type == ITEM_PUBLISHED:
            await store.put_item(event.data)
        elif event.type == ITEM_RETIRED:
            await store.retire(str(event.data["basic_code"]), int(event.data["version"]))
        elif event.type == REGION_CHANGED:
            await store.put_offer(event.data)
    except (KeyError, ValueError, TypeError) as exc:
        # A payload we cannot read would be retried forever; record it loudly and move on.
        log.error("catalogue event skipped", event_id=event.id, type=event.type, error=str(exc))


def catalogue_consumers(runtime: ServiceRuntime) -> list[InboxConsumer]:
    """The catalogue consumer, reading its topic from the beginning."""
    if not getattr(runtime.settings, "consume_catalogue", True):
        return []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        await apply_catalogue_event(session, event)
        services = runtime.extras.get("case")
        if services is not None:
            services.items.clear()

    return [
        InboxConsumer(
            runtime.settings,
            runtime.session_factory,
            [topics.CATALOGUE_ITEMS],
            GROUP,
            handler,
            from_beginning=True,
        )
    ]
