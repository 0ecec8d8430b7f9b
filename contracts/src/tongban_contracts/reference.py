"""Reference data shared by every service: GB/T 2260 provinces, item types, handling modes."""

from enum import StrEnum

PROVINCES: dict[str, str] = {
    "110000": "北京市",
    "120000": "天津市",
    "130000": "河北省",
    "140000": "山西省",
    "150000": "内蒙古自治区",
    "210000": "辽宁省",
    "220000": "吉林省",
    "230000": "黑龙江省",
    "310000": "上海市",
    "320000": "江苏省",
    "330000": "浙江省",
    "340000": "安徽省",
    "350000": "福建省",
    "360000": "江西省",
    "370000": "山东省",
    "410000": "河南省",
    "420000": "湖北省",
    "430000": "湖南省",
    "440000": "广东省",
    "450000": "广西壮族自治区",
    "460000": "海南省",
    "500000": "重庆市",
    "510000": "四川省",
    "520000": "贵州省",
    "530000": "云南省",
    "540000": "西藏自治区",
    "610000": "陕西省",
    "620000": "甘肃省",
    "630000": "青海省",
    "640000": "宁夏回族自治区",
    "650000": "新疆维吾尔自治区",
}


def is_province(code: str) -> bool:
    """Tell whether a six-digit code is one of the 31 province-level regions."""
    return code in PROVINCES


class ItemType(StrEnum):
    """事项类型: the eight national item types."""

    LICENSING = "licensing"  # 行政许可
    CONFIRMATION = "confirmation"  # 行政确认
    BENEFIT = "benefit"  # 行政给付
    ADJUDICATION = "adjudication"  # 行政裁决
    AWARD = "award"  # 行政奖励
    FILING = "filing"  # 行政备案
    OTHER = "other"  # 其他行政权力
    PUBLIC_SERVICE = "public_service"  # 公共服务


ITEM_TYPE_LABELS: dict[ItemType, str] = {
    ItemType.LICENSING: "行政许可",
    ItemType.CONFIRMATION: "行政确认",
    ItemType.BENEFIT: "行政给付",
    ItemType.ADJUDICATION: "行政裁决",
    ItemType.AWARD: "行政奖励",
    ItemType.FILING: "行政备案",
    ItemType.OTHER: "其他行政权力",
    ItemType.PUBLIC_SERVICE: "公共服务",
}


class HandlingMode(StrEnum):
    """The three cross-province handling modes."""

    ONLINE = "online"  # 全程网办
    PROXY = "proxy"  # 异地代收代办
    JOINT = "joint"  # 多地联办


class Audience(StrEnum):
    """服务对象."""

    NATURAL_PERSON = "natural_person"
    LEGAL_PERSON = "legal_person"


class ExchangeDomain(StrEnum):
    """Data domains of the data-exchange hub (a material can be fetched from one instead of uploaded)."""

    MEDICAL = "medical"
    PENSION = "pension"
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    SOCIAL_INSURANCE = "social-insurance"
    HOUSEHOLD_REGISTRATION = "household-registration"
    TAX = "tax"


# Electronic licence types (电子证照) recognised across regions; catalogue materials name them and
# eseal-svc issues them under these codes.
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
