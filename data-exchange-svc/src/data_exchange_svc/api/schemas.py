"""Request and response bodies of the exchange API (separate from ORM rows and event payloads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from tongban_kit.identifiers import InvalidIdentifier, validate_uscc
from tongban_kit.problems import ProblemDoc as KitProblemDoc

from data_exchange_svc.adapters.orm import AuditRow, ConsentRow, GrantRow, ResourceRow
from data_exchange_svc.domain.model import DataDomain, FieldKind, Mode, Sensitivity

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
FieldName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
ItemCode = Annotated[str, Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]
ClientId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]
CaseId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]
Region = Annotated[str, Field(pattern=r"^\d{6}$")]
Url = Annotated[str, Field(min_length=8, max_length=500, pattern=r"^https?://[^\s]+$")]


def _uscc(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_uscc(value)
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from exc


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone (RFC 3339)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Strict(BaseModel):
    """Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid")


class ProblemDoc(KitProblemDoc):
    """RFC 9457 problem document (``application/problem+json``), naming the provider when one failed."""

    provider: str | None = None


# --- resources -----------------------------------------------------------------------------------


class FieldIn(Strict):
    """A field a provider offers."""

    name: FieldName
    label: str = Field(min_length=1, max_length=100)
    kind: FieldKind = FieldKind.TEXT
    sensitivity: Sensitivity = Sensitivity.PERSONAL


class Provider(Strict):
    """The organisation running the provider system."""

    name: str = Field(min_length=1, max_length=200)
    uscc: Annotated[str | None, AfterValidator(_uscc)] = Field(default=None, max_length=18)


def _unique_fields(fields: list[FieldIn] | None) -> list[FieldIn] | None:
    if fields is not None and len({f.name for f in fields}) != len(fields):
        raise ValueError("field names must be unique")
    return fields


class ResourceIn(Strict):
    """Register a provider system (a data resource)."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    provider: Provider
    region: Region | None = None
    domain: DataDomain
    endpoint_url: Url
    fields: Annotated[list[FieldIn], AfterValidator(_unique_fields)] = Field(min_length=1, max_length=200)
    supports: list[Mode] = Field(min_length=1, max_length=2)
    timeout_ms: int | None = Field(default=None, ge=50, le=60000)


class ResourcePatch(Strict):
    """Change parts of a resource; omitted parts stay."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    endpoint_url: Url | None = None
    fields: Annotated[list[FieldIn] | None, AfterValidator(_unique_fields)] = Field(
        default=None, min_length=1, max_length=200
    )
    supports: list[Mode] | None = Field(default=None, min_length=1, max_length=2)
    timeout_ms: int | None = Field(default=None, ge=50, le=60000)
    status: str | None = Field(default=None, pattern=r"^(active|suspended)$")


class FieldOut(BaseModel):
    """A field of a resource."""

    name: str
    label: str
    kind: FieldKind
    sensitivity: Sensitivity


class ResourceOut(BaseModel):
    """A registered provider system."""

    id: str
    code: str
    name: str
    provider: Provider
    region: str | None
    domain: DataDomain
    endpoint_url: str
    fields: list[FieldOut]
    supports: list[Mode]
    timeout_ms: int
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ResourceRow) -> ResourceOut:
        """From a row."""
        return cls(
            id=row.id,
            code=row.code,
            name=row.name,
            provider=Provider(name=row.provider_name, uscc=row.provider_uscc),
            region=row.region,
            domain=DataDomain(row.domain),
            endpoint_url=row.endpoint_url,
            fields=[FieldOut(**f) for f in row.fields],
            supports=[Mode(m) for m in row.supports],
            timeout_ms=row.timeout_ms,
            status=row.status,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


# --- grants --------------------------------------------------------------------------------------


class GrantIn(Strict):
    """Let one client use one resource for named catalogue items (the purpose)."""

    client_id: ClientId
    resource_id: Ref
    items: list[ItemCode] = Field(min_length=1, max_length=200, description="catalogue basic codes")
    allowed_fields: list[FieldName] = Field(min_length=1, max_length=200)
    masked_fields: list[FieldName] = Field(default_factory=list, max_length=200)
    modes: list[Mode] = Field(min_length=1, max_length=2)
    rate_limit_per_minute: int = Field(default=600, ge=1, le=600_000)
    expires_at: AwareDatetime
    statutory_basis: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="the law and article that allow the use without the subject's consent",
    )


class GrantOut(BaseModel):
    """A grant."""

    id: str
    client_id: str
    resource_id: str
    items: list[str]
    allowed_fields: list[str]
    masked_fields: list[str]
    modes: list[Mode]
    rate_limit_per_minute: int
    expires_at: datetime
    statutory_basis: str | None
    status: str
    version: int
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: GrantRow) -> GrantOut:
        """From a row."""
        return cls(
            id=row.id,
            client_id=row.client_id,
            resource_id=row.resource_id,
            items=row.items,
            allowed_fields=row.allowed_fields,
            masked_fields=row.masked_fields,
            modes=[Mode(m) for m in row.modes],
            rate_limit_per_minute=row.rate_limit_per_minute,
            expires_at=row.expires_at,
            statutory_basis=row.statutory_basis,
            status=row.status,
            version=row.version,
            created_at=row.created_at,
            created_by=row.created_by,
            revoked_at=row.revoked_at,
        )


# --- consents ------------------------------------------------------------------------------------


class ConsentIn(Strict):
    """The applicant's explicit request that named resources be queried for one case."""

    case_id: CaseId
    resource_ids: list[Ref] = Field(min_length=1, max_length=20, description="resource ids or codes")
    until: AwareDatetime
    purpose: str | None = Field(default=None, min_length=1, max_length=500)


class ConsentOut(BaseModel):
    """A consent."""

    id: str
    subject_hash: str
    case_id: str
    resource_ids: list[str]
    purpose: str | None
    until: datetime
    status: str
    version: int
    created_at: datetime
    revoked_at: datetime | None
    actor: dict[str, str]

    @classmethod
    def of(cls, row: ConsentRow) -> ConsentOut:
        """From a row."""
        return cls(
            id=row.id,
            subject_hash=row.subject_hash,
            case_id=row.case_id,
            resource_ids=row.resource_ids,
            purpose=row.purpose,
            until=row.until,
            status=row.status,
            version=row.version,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            actor=row.actor,
        )


# --- queries -------------------------------------------------------------------------------------


class QueryIn(Strict):
    """Ask a provider about a person for a case: share fields, or verify a stated fact."""

    resource_id: Ref = Field(description="resource id or code")
    subject_id_number: str = Field(min_length=15, max_length=18, description="resident identity number")
    case_id: CaseId
    item_code: ItemCode = Field(description="the case's catalogue basic code (the purpose)")
    mode: Mode
    fields: list[FieldName] | None = Field(default=None, min_length=1, max_length=100)
    fact: dict[FieldName, str | int | float | bool] | None = Field(
        default=None, min_length=1, max_length=20, description="field -> value to verify (verify mode)"
    )

    @model_validator(mode="after")
    def _mode_parts(self) -> QueryIn:
        if self.mode is Mode.SHARE and (self.fields is None or self.fact is not None):
            raise ValueError("share mode takes 'fields' and no 'fact'")
        if self.mode is Mode.VERIFY and (self.fact is None or self.fields is not None):
            raise ValueError("verify mode takes 'fact' and no 'fields'")
        for value in (self.fact or {}).values():
            if isinstance(value, str) and len(value) > 500:
                raise ValueError("fact values are at most 500 characters")
        return self


class ResourceRef(BaseModel):
    """Which provider answered."""

    id: str
    code: str
    provider: str


class QueryResult(BaseModel):
    """The hub's signed answer; ``signature`` is a compact JWS (ES256) whose payload is the rest."""

    query_id: str
    audit_seq: int
    issuer: str
    issued_at: str
    client_id: str
    resource: ResourceRef
    case_id: str
    item_code: str
    subject_hash: str
    mode: Mode
    found: bool | None = Field(default=None, description="share mode: whether the provider knows the subject")
    data: dict[str, Any] | None = Field(default=None, description="share mode: only granted fields")
    masked_fields: list[str] | None = None
    verified: bool | None = Field(default=None, description="verify mode: the only answer")
    fact_fields: list[str] | None = None
    signature: str


# --- audit ---------------------------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    """One exchange-log entry."""

    seq: int
    id: str
    at: datetime
    client_id: str
    actor: dict[str, str]
    resource_id: str | None
    subject_hash: str | None
    case_id: str | None
    item_code: str | None
    mode: str | None
    fields: list[str]
    outcome: str
    reason: str | None
    grant_id: str | None
    basis: str | None
    latency_ms: int | None
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntryOut:
        """From a row."""
        return cls(
            seq=row.seq,
            id=row.id,
            at=row.at,
            client_id=row.client_id,
            actor=row.actor,
            resource_id=row.resource_id,
            subject_hash=row.subject_hash,
            case_id=row.case_id,
            item_code=row.item_code,
            mode=row.mode,
            fields=row.fields,
            outcome=row.outcome,
            reason=row.reason,
            grant_id=row.grant_id,
            basis=row.basis,
            latency_ms=row.latency_ms,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


class ChainHead(BaseModel):
    """The last entry of the chain."""

    seq: int
    hash: str


class ChainBreakOut(BaseModel):
    """Where the chain first fails."""

    seq: int
    entry_id: str | None
    reason: str


class AuditVerification(BaseModel):
    """Result of checking the whole chain."""

    ok: bool
    algorithm: str
    checked: int
    head: ChainHead
    first_broken: ChainBreakOut | None


class UsageResource(BaseModel):
    """Which data was used."""

    id: str | None
    code: str | None
    name: str | None
    domain: str | None
    provider: str | None


class SubjectUsage(BaseModel):
    """One use of a citizen's data: who, which data, for which case and item, and the outcome."""

    at: datetime
    client_id: str
    region: str | None
    org: str | None
    on_behalf_of: str | None
    resource: UsageResource
    case_id: str | None
    item_code: str | None
    purpose: str
    legal_basis: str | None = Field(
        description="'consent:<id>' when the person consented, 'statutory:<law>' when a law allows the use"
    )
    mode: str | None
    fields: list[str]
    outcome: str
    reason: str | None
