"""The document shape of the contract and the domain's shape translate into each other without loss."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from catalogue_svc.domain.model import Item, parse_item_content
from catalogue_svc.seed import SeedItem, load_seed
from catalogue_svc.service_layer.documents import (
    VERSION_META_FIELDS,
    content_changes,
    diff_documents,
    document_field,
    version_document,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("seed_item", load_seed().items, ids=lambda s: s.basic_code)
def test_document_round_trips_through_the_domain(seed_item: SeedItem) -> None:
    item, _ = seed_item.materialise(now=NOW)
    doc = version_document(item.latest)
    content = {k: v for k, v in doc.items() if k not in VERSION_META_FIELDS}
    again = parse_item_content(content_changes(content))
    assert again.model_dump(exclude={"illustrative"}) == seed_item.content.model_dump(
        exclude={"illustrative"}
    )
    rebuilt = Item.create(seed_item.basic_code, again, now=NOW)
    assert {
        k: v for k, v in version_document(rebuilt.latest).items() if k not in VERSION_META_FIELDS
    } == content


def test_illustrative_names_use_document_fields() -> None:
    seed_item = next(s for s in load_seed().items if "suspension_max_days" in s.content.illustrative)
    item, _ = seed_item.materialise(now=NOW)
    doc = version_document(item.latest)
    assert "suspension" in doc["illustrative"]
    assert "suspension_max_days" not in doc["illustrative"]


@pytest.mark.parametrize(
    ("domain", "document"),
    [
        ("suspension_max_days", "suspension.max_days"),
        ("extension_allowed", "extension.allowed"),
        ("result.result_type", "result.type"),
        ("materials.3.requirement", "materials.3.required"),
        ("materials.3.name", "materials.3.name"),
        ("name", "name"),
    ],
)
def test_domain_field_paths_are_reported_in_document_names(domain: str, document: str) -> None:
    assert document_field(domain) == document


def test_diff_ignores_metadata_and_lists_changed_fields() -> None:
    before = {"basic_code": "X", "version": 1, "status": "published", "name": "甲", "modes": ["online"]}
    after = {"basic_code": "X", "version": 2, "status": "draft", "name": "甲", "modes": ["proxy"]}
    assert diff_documents(before, after) == [{"field": "modes", "before": ["online"], "after": ["proxy"]}]
