"""The hub's aggregates: data resources, grants, consents, and the view of a case it checks against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class DataDomain(StrEnum):
    """The data domains the policy brings into sharing (same names as the catalogue's exchange_domain)."""

    MEDICAL = "medical"
    PENSION = "pension"
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    SOCIAL_INSURANCE = "social-insurance"
    HOUSEHOLD_REGISTRATION = "household-registration"
    TAX = "tax"


class Mode(StrEnum):
    """共享 share returns fields; 核验 verify answers yes or no about a stated fact."""

    SHARE = "share"
    VERIFY = "verify"


class Sensitivity(StrEnum):
    """How sensitive a field is; ``sensitive`` is PIPL sensitive personal information."""

    PUBLIC = "public"
    INTERNAL = "internal"
    PERSONAL = "personal"
    SENSITIVE = "sensitive"


class FieldKind(StrEnum):
    """What a field holds, which decides how it is masked."""

    TEXT = "text"
    NAME = "name"
    ID_NUMBER = "id_number"
    PHONE = "phone"
    ADDRESS = "address"
    DATE = "date"
    NUMBER = "number"
    CODE = "code"
    BOOLEAN = "boolean"


class Status(StrEnum):
    """Lifecycle of resources, grants and consents."""

    ACTIVE = "active"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field a provider can return."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    sensitivity: Sensitivity = Sensitivity.PERSONAL


@dataclass(slots=True)
class Resource:
    """A provider system registered with the hub."""

    id: str
    code: str
    name: str
    provider_name: str
    provider_uscc: str | None
    region: str | None
    domain: DataDomain
    endpoint_url: str
    fields: tuple[FieldSpec, ...]
    supports: frozenset[Mode]
    timeout_ms: int
    status: Status = Status.ACTIVE
    version: int = 1

    def field_names(self) -> frozenset[str]:
        """Names of every field the provider offers."""
        return frozenset(f.name for f in self.fields)

    def spec(self, name: str) -> FieldSpec | None:
        """The spec of one field, if the provider offers it."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def label(self) -> str:
        """How a problem or audit entry names the provider."""
        return f"{self.code} ({self.provider_name})"


@dataclass(slots=True)
class Grant:
    """Lets one client use one resource for named catalogue items only (the purpose)."""

    id: str
    client_id: str
    resource_id: str
    items: frozenset[str]
    allowed_fields: frozenset[str]
    masked_fields: frozenset[str]
    modes: frozenset[Mode]
    rate_limit_per_minute: int
    expires_at: datetime
    statutory_basis: str | None = None
    status: Status = Status.ACTIVE
    version: int = 1

    def is_live(self, now: datetime) -> bool:
        """Active and not expired."""
        return self.status == Status.ACTIVE and now < self.expires_at

    @property
    def needs_consent(self) -> bool:
        """A statutory basis makes the subject's consent unnecessary."""
        return not self.statutory_basis


@dataclass(slots=True)
class Consent:
    """The applicant's explicit request that named resources be queried for one case, until a time."""

    id: str
    subject_hash: str
    case_id: str
    resource_ids: frozenset[str]
    until: datetime
    status: Status = Status.ACTIVE
    version: int = 1

    def is_live(self, now: datetime) -> bool:
        """Not revoked and not past its end."""
        return self.status == Status.ACTIVE and now < self.until

    def covers(self, resource_id: str) -> bool:
        """Whether this consent names the resource."""
        return resource_id in self.resource_ids


@dataclass(frozen=True, slots=True)
class CaseView:
    """What the hub needs to know about a case from case-svc."""

    id: str
    status: str
    item_code: str
    receiving_region: str | None
    handling_region: str | None
    participant_regions: frozenset[str] = field(default_factory=frozenset)
    applicant_subject_hash: str | None = None

    def regions(self) -> frozenset[str]:
        """Every region with a role in the case."""
        found = {r for r in (self.receiving_region, self.handling_region) if r}
        return frozenset(found | set(self.participant_regions))


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: the client, its region, and the person it acts for (token exchange ``act``)."""

    client_id: str
    region: str | None
    is_service: bool = False
    org: str | None = None
    on_behalf_of: str | None = None

    def record(self) -> dict[str, str]:
        """What the exchange log keeps about the caller."""
        out = {"client_id": self.client_id}
        if self.region:
            out["region"] = self.region
        if self.org:
            out["org"] = self.org
        if self.on_behalf_of:
            out["on_behalf_of"] = self.on_behalf_of
        return out


@dataclass(frozen=True, slots=True)
class Query:
    """One request for data about a person, as the policy sees it (no identity number, only its hash)."""

    caller: Caller
    resource_id: str
    subject_hash: str
    case_id: str
    item_code: str
    mode: Mode
    fields: frozenset[str]
