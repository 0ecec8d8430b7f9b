"""Region implementations (实施清单) against the national item, and FAQ entries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from catalogue_svc.domain.errors import (
    InvalidFaq,
    InvalidImplementation,
    ModeNotOffered,
    NotPublished,
    PromisedLimitExceedsStatutory,
    UnknownJointRole,
)
from catalogue_svc.domain.events import RegionImplementationChanged
from catalogue_svc.domain.model import (
    Item,
    ItemContent,
    RegionImplementation,
    implement_region,
    parse_faq,
    parse_region_implementation,
)

CODE = "XK00003000"
USCC = "11440000TB0303002Q"


def impl_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "basic_code": CODE,
        "region": "440000",
        "implementation_code": f"{USCC}{CODE}001",
        "handling_org": {"name": "广东省公安厅", "uscc": USCC},
        "address": "广东省政务服务中心“跨省通办”专窗",
        "hours": "工作日 9:00-17:00",
        "modes": ["joint"],
        "joint_roles": ["move_in", "move_out"],
        "promised_limit_days": 8,
    }
    data.update(overrides)
    return data


def test_uscc_fixture_is_valid() -> None:
    assert parse_region_implementation(impl_data()).handling_org.uscc == USCC


def test_conforming_implementation_passes(content: ItemContent) -> None:
    impl = parse_region_implementation(impl_data())
    impl.check_against(content)
    assert impl.conformance_errors(content) == []
    assert impl.key == "XK00003000/440000"


def test_promised_limit_equal_to_statutory_is_allowed(content: ItemContent) -> None:
    parse_region_implementation(impl_data(promised_limit_days=20)).check_against(content)


def test_promised_limit_above_statutory_is_refused_with_a_clear_message(content: ItemContent) -> None:
    impl = parse_region_implementation(impl_data(promised_limit_days=25))
    with pytest.raises(PromisedLimitExceedsStatutory) as info:
        impl.check_against(content)
    message = info.value.detail
    assert "25" in message and "20" in message and "440000" in message and CODE in message
    assert info.value.code == "promised_limit_exceeds_statutory"
    assert [e.field for e in info.value.errors] == ["promised_limit_days"]


def test_region_modes_must_be_a_subset_of_the_items(content: ItemContent) -> None:
    impl = parse_region_implementation(impl_data(modes=["online", "joint"]))
    with pytest.raises(ModeNotOffered, match="online"):
        impl.check_against(content)
    parse_region_implementation(impl_data(modes=["proxy"], joint_roles=[])).check_against(content)


def test_region_joint_roles_must_be_the_items(content: ItemContent) -> None:
    impl = parse_region_implementation(impl_data(joint_roles=["move_in", "referee"]))
    with pytest.raises(UnknownJointRole, match="referee"):
        impl.check_against(content)


def test_all_departures_are_reported_at_once(content: ItemContent) -> None:
    impl = parse_region_implementation(impl_data(promised_limit_days=30, modes=["online", "joint"]))
    assert len(impl.conformance_errors(content)) == 2
    with pytest.raises(PromisedLimitExceedsStatutory) as info:
        impl.check_against(content)
    assert {e.field for e in info.value.errors} == {"promised_limit_days", "modes"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"region": "440100"}, "region"),
        ({"region": "999999"}, "region"),
        ({"handling_org": {"name": "x", "uscc": USCC[:-1] + "0"}}, "handling_org.uscc"),
        ({"implementation_code": f"11110000TB0101005X{CODE}001"}, "__root__"),
        ({"basic_code": "XK3000"}, "basic_code"),
        ({"modes": []}, "modes"),
        ({"joint_roles": []}, "__root__"),
        ({"modes": ["proxy"]}, "__root__"),
        ({"promised_limit_days": -1}, "promised_limit_days"),
        ({"illustrative": ["colour"]}, "illustrative"),
        ({"phone": "12345"}, "phone"),
    ],
)
def test_malformed_implementations_are_refused(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidImplementation) as info:
        parse_region_implementation(impl_data(**overrides))
    assert field in {e.field for e in info.value.errors}


def test_implement_region_needs_the_published_version_in_force(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    with pytest.raises(NotPublished):
        implement_region(item.latest, impl_data(), now=t0)
    version = item.publish(now=t0 + timedelta(days=1))
    event = implement_region(version, impl_data(), now=t0 + timedelta(days=2))
    assert isinstance(event, RegionImplementationChanged)
    assert event.key == "XK00003000/440000" and event.item_version == 1
    assert isinstance(event.implementation, RegionImplementation)
    with pytest.raises(PromisedLimitExceedsStatutory):
        implement_region(version, impl_data(promised_limit_days=21), now=t0 + timedelta(days=2))
    item.retire(now=t0 + timedelta(days=3))
    with pytest.raises(NotPublished):
        implement_region(item.latest, impl_data(), now=t0 + timedelta(days=4))


def test_implement_region_refuses_another_items_implementation(content: ItemContent, t0: datetime) -> None:
    item = Item.create(CODE, content, now=t0)
    version = item.publish(now=t0)
    other = impl_data(basic_code="XK00003001", implementation_code=f"{USCC}XK00003001001")
    with pytest.raises(InvalidImplementation, match="XK00003001"):
        implement_region(version, other, now=t0)


def test_faq_entries_are_validated_and_tags_normalised() -> None:
    faq = parse_faq(
        {"question": " 要回户籍地吗？ ", "answer": "不需要。", "tags": ["户口", "一站式", "户口"]}
    )
    assert faq.question == "要回户籍地吗？"
    assert faq.tags == ("一站式", "户口")
    with pytest.raises(InvalidFaq):
        parse_faq({"question": "", "answer": "x"})
    with pytest.raises(InvalidFaq):
        parse_faq({"question": "q", "answer": "a" * 5001})
    with pytest.raises(InvalidFaq):
        parse_faq({"question": "q", "answer": "a", "tags": ["x" * 33]})
