"""Reference data of the catalogue: provinces, item types with code prefixes, licence types, exchange domains.

Provinces, item types, handling modes and audiences come from ``tongban_contracts.reference`` so that
every service spells them the same; this module adds what only the catalogue needs.
"""

from __future__ import annotations

from enum import StrEnum

from tongban_contracts.reference import ITEM_TYPE_LABELS, PROVINCES, Audience, HandlingMode, ItemType

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


class ExchangeDomain(StrEnum):
    """Data domains of the data-exchange hub a material can be fetched from instead of uploaded."""

    MEDICAL = "medical"
    PENSION = "pension"
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    SOCIAL_INSURANCE = "social-insurance"
    HOUSEHOLD_REGISTRATION = "household-registration"
    TAX = "tax"


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
LICENCE_TYPES: dict[str, str] = {
    "resident_id_card": "居民身份证",
    "household_register": "居民户口簿",
    "household_registration_proof": "户籍证明",
    "residence_permit": "居住证",
    "social_security_card": "社会保障卡",
    "marriage_certificate": "结婚证",
    "birth_medical_certificate": "出生医学证明",
    "business_licence": "营业执照",
    "motor_vehicle_driving_licence": "机动车驾驶证",
    "academic_certificate": "学历证书",
    "vocational_qualification_certificate": "职业资格证书",
    "employment_registration_certificate": "就业创业证",
    "notarial_certificate": "公证书",
    "real_estate_title_certificate": "不动产权证书",
    "real_estate_registration_certificate": "不动产登记证明",
    "industrial_product_production_licence": "全国工业产品生产许可证",
    "pollutant_discharge_permit": "排污许可证",
    "retirement_certificate": "退休证",
}
