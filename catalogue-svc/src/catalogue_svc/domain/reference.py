"""Reference data of the catalogue: provinces, item types with code prefixes, licence types, exchange domains.

Provinces, item types, handling modes and audiences come from ``tongban_contracts.reference`` so that
every service spells them the same; this module adds what only the catalogue needs.
"""

from __future__ import annotations

from enum import StrEnum

from tongban_contracts.reference import (
    ITEM_TYPE_LABELS,
    LICENCE_TYPES,
    PROVINCES,
    Audience,
    ExchangeDomain,
    HandlingMode,
    ItemType,
)

__all__ = [
    "AUDIENCE_LABELS",
    "ITEM_TYPE_CODE_PREFIXES",
    "ITEM_TYPE_LABELS",
    "LICENCE_TYPES",
    "MODE_LABELS",
    "PROVINCES",
    "Audience",
    "ExchangeDomain",
    "HandlingMode",
    "ItemType",
    "ResultType",
    "item_type_for_prefix",
]

# Two-letter prefixes of our basic-code rule (see codes.py). They follow the letters provincial
# power lists already use (e.g. XK for 行政许可 in DB52/T 1264-2018); BA for 行政备案 is our choice.
ITEM_TYPE_CODE_PREFIXES: dict[ItemType, str] = {
    ItemType.LICENSING: "XK",
    ItemType.CONFIRMATION: "QR",
    ItemType.BENEFIT: "JF",
    ItemType.ADJUDICATION: "CJ",
    ItemType.AWARD: "JL",
    ItemType.FILING: "BA",
    ItemType.OTHER: "QT",
    ItemType.PUBLIC_SERVICE: "GG",
}

_PREFIX_TO_TYPE = {prefix: item_type for item_type, prefix in ITEM_TYPE_CODE_PREFIXES.items()}

MODE_LABELS: dict[HandlingMode, str] = {
    HandlingMode.ONLINE: "全程网办",
    HandlingMode.PROXY: "异地代收代办",
    HandlingMode.JOINT: "多地联办",
}

AUDIENCE_LABELS: dict[Audience, str] = {
    Audience.NATURAL_PERSON: "自然人",
    Audience.LEGAL_PERSON: "法人",
}


def item_type_for_prefix(prefix: str) -> ItemType | None:
    """Return the item type a basic-code prefix stands for, or None."""
    return _PREFIX_TO_TYPE.get(prefix)


class ResultType(StrEnum):
    """What an item produces for the applicant (办理结果类型)."""

    LICENCE = "licence"  # 证照: an electronic licence of a registered type is issued
    APPROVAL = "approval"  # 批准文书
    CERTIFICATE = "certificate"  # 证明文件 (not an e-licence type)
    RECORD = "record"  # 登记/备案完成, a filing or registration entry
    BENEFIT = "benefit"  # 给付: money or a service is delivered
    OTHER = "other"


# Electronic licence types the seed data refers to (code → 中文名). Materials accept any code of the
# right shape, since eseal-svc registers new types at run time; this table names the common ones.
