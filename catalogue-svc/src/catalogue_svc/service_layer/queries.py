"""Read side: current versions, version history, diffs, lists with search, regions, FAQ and guides.

Reads open a unit of work and never commit. Anonymous callers see published and retired versions
only; drafts need ``catalogue:write`` (the API passes ``include_drafts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from catalogue_svc.adapters.repository import (
    ItemFilters,
    StoredFaq,
    StoredImplementation,
    SummaryRow,
    faq_from_row,
)
from catalogue_svc.adapters.search_index import ScoredKey
from catalogue_svc.domain.errors import VersionNotFound
from catalogue_svc.domain.model import VersionState
from catalogue_svc.domain.reference import (
    AUDIENCE_LABELS,
    ITEM_TYPE_LABELS,
    LICENCE_TYPES,
    MODE_LABELS,
    PROVINCES,
    Audience,
    HandlingMode,
    ItemType,
)
from catalogue_svc.domain.search import query_tokens
from catalogue_svc.service_layer.documents import (
    diff_documents,
    faq_document,
    implementation_document,
    rfc3339,
    version_document,
)
from catalogue_svc.service_layer.errors import (
    DraftNotFound,
    ImplementationNotFound,
    ItemNotFound,
    NoVersionInForce,
)
from catalogue_svc.service_layer.handlers import item_etag, region_etag
from catalogue_svc.service_layer.unit_of_work import CatalogueUnitOfWork


class InvalidCursor(Exception):
    """A cursor does not fit the list it was sent to (400)."""


@dataclass(frozen=True, slots=True)
class Read:
    """A document and its entity tag."""

    document: dict[str, Any]
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class PageResult:
    """One page: the items and the keyset position after the last one (None at the end)."""

    items: list[dict[str, Any]]
    after: dict[str, Any] | None


async def current_item(basic_code: str, *, uow: CatalogueUnitOfWork) -> Read:
    """The version in force of an item, with the item's entity tag."""
    async with uow:
        found = await uow.items.current(basic_code)
        if found is None:
            if await uow.items.exists(basic_code):
                raise NoVersionInForce(f"{basic_code} has no published version in force")
            raise ItemNotFound(f"there is no item {basic_code}")
        revision, version = found
        return Read(version_document(version), item_etag(basic_code, revision))


async def item_version(
    basic_code: str, number: int, *, include_drafts: bool, uow: CatalogueUnitOfWork
) -> Read:
    """One version of an item (drafts only for writers)."""
    async with uow:
        row = await uow.items.row(basic_code)
        if row is None:
            raise ItemNotFound(f"there is no item {basic_code}")
        version = await uow.items.version(basic_code, number)
        if version is None or (version.is_draft and not include_drafts):
            raise VersionNotFound(f"{basic_code} has no version {number}")
        return Read(version_document(version), item_etag(basic_code, row.revision))


async def draft(basic_code: str, *, uow: CatalogueUnitOfWork) -> Read:
    """The open draft of an item."""
    async with uow:
        stored = await uow.items.get(basic_code)
        if stored is None:
            raise ItemNotFound(f"there is no item {basic_code}")
        if stored.item.draft is None:
            raise DraftNotFound(f"{basic_code} has no open draft; start one with POST .../draft")
        return Read(version_document(stored.item.draft), item_etag(basic_code, stored.revision))


async def versions(basic_code: str, *, include_drafts: bool, uow: CatalogueUnitOfWork) -> Read:
    """Every version of an item, oldest first."""
    async with uow:
        stored = await uow.items.get(basic_code)
        if stored is None:
            raise ItemNotFound(f"there is no item {basic_code}")
        docs = [version_document(v) for v in stored.item.versions if include_drafts or not v.is_draft]
        if not docs:
            raise ItemNotFound(f"there is no item {basic_code}")
        return Read({"items": docs, "next_cursor": None}, item_etag(basic_code, stored.revision))


async def diff(
    basic_code: str, from_number: int, to_number: int, *, include_drafts: bool, uow: CatalogueUnitOfWork
) -> Read:
    """Field-by-field difference between two versions' content."""
    async with uow:
        if not await uow.items.exists(basic_code):
            raise ItemNotFound(f"there is no item {basic_code}")
        docs = []
        for number in (from_number, to_number):
            version = await uow.items.version(basic_code, number)
            if version is None or (version.is_draft and not include_drafts):
                raise VersionNotFound(f"{basic_code} has no version {number}")
            docs.append(version_document(version))
        changes = diff_documents(docs[0], docs[1])
        return Read({"basic_code": basic_code, "from": from_number, "to": to_number, "changes": changes})


def _summary(row: SummaryRow, score: int | None) -> dict[str, Any]:
    modes = [
        m.value
        for m, on in (
            (HandlingMode.JOINT, row.mode_joint),
            (HandlingMode.ONLINE, row.mode_online),
            (HandlingMode.PROXY, row.mode_proxy),
        )
        if on
    ]
    audience = [
        a.value
        for a, on in (
            (Audience.LEGAL_PERSON, row.audience_legal),
            (Audience.NATURAL_PERSON, row.audience_natural),
        )
        if on
    ]
    return {
        "basic_code": row.basic_code,
        "version": row.current_version,
        "name": row.name,
        "item_type": row.item_type,
        "ministry": row.ministry,
        "audience": sorted(audience),
        "modes": sorted(modes),
        "statutory_limit_days": row.statutory_limit_days,
        "promised_limit_days": row.promised_limit_days,
        "valid_from": None if row.valid_from is None else rfc3339(row.valid_from),
        "score": score,
    }


# Cursor keys are basic codes or UUIDs; anything else was not issued here.
_CURSOR_KEY = re.compile(r"[0-9A-Za-z-]{1,64}")


def _scored_after(after: dict[str, Any] | None) -> ScoredKey | None:
    if after is None:
        return None
    key, score = after.get("k"), after.get("s")
    if not isinstance(key, str) or not _CURSOR_KEY.fullmatch(key) or type(score) is not int:
        raise InvalidCursor("the cursor does not belong to a search")
    return ScoredKey(key, score)


def _plain_after(after: dict[str, Any] | None) -> str | None:
    if after is None:
        return None
    key = after.get("k")
    if not isinstance(key, str) or not _CURSOR_KEY.fullmatch(key) or "s" in after:
        raise InvalidCursor("the cursor does not belong to this list")
    return key


async def list_items(
    *,
    q: str | None,
    filters: ItemFilters,
    after: dict[str, Any] | None,
    limit: int,
    uow: CatalogueUnitOfWork,
) -> PageResult:
    """Items in force: by basic code, or, with ``q``, by search score (best first); keyset-paginated."""
    async with uow:
        if q is not None and q.strip():
            tokens = query_tokens(q)
            hits = await uow.search.search_items(tokens, filters, after=_scored_after(after), limit=limit + 1)
            items = [_summary(row, score) for row, score in hits[:limit]]
            last = hits[limit - 1] if len(hits) > limit else None
            return PageResult(items, None if last is None else {"k": last[0].basic_code, "s": last[1]})
        rows = await uow.items.list_rows(filters, after=_plain_after(after), limit=limit + 1)
        items = [_summary(row, None) for row in rows[:limit]]
        return PageResult(items, {"k": rows[limit - 1].basic_code} if len(rows) > limit else None)


def _implementation(stored: StoredImplementation) -> dict[str, Any]:
    return implementation_document(
        stored.implementation,
        item_version=stored.item_version,
        revision=stored.revision,
        updated_at=stored.updated_at,
    )


async def region_implementation(basic_code: str, region: str, *, uow: CatalogueUnitOfWork) -> Read:
    """A region's implementation of an item, with its entity tag."""
    async with uow:
        stored = await uow.regions.get(basic_code, region)
        if stored is None:
            if not await uow.items.exists(basic_code):
                raise ItemNotFound(f"there is no item {basic_code}")
            raise ImplementationNotFound(f"region {region} has not implemented {basic_code}")
        return Read(_implementation(stored), region_etag(basic_code, region, stored.revision))


async def region_implementations(basic_code: str, *, uow: CatalogueUnitOfWork) -> Read:
    """Every region's implementation of an item."""
    async with uow:
        if not await uow.items.exists(basic_code):
            raise ItemNotFound(f"there is no item {basic_code}")
        docs = [_implementation(s) for s in await uow.regions.list_for(basic_code)]
        return Read({"items": docs, "next_cursor": None})


def _faq(stored: StoredFaq) -> dict[str, Any]:
    return faq_document(stored.id, stored.basic_code, stored.entry, created_at=stored.created_at)


async def item_faqs(
    basic_code: str, *, after: dict[str, Any] | None, limit: int, uow: CatalogueUnitOfWork
) -> PageResult:
    """An item's FAQ entries in the order they were added."""
    async with uow:
        if not await uow.items.exists(basic_code):
            raise ItemNotFound(f"there is no item {basic_code}")
        rows = await uow.faqs.for_item(basic_code, after=_plain_after(after), limit=limit + 1)
        items = [_faq(f) for f in rows[:limit]]
        return PageResult(items, {"k": rows[limit - 1].id} if len(rows) > limit else None)


async def search_faqs(
    *, q: str, basic_code: str | None, after: dict[str, Any] | None, limit: int, uow: CatalogueUnitOfWork
) -> PageResult:
    """FAQ entries matching every token of ``q``, best first."""
    async with uow:
        tokens = query_tokens(q)
        hits = await uow.search.search_faqs(
            tokens, basic_code=basic_code, after=_scored_after(after), limit=limit + 1
        )
        items = [{**_faq(faq_from_row(row)), "score": score} for row, score in hits[:limit]]
        last = hits[limit - 1] if len(hits) > limit else None
        return PageResult(items, None if last is None else {"k": last[0].id, "s": last[1]})


async def guide(basic_code: str, *, region: str | None, uow: CatalogueUnitOfWork) -> Read:
    """The service guide (办事指南) a citizen reads: the version in force, labelled, with FAQ and region."""
    async with uow:
        found = await uow.items.current(basic_code)
        if found is None:
            if await uow.items.exists(basic_code):
                raise NoVersionInForce(f"{basic_code} has no published version in force")
            raise ItemNotFound(f"there is no item {basic_code}")
        _revision, version = found
        assert version.state is VersionState.PUBLISHED
        doc = version_document(version)
        implementation = None
        if region is not None:
            stored = await uow.regions.get(basic_code, region)
            if stored is None:
                raise ImplementationNotFound(f"region {region} has not implemented {basic_code}")
            implementation = {**_implementation(stored), "region_name": PROVINCES.get(region, region)}
        faqs = [_faq(f) for f in await uow.faqs.for_item(basic_code, limit=50)]
    materials = [
        {**m, "licence_type_names": [LICENCE_TYPES.get(t, t) for t in m["licence_types"]]}
        for m in doc["materials"]
    ]
    result = dict(doc["result"])
    if result["licence_type"]:
        result["licence_type_name"] = LICENCE_TYPES.get(result["licence_type"], result["licence_type"])
    guide_doc = {
        **doc,
        "item_type_label": ITEM_TYPE_LABELS[ItemType(doc["item_type"])],
        "audience_labels": [AUDIENCE_LABELS[Audience(a)] for a in doc["audience"]],
        "mode_labels": [MODE_LABELS[HandlingMode(m)] for m in doc["modes"]],
        "materials": materials,
        "result": result,
        "implementation": implementation,
        "faqs": faqs,
    }
    return Read(guide_doc)
