"""The six provider systems the sandbox plays, and the fields each offers (the hub's dev seed uses them)."""

from __future__ import annotations

from dataclasses import dataclass

from tongban_kit.identifiers import uscc_check_char

from data_exchange_svc.domain.model import DataDomain, FieldKind, FieldSpec, Mode, Sensitivity

K, S = FieldKind, Sensitivity


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider system: who runs it, its domain and its fields."""

    code: str
    name: str
    provider_name: str
    provider_uscc: str
    domain: DataDomain
    fields: tuple[FieldSpec, ...]
    supports: frozenset[Mode] = frozenset({Mode.SHARE, Mode.VERIFY})
    adults_only: bool = False

    def field_names(self) -> list[str]:
        """Names of the fields."""
        return [f.name for f in self.fields]


_PERSON = (
    FieldSpec("name", "姓名", K.NAME, S.PERSONAL),
    FieldSpec("id_number", "公民身份号码", K.ID_NUMBER, S.SENSITIVE),
)

PROVIDERS: dict[str, ProviderSpec] = {
    p.code: p
    for p in (
        ProviderSpec(
            code="household-registration",
            name="全国人口基础信息库（户籍）",
            provider_name="公安部",
            provider_uscc=_uscc("11100000000013127"),
            domain=DataDomain.HOUSEHOLD_REGISTRATION,
            fields=(
                *_PERSON,
                FieldSpec("gender", "性别", K.CODE, S.PERSONAL),
                FieldSpec("ethnicity", "民族", K.TEXT, S.SENSITIVE),
                FieldSpec("birth_date", "出生日期", K.DATE, S.PERSONAL),
                FieldSpec("household_address", "户籍地址", K.ADDRESS, S.PERSONAL),
                FieldSpec("household_type", "户别", K.CODE, S.INTERNAL),
                FieldSpec("household_head_name", "户主姓名", K.NAME, S.PERSONAL),
                FieldSpec("relation_to_head", "与户主关系", K.CODE, S.PERSONAL),
                FieldSpec("marital_status", "婚姻状况", K.CODE, S.PERSONAL),
                FieldSpec("education", "文化程度", K.CODE, S.PERSONAL),
                FieldSpec("registration_authority", "登记机关", K.TEXT, S.PUBLIC),
                FieldSpec("registered_since", "本址落户日期", K.DATE, S.PERSONAL),
            ),
        ),
        ProviderSpec(
            code="social-insurance",
            name="全国社会保险公共服务平台（参保信息）",
            provider_name="人力资源和社会保障部",
            provider_uscc=_uscc("11100000000014182"),
            domain=DataDomain.SOCIAL_INSURANCE,
            adults_only=True,
            fields=(
                *_PERSON,
                FieldSpec("insured_region", "参保地", K.CODE, S.PERSONAL),
                FieldSpec("pension_status", "养老保险参保状态", K.CODE, S.PERSONAL),
                FieldSpec("pension_contribution_months", "养老保险累计缴费月数", K.NUMBER, S.PERSONAL),
                FieldSpec("pension_first_contribution", "养老保险首次参保日期", K.DATE, S.PERSONAL),
                FieldSpec("unemployment_insurance_status", "失业保险参保状态", K.CODE, S.PERSONAL),
                FieldSpec("work_injury_insurance_status", "工伤保险参保状态", K.CODE, S.PERSONAL),
                FieldSpec("employer_name", "参保单位名称", K.TEXT, S.PERSONAL),
                FieldSpec("employer_uscc", "参保单位统一社会信用代码", K.CODE, S.INTERNAL),
                FieldSpec("contribution_base", "月缴费基数（元）", K.NUMBER, S.SENSITIVE),
                FieldSpec("last_contribution_month", "最近缴费年月", K.DATE, S.PERSONAL),
            ),
        ),
        ProviderSpec(
            code="housing-fund",
            name="全国住房公积金监管服务平台",
            provider_name="住房和城乡建设部",
            provider_uscc=_uscc("11100000000019713"),
            domain=DataDomain.HOUSING,
            adults_only=True,
            fields=(
                *_PERSON,
                FieldSpec("account_number", "个人公积金账号", K.CODE, S.SENSITIVE),
                FieldSpec("account_status", "账户状态", K.CODE, S.PERSONAL),
                FieldSpec("employer_name", "缴存单位", K.TEXT, S.PERSONAL),
                FieldSpec("monthly_deposit", "月缴存额（元）", K.NUMBER, S.SENSITIVE),
                FieldSpec("balance", "账户余额（元）", K.NUMBER, S.SENSITIVE),
                FieldSpec("open_date", "开户日期", K.DATE, S.PERSONAL),
                FieldSpec("last_deposit_month", "最近缴存年月", K.DATE, S.PERSONAL),
                FieldSpec("loan_status", "公积金贷款状态", K.CODE, S.SENSITIVE),
                FieldSpec("deposit_city", "缴存地", K.TEXT, S.PERSONAL),
            ),
        ),
        ProviderSpec(
            code="medical-insurance",
            name="国家医疗保障信息平台（参保信息）",
            provider_name="国家医疗保障局",
            provider_uscc=_uscc("11100000MB0314536"),
            domain=DataDomain.MEDICAL,
            fields=(
                *_PERSON,
                FieldSpec("insurance_type", "险种类型", K.CODE, S.PERSONAL),
                FieldSpec("insured_region", "参保地", K.CODE, S.PERSONAL),
                FieldSpec("insurance_status", "参保状态", K.CODE, S.PERSONAL),
                FieldSpec("start_date", "参保日期", K.DATE, S.PERSONAL),
                FieldSpec("contribution_months", "累计缴费月数", K.NUMBER, S.PERSONAL),
                FieldSpec("medical_card_number", "医保卡号", K.CODE, S.SENSITIVE),
                FieldSpec("remote_care_filing", "异地就医备案", K.CODE, S.SENSITIVE),
            ),
        ),
        ProviderSpec(
            code="tax",
            name="个人所得税纳税记录",
            provider_name="国家税务总局",
            provider_uscc=_uscc("11100000000013391"),
            domain=DataDomain.TAX,
            adults_only=True,
            fields=(
                *_PERSON,
                FieldSpec("tax_year", "纳税年度", K.NUMBER, S.PUBLIC),
                FieldSpec("annual_income", "年度综合所得收入额（元）", K.NUMBER, S.SENSITIVE),
                FieldSpec("tax_paid", "已缴税额（元）", K.NUMBER, S.SENSITIVE),
                FieldSpec("withholding_agent", "扣缴义务人", K.TEXT, S.PERSONAL),
                FieldSpec("withholding_agent_uscc", "扣缴义务人统一社会信用代码", K.CODE, S.INTERNAL),
                FieldSpec("taxpayer_status", "纳税人状态", K.CODE, S.PERSONAL),
            ),
        ),
        ProviderSpec(
            code="employment",
            name="全国就业信息资源库",
            provider_name="人力资源和社会保障部",
            provider_uscc=_uscc("11100000000014182"),
            domain=DataDomain.EMPLOYMENT,
            adults_only=True,
            fields=(
                *_PERSON,
                FieldSpec("employment_status", "就业状态", K.CODE, S.PERSONAL),
                FieldSpec("employer_name", "就业单位", K.TEXT, S.PERSONAL),
                FieldSpec("employment_start", "就业登记日期", K.DATE, S.PERSONAL),
                FieldSpec("occupation", "职业", K.TEXT, S.PERSONAL),
                FieldSpec("unemployment_registered", "是否办理失业登记", K.BOOLEAN, S.PERSONAL),
                FieldSpec("employment_certificate_no", "就业创业证编号", K.CODE, S.PERSONAL),
                FieldSpec("registered_region", "登记地", K.CODE, S.PERSONAL),
            ),
        ),
    )
}
