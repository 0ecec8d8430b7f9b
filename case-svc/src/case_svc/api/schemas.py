"""Request and response bodies of the case API (separate from ORM rows and event payloads)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from tongban_contracts.reference import Audience, HandlingMode

from case_svc.domain.model import Decision, DeliveryMethod

RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
# Free text never holds a NUL: PostgreSQL's text and jsonb refuse it, so it would fail at commit.
NO_NUL = r"^[^\x00]*$"
Text100 = Annotated[
    str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True, pattern=NO_NUL)
]
Text200 = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True, pattern=NO_NUL)
]
Text500 = Annotated[
    str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True, pattern=NO_NUL)
]
Text2000 = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True, pattern=NO_NUL)
]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
MAX_FORM_BYTES = 20_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicantIn(_In):
    """The applicant: a natural person (resident identity number) or a legal person (credit code)."""

    type: Audience
    name: Text100
    id_number: Annotated[str, StringConstraints(min_length=18, max_length=18, strip_whitespace=True)] = Field(
        description="18-character resident identity number (natural person) or unified social credit code"
    )


class FileRefIn(_In):
    """A scanned file, by the SHA-256 of its content (upload it with POST /v1/cases/{id}/materials)."""

    sha256: Sha256
    name: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)] | None = None


class MaterialIn(_In):
    """A material: its catalogue code and exactly one of a file, a licence id or an exchange reference."""

    code: Code
    file: FileRefIn | None = None
    licence_id: Ref | None = None
    exchange_ref: Ref | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MaterialIn:
        given = [x for x in (self.file, self.licence_id, self.exchange_ref) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of file, licence_id, exchange_ref")
        return self


class DeliveryIn(_In):
    """How the result reaches the applicant."""

    method: DeliveryMethod
    address: Text500 | None = None


class CaseIn(_In):
    """A new application."""

    basic_code: Code
    mode: HandlingMode
    receiving_region: RegionCode
    handling_region: RegionCode
    applicant: ApplicantIn
    materials: list[MaterialIn] = Field(default_factory=list, max_length=100)
    form: dict[str, Any] = Field(default_factory=dict, description="item-specific form data (at most 20 kB)")
    delivery: DeliveryIn
    participants: dict[Code, RegionCode] = Field(
        default_factory=dict, max_length=10, description="joint handling: role -> region"
    )

    @field_validator("form")
    @classmethod
    def _form_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_FORM_BYTES:
            raise ValueError(f"form data is limited to {MAX_FORM_BYTES} bytes")
        return value


class TransferIn(_In):
    """Forward the materials: electronically, or by post with a tracking number."""

    method: Literal["electronic", "post"] = "electronic"
    tracking_number: Ref | None = None
    note: Text500 | None = None


class AcceptIn(_In):
    """Accept the case (no fields needed)."""

    note: Text500 | None = None


class ReasonIn(_In):
    """A command that needs a reason."""

    reason: Text2000


class OptionalReasonIn(_In):
    """A command with an optional reason."""

    reason: Text2000 | None = None


class CorrectionItemIn(_In):
    """One missing or faulty material."""

    material_code: Code
    problem: Literal["missing", "faulty"]
    note: Text500 | None = None


class CorrectionIn(_In):
    """One notice listing every missing or faulty material."""

    items: list[CorrectionItemIn] = Field(min_length=1, max_length=50)
    due_date: date | None = Field(None, description="by default the configured number of working days")
    note: Text2000 | None = None


class ResubmitIn(_In):
    """The corrected materials, one for every material the notice named."""

    materials: list[MaterialIn] = Field(min_length=1, max_length=100)
    note: Text2000 | None = None


class ExtendIn(_In):
    """Extend the time limits."""

    days: int = Field(ge=1, le=365)
    reason: Text2000


class TaskCompleteIn(_In):
    """Complete a joint task."""

    outcome: Text200 = "done"
    note: Text2000 | None = None


class ResultIn(_In):
    """What an approval produced."""

    licence_id: Ref | None = None
    document_ref: Ref | None = None
    summary: Text500 | None = None


class ConcludeIn(_In):
    """The decision."""

    decision: Decision
    result: ResultIn = Field(default_factory=ResultIn)
    reason: Text2000 | None = None


class ProofIn(_In):
    """Proof of delivery."""

    tracking_number: Ref | None = None
    receipt_ref: Ref | None = None
    signed_by: Text100 | None = None
    note: Text500 | None = None


class DeliverIn(_In):
    """Hand the result over."""

    method: DeliveryMethod | None = None
    proof: ProofIn


class RatingIn(_In):
    """The applicant's five-level rating."""

    level: int = Field(ge=1, le=5, description="1 very dissatisfied … 5 very satisfied")
    comment: Text500 | None = None


class MessageIn(_In):
    """A liaison message."""

    body: Text2000


# --- responses -----------------------------------------------------------------------------------


class ApplicantOut(BaseModel):
    """The applicant; name and full number only for the case's parties."""

    type: Audience
    subject_hash: str
    masked_id: str
    name: str | None = None
    id_number: str | None = None


class MaterialOut(BaseModel):
    """A supplied material."""

    code: str
    source: Literal["file", "licence", "exchange"]
    sha256: str | None = None
    file_name: str | None = None
    licence_id: str | None = None
    exchange_ref: str | None = None
    uploaded: bool | None = Field(
        None, description="for files: whether content with this SHA-256 was uploaded"
    )


class DeliveryOut(BaseModel):
    """Delivery method (and address, for parties)."""

    method: DeliveryMethod
    address: str | None = None


class TaskOut(BaseModel):
    """A joint task."""

    id: str
    role: str
    region: str
    done: bool
    completed_at: datetime | None = None
    outcome: str | None = None
    note: str | None = None


class TaskList(BaseModel):
    """The tasks of a joint case."""

    items: list[TaskOut]


class CorrectionItemOut(BaseModel):
    """One item of a notice."""

    material_code: str
    problem: str
    note: str | None = None


class CorrectionOut(BaseModel):
    """A correction notice."""

    round: int
    items: list[CorrectionItemOut]
    due_date: date
    requested_at: datetime
    resolved_at: datetime | None = None
    clock_stopped: bool
    note: str | None = None


class DeadlineOut(BaseModel):
    """A due date in Asia/Shanghai; provisional beyond the published holiday calendar."""

    limit_days: int
    due_date: date
    provisional: bool


class CaseOut(BaseModel):
    """A case."""

    id: str
    number: str
    basic_code: str
    item_version: int
    item_name: str
    mode: HandlingMode
    receiving_region: str
    handling_region: str
    status: str
    applicant: ApplicantOut
    materials: list[MaterialOut]
    delivery: DeliveryOut
    form: dict[str, Any] | None = None
    participants: dict[str, str]
    tasks: list[TaskOut]
    corrections: list[CorrectionOut]
    correction_rounds: int
    deadlines: dict[str, DeadlineOut]
    clock_running: bool
    overdue: bool
    extension_days: int
    submitted_at: datetime
    transferred_at: datetime | None = None
    transfer: dict[str, Any] = Field(default_factory=dict)
    accepted_at: datetime | None = None
    concluded_at: datetime | None = None
    decision: Decision | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    handling_working_days: int | None = None
    on_time: bool | None = None
    delivered_at: datetime | None = None
    delivery_proof: dict[str, Any] = Field(default_factory=dict)
    closed_at: datetime | None = None
    rating: int | None = None
    version: int
    allowed_actions: list[str] = Field(description="what the caller may do now")


class CaseSummary(BaseModel):
    """A case in a list."""

    id: str
    number: str
    basic_code: str
    item_version: int
    mode: str
    receiving_region: str
    handling_region: str
    status: str
    masked_id: str
    submitted_at: datetime
    promised_due_date: date | None = None
    statutory_due_date: date | None = None
    overdue: bool
    correction_rounds: int
    version: int


class CasePage(BaseModel):
    """A page of cases, newest first."""

    items: list[CaseSummary]
    next_cursor: str | None = None


class HistoryOut(BaseModel):
    """One entry of a case's history."""

    action: str
    from_status: str | None
    to_status: str
    actor: dict[str, Any] | None
    reason: str | None
    details: dict[str, Any]
    at: datetime


class HistoryList(BaseModel):
    """The history, oldest first."""

    items: list[HistoryOut]


class MessageOut(BaseModel):
    """A liaison message."""

    id: str
    side: str
    region: str | None
    client_id: str
    body: str
    created_at: datetime


class MessagePage(BaseModel):
    """Messages, oldest first."""

    items: list[MessageOut]
    next_cursor: str | None = None


class FileOut(BaseModel):
    """An uploaded material file."""

    id: str
    material_code: str
    sha256: str
    size: int
    content_type: str
    file_name: str | None
    created_at: datetime


class FileList(BaseModel):
    """Uploaded files of a case."""

    items: list[FileOut]


class StatisticsGroup(BaseModel):
    """Figures of one group."""

    group: dict[str, str]
    received: int
    concluded: int
    rejected: int
    withdrawn: int
    overdue_open: int
    on_time_rate: float | None
    handling_days_mean: float | None
    handling_days_p90: float | None
    correction_rounds_per_case: float | None
    transfer_seconds_mean: float | None
    satisfaction_mean: float | None
    ratings: int
    ratings_by_level: dict[str, int]


class StatisticsOut(BaseModel):
    """How items perform, by the requested grouping."""

    group_by: list[str]
    since: date | None
    until: date | None
    groups: list[StatisticsGroup]
