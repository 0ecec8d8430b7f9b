"""Event payloads of catalogue-svc on ``tongban.catalogue.item.v1`` (one model per event type).

The topic is compacted. Item events are keyed by the basic code, region implementations by
``basic_code/region``; ``ce_subject`` equals the key and ``ce_sequence`` is the aggregate's revision
(increasing, not gap-free: draft edits raise the revision without an event, and compaction drops
superseded events anyway). ``item-published`` carries the whole published version exactly as
``GET /v1/items/{basic_code}/versions/{n}`` returns it, so a subscriber needs no call back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from tongban_contracts.events.common import Payload as _Payload
from tongban_contracts.reference import Audience, ExchangeDomain, HandlingMode, ItemType

SERVICE = "catalogue"

ResultType = Literal["licence", "approval", "certificate", "record", "benefit", "other"]
VersionStatus = Literal["draft", "published", "retired"]


class LegalBasis(_Payload):
    """设定依据: a law or regulation, optionally an article and a link to its text."""

    law: str
    article: str | None = None
    url: str | None = None


class Material(_Payload):
    """申请材料: one material the applicant supplies, or that a licence or the exchange hub replaces."""

    code: str = Field(description="unique within the item; cases name materials by it")
    name: str
    required: bool = Field(description="false when the material is needed only under `condition`")
    condition: str | None = Field(description="when a conditional material is needed; null if required")
    originals: int = Field(ge=0)
    copies: int = Field(ge=0)
    licence_types: list[str] = Field(description="electronic licence types that may replace the paper")
    exchange_fetchable: bool = Field(description="the handling region may fetch it from the exchange hub")
    exchange_domain: ExchangeDomain | None = Field(description="the hub's data domain; null if not fetchable")
    description: str | None = None


class ProcessStep(_Payload):
    """办理流程: one step, in order."""

    name: str
    description: str | None = None


class Allowance(_Payload):
    """Whether suspension (中止) or extension (延期) is allowed, and for how many working days at most."""

    allowed: bool
    max_days: int | None = Field(description="working days; null when not allowed")


class Result(_Payload):
    """办理结果: what the applicant receives, and the licence type when an e-licence is issued."""

    type: ResultType
    name: str
    licence_type: str | None = None


class Fee(_Payload):
    """收费: one fee in fen (1/100 yuan); no fees means the item is free."""

    name: str
    amount_fen: int = Field(ge=0)
    basis: str | None = None


class ItemPublished(_Payload):
    """A version of an item was published and is now in force; the whole version."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="cn.gov.tongban.catalogue.item-published.v1",
        json_schema_extra={
            "description": "A version of a national catalogue item was published and is in force from "
            "valid_from; the payload is the whole version as GET /v1/items/{basic_code}/versions/{n} "
            "returns it. Key: basic_code."
        },
    )

    basic_code: str = Field(pattern=r"^[A-Z]{2}\d{8}$")
    version: int = Field(ge=1)
    status: VersionStatus
    name: str
    item_type: ItemType
    ministry: str
    legal_basis: list[LegalBasis]
    audience: list[Audience]
    acceptance_conditions: list[str]
    materials: list[Material]
    process_steps: list[ProcessStep]
    statutory_limit_days: int = Field(ge=0, description="法定办结时限, working days")
    promised_limit_days: int = Field(ge=0, description="承诺办结时限, working days, at most the statutory")
    suspension: Allowance
    extension: Allowance
    result: Result
    fees: list[Fee]
    modes: list[HandlingMode]
    joint_roles: dict[str, str] = Field(description="role -> description; empty unless joint is a mode")
    illustrative: list[str] = Field(description="fields whose values are illustrative, not official")
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    valid_from: datetime | None
    valid_to: datetime | None = Field(description="null while the version is in force")
    retired_at: datetime | None


class ItemRetired(_Payload):
    """An item was withdrawn from the catalogue; no new case may be filed under it."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="cn.gov.tongban.catalogue.item-retired.v1",
        json_schema_extra={
            "description": "An item was retired: its version in force ends at retired_at. Key: basic_code."
        },
    )

    basic_code: str = Field(pattern=r"^[A-Z]{2}\d{8}$")
    version: int = Field(ge=1, description="the version that was in force and is now retired")
    retired_at: datetime


class Organisation(_Payload):
    """实施主体: the handling organisation."""

    name: str
    uscc: str = Field(pattern=r"^[0-9A-Z]{18}$", description="unified social credit code")


class RegionImplementationChanged(_Payload):
    """A province created or changed its implementation (实施清单 entry) of an item."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="cn.gov.tongban.catalogue.region-implementation-changed.v1",
        json_schema_extra={
            "description": "A province created or changed its implementation of a national item, checked "
            "against the item version in force. Key: basic_code/region."
        },
    )

    basic_code: str = Field(pattern=r"^[A-Z]{2}\d{8}$")
    region: str = Field(pattern=r"^\d{6}$")
    implementation_code: str
    version: int = Field(ge=1, description="the national item version the implementation was checked against")
    revision: int = Field(ge=1, description="the implementation's own revision (its ETag counter)")
    handling_org: Organisation
    address: str
    hours: str
    modes: list[HandlingMode]
    joint_roles: list[str]
    promised_limit_days: int = Field(ge=0)
    fees: list[Fee]
    illustrative: list[str]
    updated_at: datetime


EVENT_MODELS: dict[str, type[_Payload]] = {
    "item-published": ItemPublished,
    "item-retired": ItemRetired,
    "region-implementation-changed": RegionImplementationChanged,
}
"""Event name (between ``catalogue.`` and ``.v1``) -> payload model."""
