"""Synthetic but realistic records, derived deterministically from a resident identity number.

Any valid identity number has a person behind it: birth date, sex and home county come from the
number itself, the rest from a generator seeded with it, so every provider tells the same story
about the same person. Children have no social-insurance, housing-fund, tax or employment record,
and some adults have no housing fund, so "not found" happens naturally.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from tongban_kit.identifiers import (
    InvalidIdentifier,
    resident_id_check_digit,
    uscc_check_char,
    validate_resident_id,
)

TODAY = date(2026, 11, 27)  # fixed, so records never drift between runs

COUNTIES: dict[str, str] = {
    "110101": "北京市东城区",
    "110105": "北京市朝阳区",
    "110108": "北京市海淀区",
    "310101": "上海市黄浦区",
    "310104": "上海市徐汇区",
    "310115": "上海市浦东新区",
    "440103": "广东省广州市荔湾区",
    "440106": "广东省广州市天河区",
    "440304": "广东省深圳市福田区",
    "320102": "江苏省南京市玄武区",
    "320506": "江苏省苏州市吴中区",
    "330106": "浙江省杭州市西湖区",
    "330212": "浙江省宁波市鄞州区",
    "510104": "四川省成都市锦江区",
    "510107": "四川省成都市武侯区",
    "420106": "湖北省武汉市武昌区",
    "430102": "湖南省长沙市芙蓉区",
    "370102": "山东省济南市历下区",
    "410105": "河南省郑州市金水区",
    "500103": "重庆市渝中区",
}
PROVINCE_NAMES = {
    "11": "北京市",
    "31": "上海市",
    "44": "广东省",
    "32": "江苏省",
    "33": "浙江省",
    "51": "四川省",
    "42": "湖北省",
    "43": "湖南省",
    "37": "山东省",
    "41": "河南省",
    "50": "重庆市",
}
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华"
    "玉萍红娥玲芬燕彬鹏辉建国志强晓东海波宇浩然子涵梓萱欣怡佳琪"
)
ETHNICITIES = ["汉族"] * 46 + ["回族", "满族", "壮族", "土家族"]
STREETS = [
    "人民",
    "解放",
    "建设",
    "中山",
    "和平",
    "新华",
    "胜利",
    "友谊",
    "长江",
    "黄河",
    "文化",
    "春熙",
    "体育",
    "南京",
]
EMPLOYERS = [
    "科技",
    "贸易",
    "建设工程",
    "物流",
    "餐饮管理",
    "教育咨询",
    "医药",
    "电子商务",
    "机械制造",
    "文化传媒",
]
OCCUPATIONS = [
    "软件工程师",
    "会计",
    "教师",
    "护士",
    "销售代表",
    "司机",
    "厨师",
    "电工",
    "行政文员",
    "设计师",
    "个体经营者",
]
EDUCATION = ["小学", "初中", "高中", "中专", "大学专科", "大学本科", "研究生"]


def county_name(code: str) -> str:
    """The county (district) a six-digit code stands for, or its province when unknown here."""
    return COUNTIES.get(code) or PROVINCE_NAMES.get(code[:2], "某省") + "某区"


def make_resident_id(county: str, birth: date, sequence: int) -> str:
    """A resident identity number with its GB 11643 check digit."""
    first17 = f"{county}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_digit(first17)


def population(count: int, seed: str = "tongban-sandbox") -> list[str]:
    """The listed synthetic subjects: ``count`` identity numbers, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    out: list[str] = []
    counties = sorted(COUNTIES)
    while len(out) < count:
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 56))
        rid = make_resident_id(rng.choice(counties), birth, rng.randrange(1, 1000))
        if rid not in out:
            out.append(rid)
    return out


def _uscc(rng: random.Random, region: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91" + region + "".join(rng.choice(alphabet) for _ in range(9))
    return first17 + uscc_check_char(first17)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _month(d: date) -> str:
    return f"{d:%Y-%m}"


class Person:
    """Everything the six providers know about one person, generated on first use."""

    def __init__(self, resident_id: str) -> None:
        rid = validate_resident_id(resident_id)
        self.resident_id = rid
        self.county = rid[:6]
        self.birth = date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
        self.male = int(rid[16]) % 2 == 1
        rng = random.Random(f"person:{rid}")  # noqa: S311 - synthetic data
        self.rng = rng
        self.name = _name(rng)
        self.age = (TODAY - self.birth).days // 365
        self.employer = (
            f"{county_name(self.county)[:3].rstrip('省市')}{rng.choice(('华', '新', '恒', '盛', '达'))}"
        )
        self.employer += f"{rng.choice(('信', '通', '远', '泰', '源'))}{rng.choice(EMPLOYERS)}有限公司"
        self.employer_uscc = _uscc(rng, self.county)
        self.work_start = max(
            self.birth + timedelta(days=365 * 18 + rng.randrange(0, 365 * 6)), date(1985, 1, 1)
        )
        self.retired = self.age >= (60 if self.male else 55)
        self.employed = not self.retired and rng.random() < 0.85
        self.has_housing_fund = self.age >= 18 and rng.random() < 0.7

    def records(self) -> dict[str, dict[str, Any] | None]:
        """The record at every provider (None: that provider has no record of this person)."""
        rng = self.rng
        adult = self.age >= 16
        base = {"name": self.name, "id_number": self.resident_id}
        county = county_name(self.county)
        married = self.age >= 24 and rng.random() < 0.75
        head_is_self = not married or self.male or rng.random() < 0.3
        household = {
            **base,
            "gender": "男" if self.male else "女",
            "ethnicity": rng.choice(ETHNICITIES),
            "birth_date": self.birth.isoformat(),
            "household_address": f"{county}{rng.choice(STREETS)}路{rng.randrange(1, 300)}号"
            f"{rng.randrange(1, 30)}栋{rng.randrange(1, 30)}0{rng.randrange(1, 6)}室",
            "household_type": "家庭户" if rng.random() < 0.9 else "集体户",
            "household_head_name": self.name if head_is_self else _name(rng),
            "relation_to_head": "户主" if head_is_self else ("配偶" if married else "子女"),
            "marital_status": ("已婚" if married else "未婚") if self.age >= 20 else "未婚",
            "education": rng.choice(EDUCATION[2:] if adult else EDUCATION[:2]),
            "registration_authority": f"{county}公安分局{rng.choice(STREETS)}派出所",
            "registered_since": (
                self.birth + timedelta(days=rng.randrange(0, max(1, (TODAY - self.birth).days)))
            ).isoformat(),
        }
        if not adult:
            return {"household-registration": household, "medical-insurance": self._medical(base)}
        months = max(0, (TODAY.year - self.work_start.year) * 12 + TODAY.month - self.work_start.month)
        paid = int(months * rng.uniform(0.6, 1.0))
        last = (
            TODAY.replace(day=1) - timedelta(days=1)
            if self.employed
            else self.work_start + timedelta(days=30 * paid)
        )
        base_pay = rng.randrange(4000, 30000, 100)
        social = {
            **base,
            "insured_region": self.county[:4] + "00",
            "pension_status": "参保缴费" if self.employed else ("领取待遇" if self.retired else "暂停缴费"),
            "pension_contribution_months": paid,
            "pension_first_contribution": self.work_start.isoformat(),
            "unemployment_insurance_status": "参保缴费" if self.employed else "终止参保",
            "work_injury_insurance_status": "参保缴费" if self.employed else "终止参保",
            "employer_name": self.employer if self.employed else None,
            "employer_uscc": self.employer_uscc if self.employed else None,
            "contribution_base": base_pay,
            "last_contribution_month": _month(min(last, TODAY)),
        }
        out: dict[str, dict[str, Any] | None] = {
            "household-registration": household,
            "social-insurance": social,
            "medical-insurance": self._medical(base),
            "housing-fund": None,
            "tax": None,
            "employment": {
                **base,
                "employment_status": "就业" if self.employed else ("退休" if self.retired else "失业"),
                "employer_name": self.employer if self.employed else None,
                "employment_start": self.work_start.isoformat(),
                "occupation": rng.choice(OCCUPATIONS),
                "unemployment_registered": not self.employed and not self.retired,
                "employment_certificate_no": f"{self.county}{rng.randrange(10**9, 10**10)}",
                "registered_region": self.county,
            },
        }
        if self.has_housing_fund:
            deposit = round(base_pay * rng.choice((0.05, 0.07, 0.1, 0.12)) * 2)
            out["housing-fund"] = {
                **base,
                "account_number": f"{self.county[:4]}{rng.randrange(10**11, 10**12)}",
                "account_status": "正常" if self.employed else "封存",
                "employer_name": self.employer,
                "monthly_deposit": deposit,
                "balance": round(deposit * paid * rng.uniform(0.2, 0.6), 2),
                "open_date": self.work_start.isoformat(),
                "last_deposit_month": _month(min(last, TODAY)),
                "loan_status": rng.choice(("无贷款", "无贷款", "还款中", "已结清")),
                "deposit_city": county[:6],
            }
        if self.employed or rng.random() < 0.3:
            income = base_pay * 12 + rng.randrange(0, 50000, 100)
            taxable = max(0, income - 60000 - rng.choice((0, 12000, 24000, 36000)))
            out["tax"] = {
                **base,
                "tax_year": TODAY.year - 1,
                "annual_income": income,
                "tax_paid": round(_iit(taxable), 2),
                "withholding_agent": self.employer if self.employed else None,
                "withholding_agent_uscc": self.employer_uscc if self.employed else None,
                "taxpayer_status": "正常",
            }
        return out

    def _medical(self, base: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        employee = self.age >= 18 and (self.employed or self.retired)
        start = self.work_start if employee else self.birth + timedelta(days=rng.randrange(0, 365))
        return {
            **base,
            "insurance_type": "职工基本医疗保险" if employee else "城乡居民基本医疗保险",
            "insured_region": self.county[:4] + "00",
            "insurance_status": "参保" if rng.random() < 0.95 else "暂停",
            "start_date": start.isoformat(),
            "contribution_months": max(0, (TODAY.year - start.year) * 12 + TODAY.month - start.month),
            "medical_card_number": f"{self.county[:2]}{rng.randrange(10**13, 10**14)}",
            "remote_care_filing": "已备案" if rng.random() < 0.15 else "未备案",
        }


def _iit(taxable: float) -> float:
    """Annual individual income tax on comprehensive income (the 2019 seven-bracket table)."""
    brackets = (
        (36000, 0.03, 0),
        (144000, 0.10, 2520),
        (300000, 0.20, 16920),
        (420000, 0.25, 31920),
        (660000, 0.30, 52920),
        (960000, 0.35, 85920),
        (float("inf"), 0.45, 181920),
    )
    for limit, rate, deduction in brackets:
        if taxable <= limit:
            return taxable * rate - deduction
    return 0.0  # unreachable: the last bracket has no limit


class RecordStore:
    """Records by provider and identity number, generated lazily and cached."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._cache: dict[str, dict[str, dict[str, Any] | None]] = {}

    def lookup(self, provider: str, resident_id: str) -> dict[str, Any] | None:
        """The provider's record of the person, or None."""
        try:
            rid = validate_resident_id(resident_id)
        except InvalidIdentifier:
            return None
        records = self._cache.get(rid)
        if records is None:
            if len(self._cache) >= self.capacity:
                self._cache.clear()
            records = Person(rid).records()
            self._cache[rid] = records
        return records.get(provider)
