"""The catalogue's domain model: items with versioned content, region implementations and FAQ entries.

* ``ItemContent`` is everything the national standard says about an item (a frozen value object).
* ``ItemVersion`` wraps one numbered content with its state: draft → published (immutable) → retired,
  and its validity window ``[valid_from, valid_to)``.
* ``Item`` is the aggregate: it creates and edits the single open draft, publishes it (ending the
  predecessor's validity at the same instant) and retires the item, keeping windows disjoint.
* ``RegionImplementation`` is a province's 实施清单 entry, checked against the national version.
* ``FaqEntry`` is one question of the FAQ knowledge base.

Sets (audience, modes, licence types, tags) are stored as sorted tuples so that equal content
serialises to equal JSON, which keeps ETags, diffs and event payloads deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from catalogue_svc.domain.codes import (
    check_implementation_code,
    check_province,
    check_uscc,
    parse_basic_code,
)
from catalogue_svc.domain.errors import (
    DraftExists,
    FieldError,
    InvalidBasicCode,
    InvalidFaq,
    InvalidImplementation,
    InvalidItemContent,
    ModeNotOffered,
    NoDraft,
    NotPublished,
    PromisedLimitExceedsStatutory,
    RuleViolation,
    UnknownJointRole,
    ValidityOverlap,
    VersionImmutable,
    VersionNotFound,
    field_errors,
)
from catalogue_svc.domain.events import DomainEvent, ItemPublished, ItemRetired, RegionImplementationChanged
from catalogue_svc.domain.reference import (
    ITEM_TYPE_CODE_PREFIXES,
    Audience,
    ExchangeDomain,
    HandlingMode,
    ItemType,
    ResultType,
)

# --- bounded strings and set-like tuples ------------------------------------------------------------

Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text500 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Text5000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
HttpUrlText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://[^\s/$.?#][^\s]*$")
]
MaterialCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{0,31}$")]
LicenceTypeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
WorkingDays = Annotated[int, Field(ge=0, le=720)]
Fen = Annotated[int, Field(ge=0, le=10**10)]

_S = TypeVar("_S", bound=str)


def _sorted_unique(values: tuple[_S, ...]) -> tuple[_S, ...]:
    return tuple(sorted(set(values)))


AudienceSet = Annotated[tuple[Audience, ...], Field(min_length=1), AfterValidator(_sorted_unique)]
ModeSet = Annotated[tuple[HandlingMode, ...], Field(min_length=1), AfterValidator(_sorted_unique)]
LicenceTypeSet = Annotated[tuple[LicenceTypeCode, ...], Field(max_length=20), AfterValidator(_sorted_unique)]
RoleNameSet = Annotated[tuple[RoleName, ...], Field(max_length=10), AfterValidator(_sorted_unique)]
TagSet = Annotated[tuple[Tag, ...], Field(max_length=20), AfterValidator(_sorted_unique)]
FieldNameSet = Annotated[tuple[str, ...], Field(max_length=40), AfterValidator(_sorted_unique)]


class _Value(BaseModel):
    """Base of the value objects: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_illustrative(names: tuple[str, ...], model: type[BaseModel]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in model.model_fields or n == "illustrative"]
    if unknown:
        raise PydanticCustomError(
            "unknown_field_name",
            "illustrative names unknown fields: {unknown}",
            {"unknown": ", ".join(unknown)},
        )
    return names


# --- value objects of an item ------------------------------------------------------------------------


class LegalBasis(_Value):
    """设定依据: one law or regulation, optionally an article and a link to its text."""

    law: Text200
    article: Text100 | None = None
    url: HttpUrlText | None = None


class MaterialRequirement(StrEnum):
    """Whether a material is always needed or only under a stated condition."""

    REQUIRED = "required"
    CONDITIONAL = "conditional"


class Material(_Value):
    """申请材料: one material, how many originals and copies, and what may replace the paper."""

    code: MaterialCode
    name: Text200
    requirement: MaterialRequirement
    condition: Text500 | None = None
    originals: int = Field(default=1, ge=0, le=99)
    copies: int = Field(default=0, ge=0, le=99)
    licence_types: LicenceTypeSet = ()
    exchange_fetchable: bool = False
    exchange_domain: ExchangeDomain | None = None
    description: Text500 | None = None

    @model_validator(mode="after")
    def _rules(self) -> Material:
        if self.requirement is MaterialRequirement.CONDITIONAL and self.condition is None:
            raise PydanticCustomError(
                "condition_missing",
                "material {code}: a conditional material needs its condition",
                {"code": self.code},
            )
        if self.requirement is MaterialRequirement.REQUIRED and self.condition is not None:
            raise PydanticCustomError(
                "condition_unexpected",
                "material {code}: a required material has no condition",
                {"code": self.code},
            )
        if self.originals + self.copies < 1:
            raise PydanticCustomError(
                "no_copies", "material {code}: at least one original or copy is needed", {"code": self.code}
            )
        if self.exchange_fetchable != (self.exchange_domain is not None):
            raise PydanticCustomError(
                "exchange_domain_mismatch",
                "material {code}: exchange_domain is given exactly when exchange_fetchable is true",
                {"code": self.code},
            )
        return self


class ProcessStep(_Value):
    """办理流程: one step of the process, in order."""

    name: Text100
    description: Text500 | None = None


class ItemResult(_Value):
    """办理结果: what the applicant receives, and the licence type if an e-licence is issued."""

    result_type: ResultType
    name: Text200
    licence_type: LicenceTypeCode | None = None

    @model_validator(mode="after")
    def _licence_type_iff_licence(self) -> ItemResult:
        if (self.result_type is ResultType.LICENCE) != (self.licence_type is not None):
            raise PydanticCustomError(
                "licence_type_mismatch", "licence_type is given exactly when result_type is licence"
            )
        return self


class Fee(_Value):
    """收费: one fee in fen (1/100 yuan) with its legal basis; no fees means the item is free."""

    name: Text200
    amount_fen: Fen
    basis: Text500 | None = None


class ItemContent(_Value):
    """Every field the national standard names for an item; the content of one version."""

    name: Text200
    item_type: ItemType
    legal_basis: tuple[LegalBasis, ...] = Field(min_length=1, max_length=30)
    ministry: Text100
    audience: AudienceSet
    acceptance_conditions: tuple[Text2000, ...] = Field(min_length=1, max_length=30)
    materials: tuple[Material, ...] = Field(default=(), max_length=60)
    process_steps: tuple[ProcessStep, ...] = Field(min_length=1, max_length=30)
    statutory_limit_days: WorkingDays
    promised_limit_days: WorkingDays
    result: ItemResult
    fees: tuple[Fee, ...] = Field(default=(), max_length=20)
    modes: ModeSet
    joint_roles: dict[RoleName, Text200] = Field(default_factory=dict, max_length=10)
    suspension_allowed: bool = False
    suspension_max_days: WorkingDays | None = None
    extension_allowed: bool = False
    extension_max_days: WorkingDays | None = None
    illustrative: FieldNameSet = ()

    @field_validator("illustrative")
    @classmethod
    def _illustrative_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return _check_illustrative(names, cls)

    @model_validator(mode="after")
    def _rules(self) -> ItemContent:
        codes = [m.code for m in self.materials]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise PydanticCustomError(
                "duplicate_material_code",
                "material codes must be unique: {dupes}",
                {"dupes": ", ".join(dupes)},
            )
        if self.promised_limit_days > self.statutory_limit_days:
            raise PydanticCustomError(
                "promised_limit_exceeds_statutory",
                "promised limit {promised} working days exceeds the statutory limit {statutory}",
                {"promised": self.promised_limit_days, "statutory": self.statutory_limit_days},
            )
        joint = HandlingMode.JOINT in self.modes
        if joint and len(self.joint_roles) < 2:
            raise PydanticCustomError("joint_roles_missing", "joint handling needs at least two joint_roles")
        if not joint and self.joint_roles:
            raise PydanticCustomError(
                "joint_roles_unexpected", "joint_roles are only given for joint handling"
            )
        for kind, allowed, max_days in (
            ("suspension", self.suspension_allowed, self.suspension_max_days),
            ("extension", self.extension_allowed, self.extension_max_days),
        ):
            if allowed and not max_days:
                raise PydanticCustomError(
                    "max_days_missing",
                    "{kind} is allowed, so {kind}_max_days must be positive",
                    {"kind": kind},
                )
            if not allowed and max_days is not None:
                raise PydanticCustomError(
                    "max_days_unexpected",
                    "{kind} is not allowed, so {kind}_max_days must be null",
                    {"kind": kind},
                )
        return self

    def material(self, code: str) -> Material | None:
        """Return the material with this code, or None."""
        return next((m for m in self.materials if m.code == code), None)


def parse_item_content(data: Mapping[str, Any] | ItemContent) -> ItemContent:
    """Validate raw data into ItemContent, raising InvalidItemContent with every problem at once."""
    if isinstance(data, ItemContent):
        return data
    try:
        return ItemContent.model_validate(data)
    except ValidationError as exc:
        raise InvalidItemContent("the item content is invalid", errors=field_errors(exc)) from exc


# --- versions and the item aggregate -----------------------------------------------------------------


class VersionState(StrEnum):
    """Lifecycle of one item version."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ItemVersion:
    """One numbered version of an item; only a draft can change, and only by returning a new version."""

    basic_code: str
    number: int
    state: VersionState
    content: ItemContent
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    retired_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("created_at", "updated_at", "published_at", "valid_from", "valid_to", "retired_at"):
            _require_aware(name, getattr(self, name))
        if self.number < 1:
            raise ValueError("version numbers start at 1")
        if self.state is VersionState.DRAFT:
            if self.published_at or self.valid_from or self.valid_to or self.retired_at:
                raise ValueError("a draft has no publication, validity or retirement time")
        elif self.published_at is None or self.valid_from is None:
            raise ValueError("a published or retired version has published_at and valid_from")
        if self.state is VersionState.PUBLISHED and self.retired_at is not None:
            raise ValueError("a published version has no retired_at")
        if self.state is VersionState.RETIRED and (self.retired_at is None or self.valid_to is None):
            raise ValueError("a retired version has retired_at and valid_to")
        if self.valid_from is not None and self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")

    @property
    def is_draft(self) -> bool:
        """Tell whether this version can still be edited."""
        return self.state is VersionState.DRAFT

    def is_valid_at(self, instant: datetime) -> bool:
        """Tell whether this version is the one in force at ``instant``."""
        if self.valid_from is None or instant < self.valid_from:
            return False
        return self.valid_to is None or instant < self.valid_to

    def revise(self, changes: Mapping[str, Any], *, now: datetime) -> ItemVersion:
        """Return this draft with top-level fields replaced by ``changes``; published versions refuse."""
        if not self.is_draft:
            raise VersionImmutable(
                f"version {self.number} of {self.basic_code} is {self.state.value} and can no longer change; "
                "start a new draft instead"
            )
        merged = {**self.content.model_dump(mode="json"), **dict(changes)}
        content = parse_item_content(merged)
        _check_type_matches_code(self.basic_code, content)
        return replace(self, content=content, updated_at=now)

    def to_json(self) -> dict[str, Any]:
        """Serialise the version, content included, to JSON-compatible data (times in RFC 3339)."""

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "basic_code": self.basic_code,
            "number": self.number,
            "state": self.state.value,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "published_at": iso(self.published_at),
            "valid_from": iso(self.valid_from),
            "valid_to": iso(self.valid_to),
            "retired_at": iso(self.retired_at),
            "content": self.content.model_dump(mode="json"),
        }


def _check_type_matches_code(basic_code: str, content: ItemContent) -> None:
    prefix = ITEM_TYPE_CODE_PREFIXES[content.item_type]
    if basic_code[:2] != prefix:
        raise InvalidItemContent(
            f"item type {content.item_type.value} needs a basic code starting with {prefix}; "
            f"{basic_code} cannot change its type",
            errors=[
                FieldError("item_type", "does not match the basic code's type prefix", "item_type_mismatch")
            ],
        )


def check_validity_windows(versions: Iterable[ItemVersion]) -> None:
    """Raise ValidityOverlap unless the published and retired versions' windows are pairwise disjoint."""
    windows = sorted(
        ((v.valid_from, v.valid_to, v.number) for v in versions if v.valid_from is not None),
        key=lambda w: w[0],
    )
    for (start_a, end_a, num_a), (start_b, _end_b, num_b) in itertools.pairwise(windows):
        if end_a is None or end_a > start_b:
            raise ValidityOverlap(
                f"validity of version {num_a} (from {start_a.isoformat()}) overlaps version {num_b} "
                f"(from {start_b.isoformat()})"
            )


class Item:
    """The item aggregate: its versions, the open draft, and the rules that tie them together."""

    def __init__(self, basic_code: str, versions: Sequence[ItemVersion]) -> None:
        parse_basic_code(basic_code)
        if not versions:
            raise ValueError("an item has at least one version")
        for expected, v in enumerate(versions, start=1):
            if v.number != expected or v.basic_code != basic_code:
                raise ValueError(f"versions of {basic_code} must be numbered 1..n in order")
        if any(v.is_draft for v in versions[:-1]):
            raise ValueError("only the latest version can be a draft")
        check_validity_windows(versions)
        self.basic_code = basic_code
        self._versions: list[ItemVersion] = list(versions)
        self._events: list[DomainEvent] = []

    @classmethod
    def create(cls, basic_code: str, content: ItemContent | Mapping[str, Any], *, now: datetime) -> Item:
        """Start a new item whose first version is a draft; the code's prefix must match the type."""
        parsed = parse_basic_code(basic_code)
        item_content = parse_item_content(content)
        _check_type_matches_code(parsed.value, item_content)
        draft = ItemVersion(basic_code, 1, VersionState.DRAFT, item_content, created_at=now, updated_at=now)
        return cls(basic_code, [draft])

    # reading

    @property
    def versions(self) -> tuple[ItemVersion, ...]:
        """All versions, oldest first."""
        return tuple(self._versions)

    @property
    def latest(self) -> ItemVersion:
        """The highest-numbered version, draft or not."""
        return self._versions[-1]

    @property
    def draft(self) -> ItemVersion | None:
        """The open draft, if any."""
        return self.latest if self.latest.is_draft else None

    @property
    def current(self) -> ItemVersion | None:
        """The published version whose window is still open, if any (None once retired)."""
        return next(
            (v for v in self._versions if v.state is VersionState.PUBLISHED and v.valid_to is None), None
        )

    def version(self, number: int) -> ItemVersion:
        """Return version ``number`` or raise VersionNotFound."""
        if 1 <= number <= len(self._versions):
            return self._versions[number - 1]
        raise VersionNotFound(f"{self.basic_code} has no version {number}")

    def version_at(self, instant: datetime) -> ItemVersion | None:
        """The version in force at ``instant``, if any."""
        return next((v for v in self._versions if v.is_valid_at(instant)), None)

    def pull_events(self) -> list[DomainEvent]:
        """Return and forget the events recorded since the last call."""
        events, self._events = self._events, []
        return events

    # changing

    def start_draft(self, changes: Mapping[str, Any] | None = None, *, now: datetime) -> ItemVersion:
        """Open the next version as a draft copied from the latest one, with optional changes."""
        if self.draft is not None:
            raise DraftExists(f"{self.basic_code} already has draft version {self.latest.number}")
        base = self.latest
        draft = ItemVersion(
            self.basic_code, base.number + 1, VersionState.DRAFT, base.content, created_at=now, updated_at=now
        )
        if changes:
            draft = draft.revise(changes, now=now)
        self._versions.append(draft)
        return draft

    def edit_draft(self, changes: Mapping[str, Any], *, now: datetime) -> ItemVersion:
        """Replace top-level fields of the open draft; with no draft the latest version refuses (409)."""
        revised = self.latest.revise(changes, now=now)
        self._versions[-1] = revised
        return revised

    def publish(self, *, now: datetime) -> ItemVersion:
        """Publish the draft from ``now``; the predecessor's validity ends at the same instant."""
        draft = self.draft
        if draft is None:
            raise NoDraft(f"{self.basic_code} has no draft to publish")
        previous = self.current
        versions = list(self._versions)
        if previous is not None:
            assert previous.valid_from is not None  # published versions always have one
            if now <= previous.valid_from:
                raise ValidityOverlap(
                    f"cannot publish at {now.isoformat()}: version {previous.number} is valid from "
                    f"{previous.valid_from.isoformat()}"
                )
            versions[previous.number - 1] = replace(previous, valid_to=now)
        published = replace(
            draft, state=VersionState.PUBLISHED, published_at=now, valid_from=now, updated_at=now
        )
        versions[-1] = published
        check_validity_windows(versions)
        self._versions = versions
        self._events.append(
            ItemPublished(
                version=published,
                superseded_number=None if previous is None else previous.number,
                occurred_at=now,
            )
        )
        return published

    def retire(self, *, now: datetime) -> ItemVersion:
        """Withdraw the item: the current version is retired and its validity ends at ``now``."""
        current = self.current
        if current is None:
            raise NotPublished(f"{self.basic_code} has no published version in force to retire")
        assert current.valid_from is not None
        if now <= current.valid_from:
            raise ValidityOverlap(
                f"cannot retire at {now.isoformat()}: version {current.number} is valid from "
                f"{current.valid_from.isoformat()}"
            )
        retired = replace(current, state=VersionState.RETIRED, valid_to=now, retired_at=now, updated_at=now)
        self._versions[current.number - 1] = retired
        self._events.append(ItemRetired(version=retired, occurred_at=now))
        return retired


# --- differences -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs between two versions, with JSON-compatible values."""

    field: str
    before: Any
    after: Any


def diff(a: ItemVersion | ItemContent, b: ItemVersion | ItemContent) -> list[FieldChange]:
    """Field-by-field difference of two contents (or versions), in the order the fields are declared."""
    before = (a.content if isinstance(a, ItemVersion) else a).model_dump(mode="json")
    after = (b.content if isinstance(b, ItemVersion) else b).model_dump(mode="json")
    return [
        FieldChange(name, before[name], after[name])
        for name in ItemContent.model_fields
        if before[name] != after[name]
    ]


# --- region implementations --------------------------------------------------------------------------


class Organisation(_Value):
    """实施主体: the handling organisation, by name and unified social credit code."""

    name: Text200
    uscc: str

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, value: str) -> str:
        return check_uscc(value)


class RegionImplementation(_Value):
    """A province's implementation (实施清单 entry) of a national item."""

    basic_code: str
    region: str
    implementation_code: str
    handling_org: Organisation
    address: Text500
    hours: Text200
    modes: ModeSet
    joint_roles: RoleNameSet = ()
    promised_limit_days: WorkingDays
    fees: tuple[Fee, ...] = Field(default=(), max_length=20)
    illustrative: FieldNameSet = ()

    @field_validator("basic_code")
    @classmethod
    def _basic_code(cls, value: str) -> str:
        try:
            return parse_basic_code(value).value
        except InvalidBasicCode as exc:
            raise ValueError(exc.detail) from exc

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return check_province(value)

    @field_validator("illustrative")
    @classmethod
    def _illustrative_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return _check_illustrative(names, cls)

    @model_validator(mode="after")
    def _code_and_roles(self) -> RegionImplementation:
        try:
            check_implementation_code(
                self.implementation_code, basic_code=self.basic_code, uscc=self.handling_org.uscc
            )
        except ValueError as exc:
            raise PydanticCustomError("implementation_code", str(exc)) from exc
        if self.joint_roles and HandlingMode.JOINT not in self.modes:
            raise PydanticCustomError(
                "joint_roles_unexpected", "joint_roles are only given when joint is offered"
            )
        if HandlingMode.JOINT in self.modes and not self.joint_roles:
            raise PydanticCustomError(
                "joint_roles_missing", "a region offering joint handling names its roles"
            )
        return self

    @property
    def key(self) -> str:
        """The aggregate key: ``basic_code/region``."""
        return f"{self.basic_code}/{self.region}"

    def conformance_errors(self, national: ItemVersion | ItemContent) -> list[RuleViolation]:
        """Every way this implementation departs from the national item content, as domain errors."""
        content = national.content if isinstance(national, ItemVersion) else national
        problems: list[RuleViolation] = []
        if self.promised_limit_days > content.statutory_limit_days:
            problems.append(
                PromisedLimitExceedsStatutory(
                    f"region {self.region} promises {self.promised_limit_days} working days for "
                    f"{self.basic_code}, longer than the national statutory limit of "
                    f"{content.statutory_limit_days} working days",
                    errors=[
                        FieldError("promised_limit_days", "exceeds the statutory limit", "limit_exceeded")
                    ],
                )
            )
        extra_modes = sorted(set(self.modes) - set(content.modes))
        if extra_modes:
            problems.append(
                ModeNotOffered(
                    f"{self.basic_code} allows only {', '.join(content.modes)}; region {self.region} cannot "
                    f"offer {', '.join(extra_modes)}",
                    errors=[FieldError("modes", "not allowed by the national item", "mode_not_offered")],
                )
            )
        unknown_roles = sorted(set(self.joint_roles) - set(content.joint_roles))
        if unknown_roles:
            problems.append(
                UnknownJointRole(
                    f"{self.basic_code} defines no joint role {', '.join(unknown_roles)}",
                    errors=[
                        FieldError("joint_roles", "not a role of the national item", "unknown_joint_role")
                    ],
                )
            )
        return problems

    def check_against(self, national: ItemVersion | ItemContent) -> None:
        """Raise the first conformance error (carrying the field errors of all of them), if any."""
        problems = self.conformance_errors(national)
        if problems:
            first = problems[0]
            all_errors = [e for p in problems for e in p.errors]
            raise type(first)(first.detail, errors=all_errors)


def parse_region_implementation(data: Mapping[str, Any] | RegionImplementation) -> RegionImplementation:
    """Validate raw data into a RegionImplementation, raising InvalidImplementation with every problem."""
    if isinstance(data, RegionImplementation):
        return data
    try:
        return RegionImplementation.model_validate(data)
    except ValidationError as exc:
        raise InvalidImplementation("the region implementation is invalid", errors=field_errors(exc)) from exc


def implement_region(
    national: ItemVersion, data: Mapping[str, Any] | RegionImplementation, *, now: datetime
) -> RegionImplementationChanged:
    """Validate a region's implementation against the item version in force and record the change."""
    if national.state is not VersionState.PUBLISHED or national.valid_to is not None:
        raise NotPublished(f"{national.basic_code} has no published version in force to implement")
    impl = parse_region_implementation(data)
    if impl.basic_code != national.basic_code:
        raise InvalidImplementation(
            f"implementation is for {impl.basic_code}, not {national.basic_code}",
            errors=[FieldError("basic_code", "does not match the item", "basic_code_mismatch")],
        )
    impl.check_against(national)
    return RegionImplementationChanged(implementation=impl, item_version=national.number, occurred_at=now)


# --- FAQ ---------------------------------------------------------------------------------------------


class FaqEntry(_Value):
    """One question and answer of the FAQ knowledge base, with tags for window staff."""

    question: Text500
    answer: Text5000
    tags: TagSet = ()


def parse_faq(data: Mapping[str, Any] | FaqEntry) -> FaqEntry:
    """Validate raw data into a FaqEntry, raising InvalidFaq with every problem."""
    if isinstance(data, FaqEntry):
        return data
    try:
        return FaqEntry.model_validate(data)
    except ValidationError as exc:
        raise InvalidFaq("the FAQ entry is invalid", errors=field_errors(exc)) from exc


__all__ = [
    "FaqEntry",
    "Fee",
    "FieldChange",
    "Item",
    "ItemContent",
    "ItemResult",
    "ItemVersion",
    "LegalBasis",
    "Material",
    "MaterialRequirement",
    "Organisation",
    "ProcessStep",
    "RegionImplementation",
    "VersionState",
    "check_validity_windows",
    "diff",
    "implement_region",
    "parse_faq",
    "parse_item_content",
    "parse_region_implementation",
]
