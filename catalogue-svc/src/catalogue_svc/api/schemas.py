"""Request and response bodies of the catalogue API (the document shape of the catalogue → case contract).

Requests reject unknown fields and bound every string; the domain then applies the catalogue's
rules (promised ≤ statutory, joint roles, suspension and extension limits …) and reports every
problem at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from tongban_contracts.reference import Audience, ExchangeDomain, HandlingMode, ItemType

# Free text never holds NUL: PostgreSQL text cannot store it, and no catalogue field needs it.
NO_NUL = r"^[^\x00]*$"
Text32 = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_NUL)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Text500 = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]
Text2000 = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
Text5000 = Annotated[str, StringConstraints(min_length=1, max_length=5000, pattern=NO_NUL)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
BasicCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}\d{8}$")]
Days = Annotated[int, Field(ge=0, le=720)]
ResultType = Literal["licence", "approval", "certificate", "record", "benefit", "other"]
Status = Literal["draft", "published", "retired"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- shared parts -------------------------------------------------------------------------------


class LegalBasis(_In):
    """设定依据: a law or regulation, optionally an article and a link."""

    law: Text200
    article: Text100 | None = None
    url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://[^\s\x00]+$")] | None = None


class MaterialIn(_In):
    """申请材料: a material; conditional materials state their condition."""

    code: Code
    name: Text200
    required: bool = True
    condition: Text500 | None = None
    originals: int = Field(default=1, ge=0, le=99)
    copies: int = Field(default=0, ge=0, le=99)
    licence_types: list[Identifier] = Field(default_factory=list, max_length=20)
    exchange_fetchable: bool = False
    exchange_domain: ExchangeDomain | None = None
    description: Text500 | None = None


class ProcessStep(_In):
    """办理流程: one step."""

    name: Text100
    description: Text500 | None = None


class Allowance(_In):
    """Whether suspension or extension is allowed, and for how many working days at most."""

    allowed: bool = False
    max_days: Days | None = None


class ResultIn(_In):
    """办理结果: what the applicant receives; ``licence_type`` exactly when ``type`` is licence."""

    type: ResultType
    name: Text200
    licence_type: Identifier | None = None


class Fee(_In):
    """收费: one fee in fen (1/100 yuan)."""

    name: Text200
    amount_fen: int = Field(ge=0, le=10**10)
    basis: Text500 | None = None


class ItemContentIn(_In):
    """Every field the national standard names for an item."""

    name: Text200
    item_type: ItemType
    ministry: Text100
    legal_basis: list[LegalBasis] = Field(min_length=1, max_length=30)
    audience: list[Audience] = Field(min_length=1, max_length=2)
    acceptance_conditions: list[Text2000] = Field(min_length=1, max_length=30)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=60)
    process_steps: list[ProcessStep] = Field(min_length=1, max_length=30)
    statutory_limit_days: Days
    promised_limit_days: Days
    suspension: Allowance = Field(default_factory=Allowance)
    extension: Allowance = Field(default_factory=Allowance)
    result: ResultIn
    fees: list[Fee] = Field(default_factory=list, max_length=20)
    modes: list[HandlingMode] = Field(min_length=1, max_length=3)
    joint_roles: dict[Identifier, Text200] = Field(default_factory=dict, max_length=10)
    illustrative: list[Text32] = Field(default_factory=list, max_length=40)


class ItemCreate(ItemContentIn):
    """A new item: its basic code and the content of its first version (a draft)."""

    basic_code: BasicCode = Field(
        description="two letters of the item type, 5-digit main item, 3-digit sub-item"
    )


class ItemPatch(_In):
    """Fields of the draft to replace (top-level; a list or object is replaced as a whole)."""

    name: Text200 | None = None
    item_type: ItemType | None = None
    ministry: Text100 | None = None
    legal_basis: list[LegalBasis] | None = Field(default=None, max_length=30)
    audience: list[Audience] | None = Field(default=None, max_length=2)
    acceptance_conditions: list[Text2000] | None = Field(default=None, max_length=30)
    materials: list[MaterialIn] | None = Field(default=None, max_length=60)
    process_steps: list[ProcessStep] | None = Field(default=None, max_length=30)
    statutory_limit_days: Days | None = None
    promised_limit_days: Days | None = None
    suspension: Allowance | None = None
    extension: Allowance | None = None
    result: ResultIn | None = None
    fees: list[Fee] | None = Field(default=None, max_length=20)
    modes: list[HandlingMode] | None = Field(default=None, max_length=3)
    joint_roles: dict[Identifier, Text200] | None = Field(default=None, max_length=10)
    illustrative: list[Text32] | None = Field(default=None, max_length=40)


# --- item documents -----------------------------------------------------------------------------


class MaterialOut(_Out):
    """A material of a version."""

    code: str
    name: str
    required: bool
    condition: str | None
    originals: int
    copies: int
    licence_types: list[str]
    exchange_fetchable: bool
    exchange_domain: ExchangeDomain | None
    description: str | None


class LegalBasisOut(_Out):
    """设定依据."""

    law: str
    article: str | None
    url: str | None


class ProcessStepOut(_Out):
    """办理流程."""

    name: str
    description: str | None


class AllowanceOut(_Out):
    """Suspension or extension."""

    allowed: bool
    max_days: int | None


class ResultOut(_Out):
    """办理结果."""

    type: ResultType
    name: str
    licence_type: str | None


class FeeOut(_Out):
    """收费."""

    name: str
    amount_fen: int
    basis: str | None


class ItemVersionOut(_Out):
    """One version of an item: what case-svc checks cases against (also the item-published payload)."""

    basic_code: str
    version: int
    status: Status
    name: str
    item_type: ItemType
    ministry: str
    legal_basis: list[LegalBasisOut]
    audience: list[Audience]
    acceptance_conditions: list[str]
    materials: list[MaterialOut]
    process_steps: list[ProcessStepOut]
    statutory_limit_days: int
    promised_limit_days: int
    suspension: AllowanceOut
    extension: AllowanceOut
    result: ResultOut
    fees: list[FeeOut]
    modes: list[HandlingMode]
    joint_roles: dict[str, str]
    illustrative: list[str] = Field(description="fields whose values are illustrative, not official")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    valid_from: datetime | None
    valid_to: datetime | None = Field(description="null while the version is in force")
    retired_at: datetime | None


class ItemVersionList(_Out):
    """Every version of an item, oldest first."""

    items: list[ItemVersionOut]
    next_cursor: str | None = None


class ItemSummary(_Out):
    """An item in force, as lists show it."""

    basic_code: str
    version: int
    name: str
    item_type: ItemType
    ministry: str
    audience: list[Audience]
    modes: list[HandlingMode]
    statutory_limit_days: int
    promised_limit_days: int
    valid_from: datetime
    score: int | None = Field(description="search score when q is given (higher is better)")


class ItemPage(_Out):
    """One page of items; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[ItemSummary]
    next_cursor: str | None


class FieldChange(_Out):
    """One field that differs."""

    field: str
    before: Any
    after: Any


class ItemDiff(_Out):
    """Field-by-field difference of two versions' content."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    basic_code: str
    from_version: int = Field(alias="from")
    to_version: int = Field(alias="to")
    changes: list[FieldChange]


# --- regions ------------------------------------------------------------------------------------


class OrganisationIn(_In):
    """实施主体."""

    name: Text200
    uscc: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")]


class RegionImplementationIn(_In):
    """A province's implementation (实施清单 entry); basic code and region come from the path."""

    implementation_code: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}[A-Z]{2}\d{8}\d{3}$")] = (
        Field(description="the organisation's credit code, the basic code and a 3-digit sequence")
    )
    handling_org: OrganisationIn
    address: Text500
    hours: Text200
    modes: list[HandlingMode] = Field(min_length=1, max_length=3)
    joint_roles: list[Identifier] = Field(default_factory=list, max_length=10)
    promised_limit_days: Days = Field(description="never longer than the national statutory limit")
    fees: list[Fee] = Field(default_factory=list, max_length=20)
    illustrative: list[Text32] = Field(default_factory=list, max_length=20)


class OrganisationOut(_Out):
    """实施主体."""

    name: str
    uscc: str


class RegionImplementationOut(_Out):
    """A province's implementation of an item."""

    basic_code: str
    region: str
    implementation_code: str
    version: int = Field(description="the national version it was checked against")
    revision: int
    handling_org: OrganisationOut
    address: str
    hours: str
    modes: list[HandlingMode]
    joint_roles: list[str]
    promised_limit_days: int
    fees: list[FeeOut]
    illustrative: list[str]
    updated_at: datetime


class RegionImplementationList(_Out):
    """Every region's implementation of an item."""

    items: list[RegionImplementationOut]
    next_cursor: str | None = None


# --- FAQ and guide ------------------------------------------------------------------------------


class FaqIn(_In):
    """A question and answer for the FAQ knowledge base."""

    question: Text500
    answer: Text5000
    tags: list[Text32] = Field(default_factory=list, max_length=20)


class FaqOut(_Out):
    """One FAQ entry."""

    id: str
    basic_code: str
    question: str
    answer: str
    tags: list[str]
    created_at: datetime
    score: int | None = None


class FaqPage(_Out):
    """One page of FAQ entries."""

    items: list[FaqOut]
    next_cursor: str | None


class GuideMaterial(MaterialOut):
    """A material in the guide, with the names of the licences that replace it."""

    licence_type_names: list[str]


class GuideResult(ResultOut):
    """The result in the guide."""

    licence_type_name: str | None = None


class GuideImplementation(RegionImplementationOut):
    """The region's implementation in the guide."""

    region_name: str


class GuideOut(ItemVersionOut):
    """The service guide (办事指南): the version in force with labels, FAQ and, if asked, a region."""

    item_type_label: str
    audience_labels: list[str]
    mode_labels: list[str]
    materials: list[GuideMaterial]  # type: ignore[assignment]
    result: GuideResult
    implementation: GuideImplementation | None
    faqs: list[FaqOut]
