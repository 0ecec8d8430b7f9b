"""Reference data and envelope helpers of the contracts package."""

from tongban_contracts import topics
from tongban_contracts.envelope import dataschema_for, event_type, source_for
from tongban_contracts.reference import ITEM_TYPE_LABELS, PROVINCES, ItemType, is_province


def test_thirty_one_province_level_regions() -> None:
    assert len(PROVINCES) == 31
    assert all(len(code) == 6 and code.endswith("0000") for code in PROVINCES)
    assert PROVINCES["440000"] == "广东省"
    assert is_province("110000")
    assert not is_province("110100")


def test_every_item_type_has_its_chinese_label() -> None:
    assert set(ITEM_TYPE_LABELS) == set(ItemType)
    assert ITEM_TYPE_LABELS[ItemType.LICENSING] == "行政许可"


def test_names_follow_the_design() -> None:
    assert event_type("case", "deadline-warning") == "cn.gov.tongban.case.deadline-warning.v1"
    assert source_for("eseal") == "urn:tongban:eseal"
    assert dataschema_for("cn.gov.tongban.case.submitted.v1").endswith("cn.gov.tongban.case.submitted.v1")
    assert all(t.startswith("tongban.") and t.endswith(".v1") for t in topics.ALL_TOPICS)
    assert topics.ALL_TOPICS[topics.CATALOGUE_ITEMS] == {"cleanup.policy": "compact"}
