"""Command handlers: one per command, each one transaction that also writes its events to the outbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from tongban_kit.db import utcnow
from tongban_kit.http import etag_for
from tongban_kit.idempotency import IdempotencyKey, remember, replay
from tongban_kit.ids import new_id

from catalogue_svc.adapters.repository import ConcurrentChange, StoredItem
from catalogue_svc.domain.commands import (
    AddFaq,
    CreateItem,
    EditDraft,
    IfMatch,
    ImplementRegion,
    PublishDraft,
    RetireItem,
    StartDraft,
)
from catalogue_svc.domain.errors import NotPublished
from catalogue_svc.domain.events import ItemPublished, ItemRetired
from catalogue_svc.domain.model import Item, ItemVersion, implement_region, parse_faq
from catalogue_svc.service_layer.documents import faq_document, implementation_document, version_document
from catalogue_svc.service_layer.errors import (
    ImplementationCodeTaken,
    ItemExists,
    ItemNotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from catalogue_svc.service_layer.unit_of_work import CatalogueUnitOfWork

log = structlog.get_logger("catalogue.handlers")

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a handler hands back to the API: the resource's document and its new entity tag."""

    document: dict[str, Any]
    etag: str | None
    created: bool = False
    replayed: bool = False


def item_etag(basic_code: str, revision: int) -> str:
    """The entity tag of an item at a revision (shared by every read of the item and its versions)."""
    return etag_for(basic_code, revision)


def region_etag(basic_code: str, region: str, revision: int) -> str:
    """The entity tag of a region implementation at a revision."""
    return etag_for(f"{basic_code}/{region}", revision)


def _check_precondition(if_match: IfMatch | None, etag: str) -> None:
    if if_match is None:
        raise PreconditionRequired(etag)
    if not if_match.matches(etag):
        raise PreconditionFailed(etag)


async def _replayed(uow: CatalogueUnitOfWork, ikey: IdempotencyKey | None) -> Outcome | None:
    if ikey is None:
        return None
    record = await replay(uow.session, ikey)
    if record is None:
        return None
    return Outcome(record.body, (record.headers or {}).get("ETag"), created=True, replayed=True)


async def create_item(
    cmd: CreateItem,
    *,
    uow: CatalogueUnitOfWork,
    clock: Clock = utcnow,
    idempotency: IdempotencyKey | None = None,
) -> Outcome:
    """Create a new item whose first version is a draft."""
    async with uow:
        replayed = await _replayed(uow, idempotency)
        if replayed is not None:
            return replayed
        if await uow.items.exists(cmd.basic_code):
            raise ItemExists(f"item {cmd.basic_code} already exists; edit its draft or start a new one")
        now = clock()
        item = Item.create(cmd.basic_code, cmd.content, now=now)
        revision = await uow.items.add(item, now=now)
        outcome = Outcome(version_document(item.latest), item_etag(cmd.basic_code, revision), created=True)
        if idempotency is not None:
            remember(uow.session, idempotency, 201, outcome.document, {"ETag": outcome.etag or ""})
        try:
            await uow.commit()
        except IntegrityError as exc:
            await uow.rollback()
            replayed = await _replayed(uow, idempotency)
            if replayed is not None:
                return replayed
            raise ItemExists(f"item {cmd.basic_code} already exists") from exc
    log.info("item created", basic_code=cmd.basic_code, actor=cmd.actor)
    return outcome


async def _change_item(
    basic_code: str,
    if_match: IfMatch | None,
    change: Callable[[Item, datetime], ItemVersion],
    *,
    uow: CatalogueUnitOfWork,
    clock: Clock,
) -> Outcome:
    """Load, check If-Match, apply, save under the revision check, re-index and emit, in one transaction."""
    async with uow:
        stored = await uow.items.get(basic_code)
        if stored is None:
            raise ItemNotFound(f"there is no item {basic_code}")
        _check_precondition(if_match, item_etag(basic_code, stored.revision))
        now = clock()
        version = change(stored.item, now)
        events = stored.item.pull_events()
        first_sequence = await _save(uow, stored, now, len(events))
        revision = stored.revision
        if any(isinstance(e, ItemPublished | ItemRetired) for e in events):
            faqs = [f.entry for f in await uow.faqs.for_item(basic_code)]
            await uow.search.index_item(stored.item.current, faqs, basic_code=basic_code)
        for offset, event in enumerate(events):
            uow.emit(event, sequence=first_sequence + offset)
        try:
            await uow.commit()
        except IntegrityError as exc:  # a concurrent writer got a version in force first
            await uow.rollback()
            raise PreconditionFailed(None) from exc
    return Outcome(version_document(version), item_etag(basic_code, revision))


async def _save(uow: CatalogueUnitOfWork, stored: StoredItem, now: datetime, events: int) -> int:
    try:
        return await uow.items.save(stored, now=now, events=events)
    except ConcurrentChange as exc:
        raise PreconditionFailed(None) from exc


async def start_draft(cmd: StartDraft, *, uow: CatalogueUnitOfWork, clock: Clock = utcnow) -> Outcome:
    """Open the next version as a draft while the current one stays in force."""
    outcome = await _change_item(
        cmd.basic_code,
        cmd.if_match,
        lambda item, now: item.start_draft(cmd.changes or None, now=now),
        uow=uow,
        clock=clock,
    )
    log.info("draft started", basic_code=cmd.basic_code, version=outcome.document["version"], actor=cmd.actor)
    return Outcome(outcome.document, outcome.etag, created=True)


async def edit_draft(cmd: EditDraft, *, uow: CatalogueUnitOfWork, clock: Clock = utcnow) -> Outcome:
    """Change fields of the open draft; a published version refuses (409)."""
    outcome = await _change_item(
        cmd.basic_code,
        cmd.if_match,
        lambda item, now: item.edit_draft(cmd.changes, now=now),
        uow=uow,
        clock=clock,
    )
    log.info("draft edited", basic_code=cmd.basic_code, fields=sorted(cmd.changes), actor=cmd.actor)
    return outcome


async def publish_draft(cmd: PublishDraft, *, uow: CatalogueUnitOfWork, clock: Clock = utcnow) -> Outcome:
    """Publish the draft: it is frozen and in force from now; its predecessor's validity ends now."""
    outcome = await _change_item(
        cmd.basic_code, cmd.if_match, lambda item, now: item.publish(now=now), uow=uow, clock=clock
    )
    log.info(
        "item published", basic_code=cmd.basic_code, version=outcome.document["version"], actor=cmd.actor
    )
    return outcome


async def retire_item(cmd: RetireItem, *, uow: CatalogueUnitOfWork, clock: Clock = utcnow) -> Outcome:
    """Withdraw the item: its version in force ends now and it leaves search."""
    outcome = await _change_item(
        cmd.basic_code, cmd.if_match, lambda item, now: item.retire(now=now), uow=uow, clock=clock
    )
    log.info("item retired", basic_code=cmd.basic_code, version=outcome.document["version"], actor=cmd.actor)
    return outcome


async def implement_item_in_region(
    cmd: ImplementRegion, *, uow: CatalogueUnitOfWork, clock: Clock = utcnow
) -> Outcome:
    """Create or replace a region's implementation, checked against the national version in force."""
    async with uow:
        current = await uow.items.current(cmd.basic_code)
        if current is None:
            if not await uow.items.exists(cmd.basic_code):
                raise ItemNotFound(f"there is no item {cmd.basic_code}")
            raise NotPublished(f"{cmd.basic_code} has no published version in force to implement")
        _revision, national = current
        existing = await uow.regions.get(cmd.basic_code, cmd.region)
        if existing is not None:
            _check_precondition(cmd.if_match, region_etag(cmd.basic_code, cmd.region, existing.revision))
        elif cmd.if_match is not None:
            raise PreconditionFailed(None)  # If-Match names a representation that does not exist
        now = clock()
        event = implement_region(
            national, {**cmd.data, "basic_code": cmd.basic_code, "region": cmd.region}, now=now
        )
        impl = event.implementation
        owner = await uow.regions.code_owner(impl.implementation_code)
        if owner is not None and owner != (cmd.basic_code, cmd.region):
            raise ImplementationCodeTaken(
                f"implementation code {impl.implementation_code} is already used by {owner[0]} in {owner[1]}"
            )
        try:
            revision = await uow.regions.put(
                impl,
                item_version=national.number,
                expected_revision=None if existing is None else existing.revision,
                now=now,
            )
        except ConcurrentChange as exc:
            raise PreconditionFailed(None) from exc
        uow.emit(event, sequence=revision)
        try:
            await uow.commit()
        except IntegrityError as exc:  # another request created it first
            await uow.rollback()
            raise PreconditionFailed(None) from exc
    log.info("region implementation changed", key=impl.key, revision=revision, actor=cmd.actor)
    document = implementation_document(impl, item_version=national.number, revision=revision, updated_at=now)
    return Outcome(document, region_etag(cmd.basic_code, cmd.region, revision), created=existing is None)


async def add_faq(
    cmd: AddFaq, *, uow: CatalogueUnitOfWork, clock: Clock = utcnow, idempotency: IdempotencyKey | None = None
) -> Outcome:
    """Add a FAQ entry; the item's search tokens include its FAQ, so it is re-indexed."""
    async with uow:
        replayed = await _replayed(uow, idempotency)
        if replayed is not None:
            return replayed
        if not await uow.items.exists(cmd.basic_code):
            raise ItemNotFound(f"there is no item {cmd.basic_code}")
        entry = parse_faq(cmd.entry)
        now = clock()
        faq_id = new_id()
        await uow.faqs.add(faq_id, cmd.basic_code, entry, author=cmd.actor, region=cmd.region, now=now)
        await uow.search.index_faq(faq_id, entry)
        current = await uow.items.current(cmd.basic_code)
        if current is not None:
            faqs = [f.entry for f in await uow.faqs.for_item(cmd.basic_code)]
            await uow.search.index_item(current[1], faqs, basic_code=cmd.basic_code)
        outcome = Outcome(faq_document(faq_id, cmd.basic_code, entry, created_at=now), None, created=True)
        if idempotency is not None:
            remember(uow.session, idempotency, 201, outcome.document, {})
        try:
            await uow.commit()
        except IntegrityError:
            await uow.rollback()
            replayed = await _replayed(uow, idempotency)
            if replayed is None:
                raise
            return replayed
    log.info("faq added", basic_code=cmd.basic_code, faq_id=faq_id, actor=cmd.actor)
    return outcome
