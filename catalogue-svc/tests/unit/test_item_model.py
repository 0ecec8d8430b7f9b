"""Item content validation, the version lifecycle, validity windows, events and diff."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from catalogue_svc.domain.errors import (
    DraftExists,
    InvalidBasicCode,
    InvalidItemContent,
    NoDraft,
    NotPublished,
    ValidityOverlap,
    VersionImmutable,
    VersionNotFound,
)
from catalogue_svc.domain.events import ItemPublished, ItemRetired
from catalogue_svc.domain.model import (
    FieldChange,
    Item,
    ItemContent,
    ItemVersion,
    VersionState,
    check_validity_windows,
    diff,
    parse_item_content,
)
from catalogue_svc.domain.reference import Audience, HandlingMode

CODE = "XK00003000"
Builder = Callable[..., dict[str, Any]]


def error_codes(exc: InvalidItemContent) -> set[str]:
    return {e.code for e in exc.errors}


# --- content -----------------------------------------------------------------------------------------


def test_valid_content_keeps_every_field(content: ItemContent) -> None:
    assert content.name == "户口迁移"
    assert content.legal_basis[0].article == "第十条"
    assert content.audience == (Audience.NATURAL_PERSON,)
    assert content.material("M01") is not None
    assert content.material("M01").exchange_domain == "household-registration"  # type: ignore[union-attr]
    assert content.material("M99") is None
    assert content.joint_roles == {"move_in": "迁入地", "move_out": "迁出地"}
    assert content.extension_max_days == 10


def test_sets_are_sorted_and_deduplicated(content_data: Builder) -> None:
    c = parse_item_content(
        content_data(modes=["proxy", "joint", "proxy"], audience=["legal_person", "natural_person"])
    )
    assert c.modes == (HandlingMode.JOINT, HandlingMode.PROXY)
    assert c.audience == (Audience.LEGAL_PERSON, Audience.NATURAL_PERSON)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"promised_limit_days": 21}, "promised_limit_exceeds_statutory"),
        ({"joint_roles": {"move_in": "迁入地"}}, "joint_roles_missing"),
        ({"modes": ["proxy"]}, "joint_roles_unexpected"),
        ({"extension_max_days": None}, "max_days_missing"),
        ({"suspension_max_days": 5}, "max_days_unexpected"),
        ({"illustrative": ["no_such_field"]}, "unknown_field_name"),
        ({"result": {"result_type": "licence", "name": "户口簿"}}, "licence_type_mismatch"),
        ({"modes": []}, "too_short"),
        ({"legal_basis": []}, "too_short"),
        ({"audience": ["martian"]}, "enum"),
        ({"statutory_limit_days": -1}, "greater_than_equal"),
        ({"name": ""}, "string_too_short"),
        ({"legal_basis": [{"law": "x", "url": "ftp://example"}]}, "string_pattern_mismatch"),
        ({"unknown_field": 1}, "extra_forbidden"),
    ],
)
def test_invalid_content_is_refused_with_a_field_code(
    content_data: Builder, overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(InvalidItemContent) as info:
        parse_item_content(content_data(**overrides))
    assert code in error_codes(info.value)


@pytest.mark.parametrize(
    ("material", "code"),
    [
        ({"code": "M09", "name": "x", "requirement": "conditional"}, "condition_missing"),
        ({"code": "M09", "name": "x", "requirement": "required", "condition": "y"}, "condition_unexpected"),
        ({"code": "M09", "name": "x", "requirement": "required", "originals": 0}, "no_copies"),
        (
            {"code": "M09", "name": "x", "requirement": "required", "exchange_fetchable": True},
            "exchange_domain_mismatch",
        ),
        ({"code": "M01", "name": "x", "requirement": "required"}, "duplicate_material_code"),
        ({"code": "m 9", "name": "x", "requirement": "required"}, "string_pattern_mismatch"),
        (
            {"code": "M09", "name": "x", "requirement": "required", "licence_types": ["Bad Type"]},
            "string_pattern_mismatch",
        ),
    ],
)
def test_material_rules(content_data: Builder, material: dict[str, Any], code: str) -> None:
    data = content_data()
    data["materials"] = [*data["materials"], material]
    with pytest.raises(InvalidItemContent) as info:
        parse_item_content(data)
    assert code in error_codes(info.value)


def test_content_is_immutable(content: ItemContent) -> None:
    with pytest.raises(Exception, match="frozen"):
        content.name = "x"  # type: ignore[misc]


# --- lifecycle -----------------------------------------------------------------------------------------


def test_new_item_starts_as_draft(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    assert item.draft is not None and item.draft.number == 1
    assert item.current is None
    assert item.latest.state is VersionState.DRAFT
    assert item.pull_events() == []


def test_create_refuses_bad_code_and_mismatched_type(
    content: ItemContent, content_data: Builder, t0: datetime
) -> None:
    with pytest.raises(InvalidBasicCode):
        Item.create("XK3000", content, now=t0)
    with pytest.raises(InvalidItemContent) as info:
        Item.create("GG00003000", content, now=t0)
    assert "item_type_mismatch" in error_codes(info.value)
    with pytest.raises(InvalidItemContent):
        Item.create(CODE, content_data(promised_limit_days=99), now=t0)


def test_draft_can_be_edited_before_publishing(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    edited = item.edit_draft({"promised_limit_days": 5}, now=t0 + timedelta(hours=1))
    assert edited.content.promised_limit_days == 5
    assert edited.updated_at == t0 + timedelta(hours=1)
    assert item.latest is edited


def test_invalid_edit_changes_nothing(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    before = item.latest
    with pytest.raises(InvalidItemContent):
        item.edit_draft({"bogus": 1}, now=t0)
    with pytest.raises(InvalidItemContent):
        item.edit_draft({"item_type": "public_service"}, now=t0)
    with pytest.raises(InvalidItemContent):
        item.edit_draft({"promised_limit_days": 30}, now=t0)
    assert item.latest == before


def test_publishing_freezes_the_version(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    published = item.publish(now=t0 + timedelta(days=1))
    assert published.state is VersionState.PUBLISHED
    assert published.valid_from == published.published_at == t0 + timedelta(days=1)
    assert published.valid_to is None
    with pytest.raises(VersionImmutable, match="published"):
        item.edit_draft({"name": "改名"}, now=t0 + timedelta(days=2))
    with pytest.raises(VersionImmutable):
        published.revise({"name": "改名"}, now=t0 + timedelta(days=2))
    assert item.version(1).content.name == "户口迁移"


def test_publish_without_draft_and_second_draft_are_conflicts(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    with pytest.raises(DraftExists):
        item.start_draft(now=t0)
    item.publish(now=t0 + timedelta(days=1))
    with pytest.raises(NoDraft):
        item.publish(now=t0 + timedelta(days=2))


def test_next_draft_is_edited_while_current_stays_live(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    v1 = item.publish(now=t0 + timedelta(days=1))
    draft = item.start_draft({"promised_limit_days": 8}, now=t0 + timedelta(days=2))
    assert draft.number == 2 and draft.is_draft
    assert item.current == v1
    assert item.version_at(t0 + timedelta(days=3)) == v1
    item.edit_draft({"promised_limit_days": 7}, now=t0 + timedelta(days=3))
    assert item.version(1).content.promised_limit_days == 10


def test_publishing_ends_the_predecessor_at_the_same_instant(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    item.publish(now=t0 + timedelta(days=1))
    item.start_draft({"promised_limit_days": 8}, now=t0 + timedelta(days=2))
    at = t0 + timedelta(days=5)
    v2 = item.publish(now=at)
    v1 = item.version(1)
    assert v1.valid_to == at == v2.valid_from
    assert v1.state is VersionState.PUBLISHED
    assert item.current == v2
    assert item.version_at(at - timedelta(microseconds=1)) == v1
    assert item.version_at(at) == v2
    assert item.version_at(t0) is None
    check_validity_windows(item.versions)


def test_validity_windows_never_overlap_over_many_versions(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    for day in range(1, 8):
        if item.draft is None:
            item.start_draft({"promised_limit_days": 10 - day}, now=t0 + timedelta(days=day, hours=-1))
        item.publish(now=t0 + timedelta(days=day))
    windows = [(v.valid_from, v.valid_to) for v in item.versions]
    assert len(windows) == 7
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert end == start
    assert windows[-1][1] is None
    assert sum(1 for v in item.versions if v.valid_to is None) == 1


def test_publish_not_after_predecessor_start_is_refused(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    item.publish(now=t0 + timedelta(days=1))
    item.start_draft(now=t0 + timedelta(days=1))
    with pytest.raises(ValidityOverlap):
        item.publish(now=t0 + timedelta(days=1))
    with pytest.raises(ValidityOverlap):
        item.publish(now=t0)
    assert item.draft is not None and item.version(1).valid_to is None


def test_overlapping_windows_cannot_be_rehydrated(content: ItemContent, t0: datetime) -> None:
    v1 = ItemVersion(CODE, 1, VersionState.PUBLISHED, content, t0, t0, published_at=t0, valid_from=t0)
    v2 = ItemVersion(
        CODE,
        2,
        VersionState.PUBLISHED,
        content,
        t0,
        t0,
        published_at=t0 + timedelta(days=1),
        valid_from=t0 + timedelta(days=1),
    )
    with pytest.raises(ValidityOverlap):
        Item(CODE, [v1, v2])
    closed = replace(v1, valid_to=t0 + timedelta(days=2))
    with pytest.raises(ValidityOverlap):
        Item(CODE, [closed, v2])
    ok = Item(CODE, [replace(v1, valid_to=t0 + timedelta(days=1)), v2])
    assert ok.current == v2


def test_rehydration_checks_numbering_and_draft_position(content: ItemContent, t0: datetime) -> None:
    draft = ItemVersion(CODE, 1, VersionState.DRAFT, content, t0, t0)
    with pytest.raises(ValueError, match="numbered"):
        Item(CODE, [replace(draft, number=2)])
    with pytest.raises(ValueError, match="latest"):
        Item(CODE, [draft, replace(draft, number=2)])
    with pytest.raises(ValueError, match="at least one"):
        Item(CODE, [])


def test_version_state_is_consistent(content: ItemContent, t0: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ItemVersion(CODE, 1, VersionState.DRAFT, content, t0.replace(tzinfo=None), t0)
    with pytest.raises(ValueError, match="draft"):
        ItemVersion(CODE, 1, VersionState.DRAFT, content, t0, t0, valid_from=t0)
    with pytest.raises(ValueError, match="valid_from"):
        ItemVersion(CODE, 1, VersionState.PUBLISHED, content, t0, t0)
    with pytest.raises(ValueError, match="after valid_from"):
        ItemVersion(
            CODE, 1, VersionState.PUBLISHED, content, t0, t0, published_at=t0, valid_from=t0, valid_to=t0
        )


def test_unknown_version_is_not_found(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    with pytest.raises(VersionNotFound):
        item.version(2)
    with pytest.raises(VersionNotFound):
        item.version(0)


def test_retire_closes_the_window_and_allows_reinstatement(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    with pytest.raises(NotPublished):
        item.retire(now=t0)
    item.publish(now=t0 + timedelta(days=1))
    retired = item.retire(now=t0 + timedelta(days=2))
    assert retired.state is VersionState.RETIRED
    assert retired.valid_to == retired.retired_at == t0 + timedelta(days=2)
    assert item.current is None
    assert item.version_at(t0 + timedelta(days=3)) is None
    with pytest.raises(NotPublished):
        item.retire(now=t0 + timedelta(days=3))
    with pytest.raises(VersionImmutable, match="retired"):
        item.edit_draft({"name": "x"}, now=t0 + timedelta(days=3))
    item.start_draft(now=t0 + timedelta(days=3))
    v2 = item.publish(now=t0 + timedelta(days=4))
    assert item.current == v2
    check_validity_windows(item.versions)


def test_events_carry_the_whole_version(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    item.publish(now=t0 + timedelta(days=1))
    item.start_draft({"promised_limit_days": 9}, now=t0 + timedelta(days=2))
    item.publish(now=t0 + timedelta(days=3))
    item.retire(now=t0 + timedelta(days=4))
    first, second, third = item.pull_events()
    assert isinstance(first, ItemPublished) and first.superseded_number is None
    assert isinstance(second, ItemPublished) and second.superseded_number == 1
    assert second.version.content.promised_limit_days == 9
    assert second.key == second.basic_code == CODE
    assert second.event_name == "item-published"
    assert isinstance(third, ItemRetired) and third.version.state is VersionState.RETIRED
    assert third.key == CODE
    assert item.pull_events() == []
    payload = second.version.to_json()
    assert payload["content"]["modes"] == ["joint", "proxy"]
    assert payload["valid_from"] == (t0 + timedelta(days=3)).isoformat()


# --- diff -----------------------------------------------------------------------------------------------


def test_diff_lists_changed_fields_in_declaration_order(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    item.publish(now=t0 + timedelta(days=1))
    item.start_draft({"promised_limit_days": 5, "name": "户口迁移（一站式）", "modes": ["joint"]}, now=t0)
    changes = diff(item.version(1), item.version(2))
    assert [c.field for c in changes] == ["name", "promised_limit_days", "modes"]
    assert changes[1] == FieldChange("promised_limit_days", 10, 5)
    assert changes[2] == FieldChange("modes", ["joint", "proxy"], ["joint"])


def test_diff_of_equal_content_is_empty(content: ItemContent, content_data: Builder) -> None:
    assert diff(content, content) == []
    other = parse_item_content(content_data(materials=[]))
    (change,) = diff(content, other)
    assert change.field == "materials" and change.after == [] and len(change.before) == 2
