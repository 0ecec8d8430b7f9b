"""Shared builders for the catalogue's unit tests (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from catalogue_svc.domain.model import ItemContent, parse_item_content

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def make_content_data(**overrides: Any) -> dict[str, Any]:
    """Raw data of a valid licensing item with proxy and joint handling; overrides replace fields."""
    data: dict[str, Any] = {
        "name": "户口迁移",
        "item_type": "licensing",
        "legal_basis": [{"law": "中华人民共和国户口登记条例", "article": "第十条"}],
        "ministry": "公安部",
        "audience": ["natural_person"],
        "acceptance_conditions": ["符合迁入地落户政策"],
        "materials": [
            {
                "code": "M01",
                "name": "居民户口簿",
                "requirement": "required",
                "originals": 1,
                "copies": 1,
                "licence_types": ["household_register"],
                "exchange_fetchable": True,
                "exchange_domain": "household-registration",
            },
            {"code": "M02", "name": "结婚证", "requirement": "conditional", "condition": "夫妻投靠的"},
        ],
        "process_steps": [{"name": "申请"}, {"name": "审核"}],
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "result": {"result_type": "licence", "name": "居民户口簿", "licence_type": "household_register"},
        "modes": ["proxy", "joint"],
        "joint_roles": {"move_in": "迁入地", "move_out": "迁出地"},
        "extension_allowed": True,
        "extension_max_days": 10,
    }
    data.update(overrides)
    return data


@pytest.fixture
def content_data() -> Callable[..., dict[str, Any]]:
    """A builder of raw item data."""
    return make_content_data


@pytest.fixture
def content() -> ItemContent:
    """A valid licensing item's content."""
    return parse_item_content(make_content_data())


@pytest.fixture
def t0() -> datetime:
    """A fixed, timezone-aware instant to start clocks from."""
    return T0
