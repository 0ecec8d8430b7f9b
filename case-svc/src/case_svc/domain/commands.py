"""Commands: what a caller asks of case-svc, already validated for shape by the API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tongban_contracts.reference import Audience, HandlingMode

from case_svc.domain.model import Actor, CorrectionItem, Decision, DeliveryMethod, MaterialRef
from case_svc.domain.state_machine import Action


@dataclass(frozen=True)
class SubmitCase:
    """File a case (the receiving platform, for its applicant)."""

    actor: Actor
    basic_code: str
    mode: HandlingMode
    receiving_region: str
    handling_region: str
    applicant_kind: Audience
    applicant_name: str
    applicant_id_number: str  # already validated (check digit)
    materials: tuple[MaterialRef, ...]
    delivery_method: DeliveryMethod
    delivery_address: str | None = None
    form: Mapping[str, Any] = field(default_factory=dict)
    participants: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseCommand:
    """A command on an existing case, guarded by If-Match."""

    case_id: str
    actor: Actor
    if_match: str | None

    action: Action = field(init=False, default=Action.ACCEPT)


@dataclass(frozen=True)
class TransferCase(CaseCommand):
    """Forward the materials to the handling region."""

    method: str = "electronic"
    tracking_number: str | None = None
    note: str | None = None
    action: Action = field(init=False, default=Action.TRANSFER)


@dataclass(frozen=True)
class AcceptCase(CaseCommand):
    """Formal acceptance."""

    action: Action = field(init=False, default=Action.ACCEPT)


@dataclass(frozen=True)
class RejectCase(CaseCommand):
    """Not accepted."""

    reason: str = ""
    action: Action = field(init=False, default=Action.REJECT)


@dataclass(frozen=True)
class RequestCorrection(CaseCommand):
    """One notice with every missing or faulty material."""

    items: tuple[CorrectionItem, ...] = ()
    due_date: date | None = None
    note: str | None = None
    action: Action = field(init=False, default=Action.REQUEST_CORRECTION)


@dataclass(frozen=True)
class ResubmitCase(CaseCommand):
    """The corrected materials."""

    materials: tuple[MaterialRef, ...] = ()
    note: str | None = None
    action: Action = field(init=False, default=Action.RESUBMIT)


@dataclass(frozen=True)
class SuspendCase(CaseCommand):
    """Stop the legal clock."""

    reason: str = ""
    action: Action = field(init=False, default=Action.SUSPEND)


@dataclass(frozen=True)
class ResumeCase(CaseCommand):
    """Restart the legal clock."""

    reason: str | None = None
    action: Action = field(init=False, default=Action.RESUME)


@dataclass(frozen=True)
class ExtendCase(CaseCommand):
    """Extend the limits by working days."""

    days: int = 0
    reason: str = ""
    action: Action = field(init=False, default=Action.EXTEND)


@dataclass(frozen=True)
class CompleteTask(CaseCommand):
    """A participating region completes its task."""

    task_id: str = ""
    outcome: str = "done"
    note: str | None = None
    action: Action = field(init=False, default=Action.COMPLETE_TASK)


@dataclass(frozen=True)
class ConcludeCase(CaseCommand):
    """The decision."""

    decision: Decision = Decision.APPROVED
    result: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None
    action: Action = field(init=False, default=Action.CONCLUDE)


@dataclass(frozen=True)
class DeliverCase(CaseCommand):
    """Hand over the result."""

    method: DeliveryMethod | None = None
    proof: Mapping[str, Any] = field(default_factory=dict)
    action: Action = field(init=False, default=Action.DELIVER)


@dataclass(frozen=True)
class WithdrawCase(CaseCommand):
    """The applicant withdraws."""

    reason: str = ""
    action: Action = field(init=False, default=Action.WITHDRAW)


@dataclass(frozen=True)
class RateCase(CaseCommand):
    """The applicant's rating."""

    level: int = 0
    comment: str | None = None
    action: Action = field(init=False, default=Action.RATE)
