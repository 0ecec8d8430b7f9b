"""Repositories: load and save the Item aggregate, region implementations and FAQ entries.

Saving an item is one conditional UPDATE of its row (``revision = revision + 1 WHERE revision =
loaded``): it is the optimistic-concurrency check behind If-Match and reserves the events' gap-free
sequence numbers in the same statement, as DESIGN.md asks. Version rows are written in number order, updates
before inserts, so the partial unique indexes never see two versions in force mid-transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from catalogue_svc.adapters.orm import FaqRow, ItemRow, ItemVersionRow, RegionImplementationRow
from catalogue_svc.domain.model import (
    FaqEntry,
    Item,
    ItemContent,
    ItemVersion,
    RegionImplementation,
    VersionState,
)
from catalogue_svc.domain.reference import Audience, HandlingMode


class ConcurrentChange(Exception):
    """The row changed since it was loaded (another writer won); the caller answers 412."""


@dataclass
class StoredItem:
    """An Item as loaded, with the revision and versions it had then (to save only what changed)."""

    item: Item
    revision: int
    loaded: tuple[ItemVersion, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ItemFilters:
    """Filters of the item list (all optional, combined with AND)."""

    mode: HandlingMode | None = None
    audience: Audience | None = None
    item_type: str | None = None
    ministry: str | None = None
    region: str | None = None


def version_from_row(row: ItemVersionRow) -> ItemVersion:
    """Rebuild a domain version from its row (the content was validated before it was stored)."""
    return ItemVersion(
        basic_code=row.basic_code,
        number=row.number,
        state=VersionState(row.state),
        content=ItemContent.model_validate(row.content),
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_at=row.published_at,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        retired_at=row.retired_at,
    )


def _version_from_mapping(row: Any) -> ItemVersion:
    return ItemVersion(
        basic_code=row["basic_code"],
        number=row["number"],
        state=VersionState(row["state"]),
        content=ItemContent.model_validate(row["content"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        retired_at=row["retired_at"],
    )


def _version_values(version: ItemVersion) -> dict[str, Any]:
    return {
        "state": version.state.value,
        "content": version.content.model_dump(mode="json"),
        "created_at": version.created_at,
        "updated_at": version.updated_at,
        "published_at": version.published_at,
        "valid_from": version.valid_from,
        "valid_to": version.valid_to,
        "retired_at": version.retired_at,
    }


def _facts(item: Item) -> dict[str, Any]:
    """The listing columns of ``items``: the facts of the version in force, or nulls."""
    current = item.current
    if current is None:
        return {
            "current_version": None,
            "name": None,
            "item_type": None,
            "ministry": None,
            "mode_online": False,
            "mode_proxy": False,
            "mode_joint": False,
            "audience_natural": False,
            "audience_legal": False,
            "statutory_limit_days": None,
            "promised_limit_days": None,
            "valid_from": None,
        }
    c = current.content
    return {
        "current_version": current.number,
        "name": c.name,
        "item_type": c.item_type.value,
        "ministry": c.ministry,
        "mode_online": HandlingMode.ONLINE in c.modes,
        "mode_proxy": HandlingMode.PROXY in c.modes,
        "mode_joint": HandlingMode.JOINT in c.modes,
        "audience_natural": Audience.NATURAL_PERSON in c.audience,
        "audience_legal": Audience.LEGAL_PERSON in c.audience,
        "statutory_limit_days": c.statutory_limit_days,
        "promised_limit_days": c.promised_limit_days,
        "valid_from": current.valid_from,
    }


# What lists show of an item: read as plain rows, without building ORM objects.
SUMMARY_COLUMNS = (
    ItemRow.basic_code,
    ItemRow.current_version,
    ItemRow.name,
    ItemRow.item_type,
    ItemRow.ministry,
    ItemRow.mode_online,
    ItemRow.mode_proxy,
    ItemRow.mode_joint,
    ItemRow.audience_natural,
    ItemRow.audience_legal,
    ItemRow.statutory_limit_days,
    ItemRow.promised_limit_days,
    ItemRow.valid_from,
)
SummaryRow = Row[Any]


def filter_conditions(filters: ItemFilters) -> list[ColumnElement[bool]]:
    """SQL conditions on ``items`` for the list filters; only items with a version in force."""
    conds: list[ColumnElement[bool]] = [ItemRow.current_version.is_not(None)]
    if filters.mode is not None:
        column = {
            HandlingMode.ONLINE: ItemRow.mode_online,
            HandlingMode.PROXY: ItemRow.mode_proxy,
            HandlingMode.JOINT: ItemRow.mode_joint,
        }[filters.mode]
        conds.append(column.is_(True))
    if filters.audience is not None:
        column = {
            Audience.NATURAL_PERSON: ItemRow.audience_natural,
            Audience.LEGAL_PERSON: ItemRow.audience_legal,
        }[filters.audience]
        conds.append(column.is_(True))
    if filters.item_type is not None:
        conds.append(ItemRow.item_type == filters.item_type)
    if filters.ministry is not None:
        conds.append(ItemRow.ministry == filters.ministry)
    if filters.region is not None:
        conds.append(
            exists().where(
                and_(
                    RegionImplementationRow.basic_code == ItemRow.basic_code,
                    RegionImplementationRow.region == filters.region,
                )
            )
        )
    return conds


class ItemRepository:
    """Items and their versions in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, basic_code: str) -> bool:
        """Tell whether an item with this code exists (in any state)."""
        found = await self.session.scalar(select(ItemRow.basic_code).where(ItemRow.basic_code == basic_code))
        return found is not None

    async def count(self) -> int:
        """How many items exist."""
        from sqlalchemy import func

        return int(await self.session.scalar(select(func.count()).select_from(ItemRow)) or 0)

    async def get(self, basic_code: str) -> StoredItem | None:
        """Load the whole aggregate, or None."""
        row = await self.session.get(ItemRow, basic_code, populate_existing=True)
        if row is None:
            return None
        versions = tuple(version_from_row(r) for r in await self.version_rows(basic_code))
        return StoredItem(Item(basic_code, versions), row.revision, versions)

    async def add(self, item: Item, *, now: datetime, events: int = 0) -> int:
        """Insert a new item at revision 1 with ``events`` events numbered 1.. and return the revision."""
        await self.session.execute(
            insert(ItemRow).values(
                basic_code=item.basic_code,
                revision=1,
                event_sequence=events,
                created_at=now,
                updated_at=now,
                **_facts(item),
            )
        )
        await self._insert_versions(item.basic_code, item.versions)
        return 1

    async def save(self, stored: StoredItem, *, now: datetime, events: int = 0) -> int:
        """Write what changed under the revision check and reserve ``events`` event sequence numbers.

        Returns the sequence of the first reserved event (the new revision is ``stored.revision``).
        """
        item = stored.item
        first = (
            await self.session.execute(
                update(ItemRow)
                .where(ItemRow.basic_code == item.basic_code, ItemRow.revision == stored.revision)
                .values(
                    revision=ItemRow.revision + 1,
                    event_sequence=ItemRow.event_sequence + events,
                    updated_at=now,
                    **_facts(item),
                )
                .returning(ItemRow.event_sequence - events + 1)
                .execution_options(synchronize_session=False)
            )
        ).scalar()
        if first is None:
            raise ConcurrentChange(item.basic_code)
        loaded = stored.loaded
        for version in item.versions[: len(loaded)]:
            if version != loaded[version.number - 1]:
                await self.session.execute(
                    update(ItemVersionRow)
                    .where(
                        ItemVersionRow.basic_code == item.basic_code,
                        ItemVersionRow.number == version.number,
                    )
                    .values(**_version_values(version))
                    .execution_options(synchronize_session=False)
                )
        await self._insert_versions(item.basic_code, item.versions[len(loaded) :])
        stored.revision += 1
        stored.loaded = item.versions
        return int(first)

    async def _insert_versions(self, basic_code: str, versions: Sequence[ItemVersion]) -> None:
        for version in versions:
            await self.session.execute(
                insert(ItemVersionRow).values(
                    basic_code=basic_code, number=version.number, **_version_values(version)
                )
            )

    async def row(self, basic_code: str) -> ItemRow | None:
        """The item's row (revision and listing facts), or None."""
        return await self.session.get(ItemRow, basic_code)

    async def version_rows(self, basic_code: str) -> list[ItemVersionRow]:
        """Every version row of an item, oldest first."""
        rows = await self.session.scalars(
            select(ItemVersionRow)
            .where(ItemVersionRow.basic_code == basic_code)
            .order_by(ItemVersionRow.number)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def version(self, basic_code: str, number: int) -> ItemVersion | None:
        """One version, or None."""
        row = await self.session.get(ItemVersionRow, (basic_code, number))
        return None if row is None else version_from_row(row)

    async def current(self, basic_code: str) -> tuple[int, ItemVersion] | None:
        """The item's revision and its version in force, in one Core query; None if there is none."""
        versions = ItemVersionRow.__table__
        found = (
            (
                await self.session.execute(
                    select(ItemRow.revision, *versions.c)
                    .join(
                        versions,
                        and_(
                            versions.c.basic_code == ItemRow.basic_code,
                            versions.c.number == ItemRow.current_version,
                        ),
                    )
                    .where(ItemRow.basic_code == basic_code)
                )
            )
            .mappings()
            .first()
        )
        if found is None:
            return None
        return int(found["revision"]), _version_from_mapping(found)

    async def list_rows(self, filters: ItemFilters, *, after: str | None, limit: int) -> list[SummaryRow]:
        """Items in force matching the filters, by basic code, after the keyset position."""
        query = select(*SUMMARY_COLUMNS).where(*filter_conditions(filters))
        if after is not None:
            query = query.where(ItemRow.basic_code > after)
        return list((await self.session.execute(query.order_by(ItemRow.basic_code).limit(limit))).all())

    async def rows_by_code(self, codes: Sequence[str]) -> dict[str, ItemRow]:
        """Item rows by basic code."""
        if not codes:
            return {}
        rows = await self.session.scalars(select(ItemRow).where(ItemRow.basic_code.in_(codes)))
        return {r.basic_code: r for r in rows}


@dataclass(frozen=True, slots=True)
class StoredImplementation:
    """A region implementation with its revision and the item version it was checked against."""

    implementation: RegionImplementation
    revision: int
    item_version: int
    updated_at: datetime


class RegionRepository:
    """Region implementations in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, basic_code: str, region: str) -> StoredImplementation | None:
        """One implementation, or None."""
        row = await self.session.get(RegionImplementationRow, (basic_code, region), populate_existing=True)
        if row is None:
            return None
        return StoredImplementation(
            RegionImplementation.model_validate(row.data), row.revision, row.item_version, row.updated_at
        )

    async def code_owner(self, implementation_code: str) -> tuple[str, str] | None:
        """The (basic code, region) that uses an implementation code, or None."""
        found = (
            await self.session.execute(
                select(RegionImplementationRow.basic_code, RegionImplementationRow.region).where(
                    RegionImplementationRow.implementation_code == implementation_code
                )
            )
        ).first()
        return None if found is None else (found[0], found[1])

    async def list_for(self, basic_code: str) -> list[StoredImplementation]:
        """Every implementation of an item, by region."""
        rows = await self.session.scalars(
            select(RegionImplementationRow)
            .where(RegionImplementationRow.basic_code == basic_code)
            .order_by(RegionImplementationRow.region)
        )
        return [
            StoredImplementation(
                RegionImplementation.model_validate(r.data), r.revision, r.item_version, r.updated_at
            )
            for r in rows
        ]

    async def put(
        self,
        impl: RegionImplementation,
        *,
        item_version: int,
        expected_revision: int | None,
        now: datetime,
    ) -> int:
        """Insert (``expected_revision`` None) or update under the revision check; return the new revision."""
        data = impl.model_dump(mode="json")
        if expected_revision is None:
            await self.session.execute(
                insert(RegionImplementationRow).values(
                    basic_code=impl.basic_code,
                    region=impl.region,
                    revision=1,
                    item_version=item_version,
                    implementation_code=impl.implementation_code,
                    data=data,
                    created_at=now,
                    updated_at=now,
                )
            )
            return 1
        result = await self.session.execute(
            update(RegionImplementationRow)
            .where(
                RegionImplementationRow.basic_code == impl.basic_code,
                RegionImplementationRow.region == impl.region,
                RegionImplementationRow.revision == expected_revision,
            )
            .values(
                revision=RegionImplementationRow.revision + 1,
                item_version=item_version,
                implementation_code=impl.implementation_code,
                data=data,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise ConcurrentChange(impl.key)
        return expected_revision + 1


@dataclass(frozen=True, slots=True)
class StoredFaq:
    """A FAQ entry with its id, item and creation time."""

    id: str
    basic_code: str
    entry: FaqEntry
    created_at: datetime


def faq_from_row(row: FaqRow) -> StoredFaq:
    """Rebuild a stored FAQ entry from its row."""
    entry = FaqEntry(question=row.question, answer=row.answer, tags=tuple(row.tags or ()))
    return StoredFaq(row.id, row.basic_code, entry, row.created_at)


class FaqRepository:
    """FAQ entries in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        faq_id: str,
        basic_code: str,
        entry: FaqEntry,
        *,
        author: str | None,
        region: str | None,
        now: datetime,
    ) -> StoredFaq:
        """Insert one entry."""
        await self.session.execute(
            insert(FaqRow).values(
                id=faq_id,
                basic_code=basic_code,
                question=entry.question,
                answer=entry.answer,
                tags=list(entry.tags),
                author=author,
                region=region,
                created_at=now,
            )
        )
        return StoredFaq(faq_id, basic_code, entry, now)

    async def for_item(
        self, basic_code: str, *, after: str | None = None, limit: int | None = None
    ) -> list[StoredFaq]:
        """An item's entries in creation order (ids are UUIDv7, so id order is time order)."""
        query = select(FaqRow).where(FaqRow.basic_code == basic_code)
        if after is not None:
            query = query.where(FaqRow.id > after)
        query = query.order_by(FaqRow.id)
        if limit is not None:
            query = query.limit(limit)
        return [faq_from_row(r) for r in await self.session.scalars(query)]

    async def by_ids(self, ids: Sequence[str]) -> dict[str, StoredFaq]:
        """Entries by id."""
        if not ids:
            return {}
        return {
            r.id: faq_from_row(r)
            for r in await self.session.scalars(select(FaqRow).where(FaqRow.id.in_(ids)))
        }
