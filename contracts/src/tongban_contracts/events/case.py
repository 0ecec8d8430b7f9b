"""Event payloads of case-svc on ``tongban.case.lifecycle.v1`` (one model per event type).

Every payload carries what a ministry system needs to follow a case without calling back: the case,
its item version, mode and regions, its status after the event, who acted and when. The applicant
is known only by the keyed hash of the identity number and a masked number; no event carries a full
identity number, a name, an address or a free-text comment of the applicant.
Kafka headers: ``ce_sequence`` (gap-free per case), ``ce_receivingregion``, ``ce_handlingregion``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from tongban_contracts.events.common import Payload as _Payload

SERVICE = "case"

Mode = Literal["online", "proxy", "joint"]
Status = Literal[
    "submitted",
    "transferred",
    "accepted",
    "correction_requested",
    "suspended",
    "concluded",
    "delivered",
    "rejected",
    "withdrawn",
]


class Actor(_Payload):
    """Who acted: the platform client, its region, and the person it acted for (token exchange)."""

    client_id: str
    region: str | None = None
    on_behalf_of: str | None = None


class CaseEventBase(_Payload):
    """Fields every case event carries."""

    case_id: str
    case_number: str = Field(description="human case number <handling region>-<yyyymmdd>-<seq>")
    basic_code: str
    item_version: int
    mode: Mode
    receiving_region: str
    handling_region: str
    status: Status = Field(description="the case's status after this event")
    occurred_at: datetime
    actor: Actor | None = Field(None, description="null for events raised by the deadline worker")
    reason: str | None = None


class DueDates(_Payload):
    """Due dates after the event, in Asia/Shanghai dates; provisional beyond the published calendar."""

    statutory_due_date: date | None = None
    statutory_provisional: bool | None = None
    promised_due_date: date | None = None
    promised_provisional: bool | None = None


class ApplicantRef(_Payload):
    """The applicant without personal data."""

    type: Literal["natural_person", "legal_person"]
    subject_hash: str = Field(description="HMAC-SM3 of the upper-cased identity number, hex")
    masked_id: str


class MaterialSummary(_Payload):
    """A supplied material: its catalogue code and where it comes from."""

    code: str
    source: Literal["file", "licence", "exchange"]
    sha256: str | None = None
    licence_id: str | None = None
    exchange_ref: str | None = None


class TaskRef(_Payload):
    """A joint-handling task."""

    task_id: str
    role: str
    region: str


class CorrectionEntry(_Payload):
    """One missing or faulty material in a correction notice."""

    material_code: str
    problem: Literal["missing", "faulty"]
    note: str | None = None


class CaseSubmitted(CaseEventBase):
    """``cn.gov.tongban.case.submitted.v1``: a receiving platform filed a case."""

    item_name: str
    applicant: ApplicantRef
    materials: list[MaterialSummary]
    delivery_method: Literal["post", "electronic", "pickup"]
    participants: dict[str, str] = Field(default_factory=dict, description="joint role -> region")
    tasks: list[TaskRef] = Field(default_factory=list)


class CaseTransferred(CaseEventBase):
    """``cn.gov.tongban.case.transferred.v1``: the receiving region forwarded the materials."""

    method: Literal["electronic", "post"]
    tracking_number: str | None = None
    transfer_seconds: int = Field(description="seconds from submission to transfer")


class CaseAccepted(CaseEventBase, DueDates):
    """``cn.gov.tongban.case.accepted.v1``: formal acceptance; the legal clock starts."""


class CaseRejected(CaseEventBase):
    """``cn.gov.tongban.case.rejected.v1``: not accepted, with the reason."""


class CaseCorrectionRequested(CaseEventBase):
    """``cn.gov.tongban.case.correction-requested.v1``: one notice listing every problem."""

    round: int
    items: list[CorrectionEntry]
    due_date: date
    clock_stopped: bool = Field(description="true when asked after acceptance: the legal clock stops")


class CaseResubmitted(CaseEventBase, DueDates):
    """``cn.gov.tongban.case.resubmitted.v1``: the corrected materials arrived."""

    round: int
    materials: list[MaterialSummary]
    paused_working_days: int


class CaseSuspended(CaseEventBase):
    """``cn.gov.tongban.case.suspended.v1``: the legal clock stops."""


class CaseResumed(CaseEventBase, DueDates):
    """``cn.gov.tongban.case.resumed.v1``: the legal clock restarts; due dates moved."""

    paused_working_days: int


class CaseExtended(CaseEventBase, DueDates):
    """``cn.gov.tongban.case.extended.v1``: the time limits were extended."""

    days: int
    extension_days_total: int


class CaseTaskCompleted(CaseEventBase):
    """``cn.gov.tongban.case.task-completed.v1``: a participating region completed its task."""

    task_id: str
    role: str
    region: str
    outcome: str
    tasks_pending: int


class CaseConcluded(CaseEventBase):
    """``cn.gov.tongban.case.concluded.v1``: the decision was made."""

    decision: Literal["approved", "denied"]
    result: dict[str, Any] = Field(default_factory=dict, description="e.g. licence_id of the issued licence")
    handling_working_days: int
    on_time: bool
    correction_rounds: int


class CaseDelivered(CaseEventBase):
    """``cn.gov.tongban.case.delivered.v1``: the result was handed over."""

    method: Literal["post", "electronic", "pickup"]
    proof: dict[str, Any]


class CaseWithdrawn(CaseEventBase):
    """``cn.gov.tongban.case.withdrawn.v1``: the applicant withdrew."""


class CaseRated(CaseEventBase):
    """``cn.gov.tongban.case.rated.v1``: the applicant's five-level rating (好差评)."""

    level: int = Field(ge=1, le=5)
    label: Literal["very_dissatisfied", "dissatisfied", "neutral", "satisfied", "very_satisfied"]


class CaseDeadlineWarning(CaseEventBase):
    """``cn.gov.tongban.case.deadline-warning.v1``: a due date is near (once per case and due date)."""

    deadline: Literal["statutory", "promised"]
    due_date: date
    working_days_left: int
    provisional: bool


class CaseOverdue(CaseEventBase):
    """``cn.gov.tongban.case.overdue.v1``: a due date passed with the case still open (once per due date)."""

    deadline: Literal["statutory", "promised"]
    due_date: date
    provisional: bool


EVENT_MODELS: dict[str, type[CaseEventBase]] = {
    "submitted": CaseSubmitted,
    "transferred": CaseTransferred,
    "accepted": CaseAccepted,
    "rejected": CaseRejected,
    "correction-requested": CaseCorrectionRequested,
    "resubmitted": CaseResubmitted,
    "suspended": CaseSuspended,
    "resumed": CaseResumed,
    "extended": CaseExtended,
    "task-completed": CaseTaskCompleted,
    "concluded": CaseConcluded,
    "delivered": CaseDelivered,
    "withdrawn": CaseWithdrawn,
    "rated": CaseRated,
    "deadline-warning": CaseDeadlineWarning,
    "overdue": CaseOverdue,
}
"""Event name (the part of the type between ``case.`` and ``.v1``) -> payload model."""
