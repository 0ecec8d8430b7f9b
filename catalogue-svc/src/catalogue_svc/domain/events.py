"""Domain events of the catalogue, recorded by the aggregates and turned into integration events later.

Each event names its ``event_name`` (the kebab-case part of ``cn.gov.tongban.catalogue.<name>.v1``)
and its ``key``: the basic code for item events and ``basic_code/region`` for region
implementations, as the compacted catalogue topic is keyed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from catalogue_svc.domain.model import ItemVersion, RegionImplementation


@dataclass(frozen=True, slots=True)
class ItemPublished:
    """A draft became the published version in force; carries the whole version."""

    event_name: ClassVar[str] = "item-published"

    version: ItemVersion
    superseded_number: int | None
    occurred_at: datetime

    @property
    def basic_code(self) -> str:
        """The item's basic code."""
        return self.version.basic_code

    @property
    def key(self) -> str:
        """The message key on the catalogue topic."""
        return self.version.basic_code


@dataclass(frozen=True, slots=True)
class ItemRetired:
    """The item was withdrawn; carries the retired version with its closed window."""

    event_name: ClassVar[str] = "item-retired"

    version: ItemVersion
    occurred_at: datetime

    @property
    def basic_code(self) -> str:
        """The item's basic code."""
        return self.version.basic_code

    @property
    def key(self) -> str:
        """The message key on the catalogue topic."""
        return self.version.basic_code


@dataclass(frozen=True, slots=True)
class RegionImplementationChanged:
    """A province created or changed its implementation, checked against version ``item_version``."""

    event_name: ClassVar[str] = "region-implementation-changed"

    implementation: RegionImplementation
    item_version: int
    occurred_at: datetime

    @property
    def basic_code(self) -> str:
        """The item's basic code."""
        return self.implementation.basic_code

    @property
    def key(self) -> str:
        """The message key on the catalogue topic: ``basic_code/region``."""
        return self.implementation.key


DomainEvent = ItemPublished | ItemRetired | RegionImplementationChanged
