"""Load the seed catalogue from the JSON files in ``seed/data`` and validate it through the domain model.

Layout: ``data/items/<basic_code>.json`` holds one item (content, region implementations, FAQ and
where the item comes from); ``data/organisations.json`` holds the handling organisations by
``<region>/<agency>``, which each implementation takes its name, credit code, address and hours
from. Every fact an item file does not source is listed in its ``illustrative`` fields.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from catalogue_svc.domain.codes import parse_basic_code
from catalogue_svc.domain.errors import DomainError
from catalogue_svc.domain.events import RegionImplementationChanged
from catalogue_svc.domain.model import (
    FaqEntry,
    Item,
    ItemContent,
    RegionImplementation,
    implement_region,
    parse_faq,
    parse_item_content,
    parse_region_implementation,
)


class SeedError(Exception):
    """The seed data is malformed or breaks a domain rule; the message names the file."""


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Source(_File):
    list: str
    batch: str
    note: str


class _Organisation(_File):
    region: str
    agency: str
    name: str
    uscc: str
    address: str
    hours: str


class _ImplementationEntry(_File):
    region: str
    implementation_code: str
    modes: list[str]
    joint_roles: list[str] = Field(default_factory=list)
    promised_limit_days: int
    fees: list[dict[str, Any]] = Field(default_factory=list)
    address: str | None = None
    hours: str | None = None
    illustrative: list[str] = Field(default_factory=list)


class _ItemFile(_File):
    basic_code: str
    source: _Source
    agency: str
    content: dict[str, Any]
    implementations: list[_ImplementationEntry]
    faqs: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SeedSource:
    """Where a seed item comes from: the national list, its batch and a provenance note."""

    list: str
    batch: str
    note: str


@dataclass(frozen=True, slots=True)
class SeedItem:
    """One validated seed item: national content, region implementations and FAQ."""

    basic_code: str
    content: ItemContent
    implementations: tuple[RegionImplementation, ...]
    faqs: tuple[FaqEntry, ...]
    source: SeedSource

    def materialise(self, *, now: datetime) -> tuple[Item, list[RegionImplementationChanged]]:
        """Create and publish the item at ``now`` and record its implementations (events pending)."""
        item = Item.create(self.basic_code, self.content, now=now)
        version = item.publish(now=now)
        changes = [implement_region(version, impl, now=now) for impl in self.implementations]
        return item, changes


@dataclass(frozen=True, slots=True)
class SeedData:
    """The whole seed catalogue, items ordered by basic code."""

    items: tuple[SeedItem, ...]

    def item(self, basic_code: str) -> SeedItem:
        """Return the seed item with this code, or raise KeyError."""
        for seed_item in self.items:
            if seed_item.basic_code == basic_code:
                return seed_item
        raise KeyError(basic_code)


def default_data_dir() -> Traversable:
    """The packaged seed data directory."""
    return resources.files("catalogue_svc.seed").joinpath("data")


def load_seed(data_dir: Traversable | Path | None = None) -> SeedData:
    """Read and validate every seed file; raise SeedError naming the first bad file and its problems."""
    root = default_data_dir() if data_dir is None else data_dir
    organisations = _load_organisations(root.joinpath("organisations.json"))
    items_dir = root.joinpath("items")
    files = sorted((f for f in items_dir.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    items = [_load_item(f, organisations) for f in files]
    codes = [i.basic_code for i in items]
    if len(set(codes)) != len(codes):
        raise SeedError("seed items repeat a basic code")
    return SeedData(items=tuple(items))


def _read_json(path: Traversable) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SeedError(f"{path.name}: cannot read JSON: {exc}") from exc


def _load_organisations(path: Traversable) -> dict[str, _Organisation]:
    raw = _read_json(path)
    try:
        return {key: _Organisation.model_validate(value) for key, value in raw.items()}
    except (ValidationError, AttributeError) as exc:
        raise SeedError(f"{path.name}: {exc}") from exc


def _describe(exc: DomainError) -> str:
    details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    return f"{exc.detail}" + (f" ({details})" if details else "")


def _load_item(path: Traversable, organisations: Mapping[str, _Organisation]) -> SeedItem:
    try:
        doc = _ItemFile.model_validate(_read_json(path))
    except ValidationError as exc:
        raise SeedError(f"{path.name}: {exc}") from exc
    if path.name != f"{doc.basic_code}.json":
        raise SeedError(f"{path.name}: file name must be the basic code {doc.basic_code}.json")
    try:
        parse_basic_code(doc.basic_code)
        content = parse_item_content(doc.content)
        Item.create(doc.basic_code, content, now=datetime.fromisoformat("2020-01-01T00:00:00+00:00"))
        implementations = tuple(
            _implementation(doc, entry, organisations, content) for entry in doc.implementations
        )
        faqs = tuple(parse_faq(f) for f in doc.faqs)
    except DomainError as exc:
        raise SeedError(f"{path.name}: {_describe(exc)}") from exc
    regions = [i.region for i in implementations]
    if len(set(regions)) != len(regions):
        raise SeedError(f"{path.name}: a region is implemented twice")
    return SeedItem(
        basic_code=doc.basic_code,
        content=content,
        implementations=implementations,
        faqs=faqs,
        source=SeedSource(list=doc.source.list, batch=doc.source.batch, note=doc.source.note),
    )


def _implementation(
    doc: _ItemFile,
    entry: _ImplementationEntry,
    organisations: Mapping[str, _Organisation],
    content: ItemContent,
) -> RegionImplementation:
    org = organisations.get(f"{entry.region}/{doc.agency}")
    if org is None:
        raise SeedError(f"{doc.basic_code}.json: no organisation {entry.region}/{doc.agency}")
    impl = parse_region_implementation(
        {
            "basic_code": doc.basic_code,
            "region": entry.region,
            "implementation_code": entry.implementation_code,
            "handling_org": {"name": org.name, "uscc": org.uscc},
            "address": entry.address or org.address,
            "hours": entry.hours or org.hours,
            "modes": entry.modes,
            "joint_roles": entry.joint_roles,
            "promised_limit_days": entry.promised_limit_days,
            "fees": entry.fees,
            "illustrative": entry.illustrative,
        }
    )
    impl.check_against(content)
    return impl
