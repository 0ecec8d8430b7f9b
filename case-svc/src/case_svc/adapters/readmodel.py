"""The catalogue read model: item versions and region implementations built from catalogue events."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_kit.db import utcnow

from case_svc.adapters.orm import ItemRow, RegionOfferRow
from case_svc.domain.items import CatalogueItem, RegionOffer, parse_item, parse_region_offer


def _revision(data: dict[str, Any]) -> int:
    """The catalogue's revision of a region implementation within one item version (0 if absent)."""
    value = data.get("revision")
    return value if isinstance(value, int) else 0


class ItemStore:
    """Reads and writes the local copy of what the catalogue publishes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, basic_code: str) -> CatalogueItem | None:
        """The latest published version, or None when unknown or retired."""
        row = (
            await self.session.execute(
                select(ItemRow)
                .where(ItemRow.basic_code == basic_code)
                .order_by(ItemRow.version.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is None:
            return None
        item = parse_item(row.data)
        if row.retired:
            return dataclasses.replace(item, retired=True)
        return item

    async def version(self, basic_code: str, version: int) -> CatalogueItem | None:
        """One pinned version."""
        row = await self.session.get(ItemRow, (basic_code, version))
        return parse_item(row.data) if row is not None else None

    async def offer(self, basic_code: str, region: str) -> RegionOffer | None:
        """A region's implementation of an item."""
        row = await self.session.get(RegionOfferRow, (basic_code, region))
        return parse_region_offer(row.data) if row is not None else None

    async def put_item(self, data: dict[str, Any]) -> CatalogueItem:
        """Store a published version (idempotent: the same version is overwritten with the same data)."""
        item = parse_item(data)
        row = await self.session.get(ItemRow, (item.basic_code, item.version))
        if row is None:
            self.session.add(ItemRow(basic_code=item.basic_code, version=item.version, data=dict(data)))
        else:
            row.data = dict(data)
            row.received_at = utcnow()
        return item

    async def retire(self, basic_code: str, version: int) -> None:
        """Mark a version retired (no new cases may be filed under it)."""
        await self.session.execute(
            update(ItemRow)
            .where(ItemRow.basic_code == basic_code, ItemRow.version <= version)
            .values(retired=True)
            .execution_options(synchronize_session=False)
        )

    async def put_offer(self, data: dict[str, Any]) -> RegionOffer:
        """Store a region implementation unless a newer one is already known."""
        offer = parse_region_offer(data)
        version = int(data.get("version") or 0)
        row = await self.session.get(RegionOfferRow, (offer.basic_code, offer.region))
        if row is None:
            self.session.add(
                RegionOfferRow(
                    basic_code=offer.basic_code, region=offer.region, version=version, data=dict(data)
                )
            )
        elif (version, _revision(data)) >= (row.version, _revision(row.data)):
            row.version = version
            row.data = dict(data)
            row.received_at = utcnow()
        return offer
