"""Builders of catalogue items, submissions and cases for case-svc tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from case_svc.domain.items import CatalogueItem, RegionOffer, parse_item, parse_region_offer
from case_svc.domain.model import (
    Actor,
    Applicant,
    Case,
    Delivery,
    DeliveryMethod,
    MaterialRef,
    MaterialSource,
    Submission,
)
from tongban_contracts.reference import Audience, HandlingMode

RECEIVING = "440000"  # 广东 receives
HANDLING = "110000"  # 北京 decides
PARTICIPANT_A = "310000"  # 上海: a joint role
PARTICIPANT_B = "320000"  # 江苏: another joint role
STRANGER = "510000"  # 四川 takes no part
BASIC_CODE = "XK-000123-01"
NOW = datetime(2026, 9, 24, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Beijing time
_ids = itertools.count(1)


def item_payload(**overrides: Any) -> dict[str, Any]:
    """An item-published payload as catalogue-svc sends it."""
    data: dict[str, Any] = {
        "basic_code": BASIC_CODE,
        "version": 3,
        "name": "异地就医结算备案",
        "item_type": "confirmation",
        "audience": ["natural_person", "legal_person"],
        "modes": ["online", "proxy", "joint"],
        "materials": [
            {
                "code": "M01",
                "name": "身份证",
                "required": True,
                "condition": None,
                "licence_types": ["ID_CARD"],
                "exchange_fetchable": False,
                "exchange_domain": None,
            },
            {
                "code": "M02",
                "name": "参保证明",
                "required": True,
                "condition": None,
                "licence_types": [],
                "exchange_fetchable": True,
                "exchange_domain": "social-insurance",
            },
            {
                "code": "M03",
                "name": "委托书",
                "required": True,
                "condition": "代办时提供",
                "licence_types": [],
                "exchange_fetchable": False,
                "exchange_domain": None,
            },
        ],
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "suspension": {"allowed": True, "max_days": 30},
        "extension": {"allowed": True, "max_days": 10},
        "joint_roles": {"review": "资格审核", "archive": "档案转出"},
        "result": {"type": "licence", "licence_type": "MED_FILING"},
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_to": None,
        "status": "published",
    }
    data.update(overrides)
    return data


def offer_payload(region: str = HANDLING, **overrides: Any) -> dict[str, Any]:
    """A region-implementation-changed payload."""
    data: dict[str, Any] = {
        "basic_code": BASIC_CODE,
        "region": region,
        "implementation_code": f"{BASIC_CODE}-{region}",
        "modes": ["online", "proxy", "joint"],
        "promised_limit_days": 10,
        "handling_org": {"name": "医保局", "uscc": "11110000000000000X"},
        "version": 1,
    }
    data.update(overrides)
    return data


def item(**overrides: Any) -> CatalogueItem:
    """A parsed catalogue item."""
    return parse_item(item_payload(**overrides))


def offer(region: str = HANDLING, **overrides: Any) -> RegionOffer:
    """A parsed region offer."""
    return parse_region_offer(offer_payload(region, **overrides))


def submission(mode: HandlingMode = HandlingMode.PROXY, **overrides: Any) -> Submission:
    """A valid submission in the given mode."""
    values: dict[str, Any] = {
        "mode": mode,
        "receiving_region": RECEIVING,
        "handling_region": HANDLING,
        "applicant": Applicant(Audience.NATURAL_PERSON, "张三", "ab" * 32, "110101********4477"),
        "materials": (
            MaterialRef("M01", MaterialSource.LICENCE, licence_id="LIC-1"),
            MaterialRef("M02", MaterialSource.FILE, sha256="0" * 64, file_name="a.pdf"),
        ),
        "delivery": Delivery(DeliveryMethod.ELECTRONIC),
        "participants": {"review": PARTICIPANT_A, "archive": PARTICIPANT_B}
        if mode == HandlingMode.JOINT
        else {},
    }
    values.update(overrides)
    return Submission(**values)


def actor(region: str | None) -> Actor:
    """A platform actor of a region."""
    return Actor(client_id=f"platform-{region}", region=region)


def new_case(mode: HandlingMode = HandlingMode.PROXY, now: datetime = NOW, **item_overrides: Any) -> Case:
    """A freshly submitted case."""
    return Case.submit(
        case_id=f"case-{next(_ids)}",
        number=f"{HANDLING}-20260924-{next(_ids):06d}",
        item=item(**item_overrides),
        offer=offer(),
        submission=submission(mode),
        actor=actor(RECEIVING),
        now=now,
        new_task_id=lambda: f"task-{next(_ids)}",
    )
