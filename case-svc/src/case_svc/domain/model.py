"""The Case aggregate: one application of one item by one applicant, across two or more regions."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tongban_contracts.reference import PROVINCES, Audience, HandlingMode

from case_svc.domain.errors import IllegalTransition, Issue, RuleViolation, WrongSide
from case_svc.domain.items import CatalogueItem, RegionOffer
from case_svc.domain.state_machine import (
    FINAL_STATES,
    OPEN_STATES,
    RULES,
    Action,
    CaseStatus,
    Side,
    state_allows,
)
from case_svc.domain.working_days import Pause, WorkingDayCalendar, compute_due, local_date

MAX_CORRECTION_ITEMS = 50
RATING_LEVELS = {1: "very_dissatisfied", 2: "dissatisfied", 3: "neutral", 4: "satisfied", 5: "very_satisfied"}


class MaterialSource(StrEnum):
    """How a material reaches the case."""

    FILE = "file"  # a scanned file, uploaded to the blob store
    LICENCE = "licence"  # an electronic licence id, verified through eseal-svc
    EXCHANGE = "exchange"  # a data-exchange reference, verified through data-exchange-svc


class DeliveryMethod(StrEnum):
    """How the result reaches the applicant."""

    POST = "post"
    ELECTRONIC = "electronic"
    PICKUP = "pickup"


class Decision(StrEnum):
    """The outcome of a concluded case."""

    APPROVED = "approved"
    DENIED = "denied"


class DeadlineKind(StrEnum):
    """法定 (statutory) and 承诺 (promised) time limits."""

    STATUTORY = "statutory"
    PROMISED = "promised"


class PauseKind(StrEnum):
    """Why the clock stood still."""

    SUSPENSION = "suspension"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Actor:
    """Who acts: the platform client, its region, and the person it acts for (if any)."""

    client_id: str
    region: str | None = None
    on_behalf_of: str | None = None
    subject_hash: str | None = None

    def record(self) -> dict[str, str]:
        """What history and events record about the actor (no personal data)."""
        out = {"client_id": self.client_id}
        if self.region:
            out["region"] = self.region
        if self.on_behalf_of:
            out["on_behalf_of"] = self.on_behalf_of
        return out


@dataclass(frozen=True)
class Applicant:
    """The applicant as the case keeps it: the full identity number lives only in the encrypted store."""

    kind: Audience
    name: str
    subject_hash: str
    masked_id: str


@dataclass(frozen=True)
class MaterialRef:
    """A material supplied with the application or a resubmission."""

    code: str
    source: MaterialSource
    sha256: str | None = None
    file_name: str | None = None
    licence_id: str | None = None
    exchange_ref: str | None = None

    def describe(self) -> dict[str, Any]:
        """Event-safe description."""
        out: dict[str, Any] = {"code": self.code, "source": self.source.value}
        if self.sha256:
            out["sha256"] = self.sha256
        if self.licence_id:
            out["licence_id"] = self.licence_id
        if self.exchange_ref:
            out["exchange_ref"] = self.exchange_ref
        return out


@dataclass(frozen=True)
class Delivery:
    """Delivery method; the postal address itself is personal data kept encrypted outside the domain."""

    method: DeliveryMethod
    has_address: bool = False


@dataclass(frozen=True)
class ItemPolicy:
    """The rules of the item version the case was filed under (pinned at submission)."""

    basic_code: str
    version: int
    name: str
    statutory_limit_days: int
    promised_limit_days: int
    suspension_allowed: bool
    suspension_max_days: int | None
    extension_allowed: bool
    extension_max_days: int | None
    joint_roles: tuple[str, ...]
    material_codes: tuple[str, ...]
    result_type: str | None = None
    result_licence_type: str | None = None

    @classmethod
    def pin(cls, item: CatalogueItem, offer: RegionOffer | None) -> ItemPolicy:
        """Pin an item version, with the handling region's promised limit when it sets one."""
        promised = item.promised_limit_days
        if offer is not None and offer.promised_limit_days:
            promised = min(offer.promised_limit_days, item.statutory_limit_days)
        return cls(
            basic_code=item.basic_code,
            version=item.version,
            name=item.name,
            statutory_limit_days=item.statutory_limit_days,
            promised_limit_days=promised,
            suspension_allowed=item.suspension_allowed,
            suspension_max_days=item.suspension_max_days,
            extension_allowed=item.extension_allowed,
            extension_max_days=item.extension_max_days,
            joint_roles=tuple(sorted(item.joint_roles)),
            material_codes=tuple(m.code for m in item.materials),
            result_type=item.result_type,
            result_licence_type=item.result_licence_type,
        )


@dataclass
class Task:
    """A participating region's part of a joint case."""

    id: str
    role: str
    region: str
    done: bool = False
    completed_at: datetime | None = None
    outcome: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CorrectionItem:
    """One missing or faulty material in a correction notice."""

    material_code: str
    problem: str  # missing | faulty
    note: str | None = None


@dataclass
class Correction:
    """A correction notice (一次性告知): every problem at once, with a due date."""

    round: int
    items: tuple[CorrectionItem, ...]
    due_on: date
    requested_at: datetime
    after_acceptance: bool
    note: str | None = None
    resolved_at: datetime | None = None


@dataclass
class PauseRecord:
    """A stretch of stopped clock after acceptance."""

    kind: PauseKind
    started_on: date
    reason: str | None = None
    ended_on: date | None = None
    working_days: int | None = None  # set when it ends

    def as_pause(self) -> Pause:
        """The arithmetic view of the pause."""
        return Pause(self.started_on, self.ended_on)


@dataclass
class Deadline:
    """A computed due date."""

    kind: DeadlineKind
    limit_days: int
    due_on: date
    provisional: bool


@dataclass(frozen=True)
class HistoryEntry:
    """One status change or command, with who made it and why."""

    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    actor: Actor | None
    at: datetime
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseEvent:
    """A domain event the aggregate recorded; the service layer turns it into an integration event."""

    name: str  # kebab-case, e.g. "correction-requested"
    at: datetime
    actor: Actor | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    """What a receiving platform submits, after identity numbers were validated and hashed."""

    mode: HandlingMode
    receiving_region: str
    handling_region: str
    applicant: Applicant
    materials: tuple[MaterialRef, ...]
    delivery: Delivery
    participants: Mapping[str, str] = field(default_factory=dict)


def check_submission(item: CatalogueItem, offer: RegionOffer | None, sub: Submission) -> list[Issue]:
    """Every way a submission fails the published item version, all at once."""
    issues: list[Issue] = []
    if not item.is_usable:
        issues.append(Issue("basic_code", f"item {item.basic_code} is no longer published", "item-retired"))
    if sub.mode.value not in item.modes:
        allowed = ", ".join(item.modes) or "none"
        issues.append(Issue("mode", f"the item allows the modes {allowed}", "mode-not-allowed"))
    if sub.handling_region not in PROVINCES:
        issues.append(Issue("handling_region", "not a province code", "unknown-region"))
    elif offer is None:
        issues.append(
            Issue(
                "handling_region",
                f"region {sub.handling_region} does not implement item {item.basic_code}",
                "region-not-implementing",
            )
        )
    elif sub.mode.value not in offer.modes:
        issues.append(
            Issue(
                "handling_region",
                f"region {sub.handling_region} does not offer {item.basic_code} in mode {sub.mode.value}",
                "mode-not-offered",
            )
        )
    if sub.mode == HandlingMode.PROXY and sub.receiving_region == sub.handling_region:
        issues.append(
            Issue(
                "handling_region",
                "proxy handling needs a handling region other than the receiver",
                "same-region",
            )
        )
    if sub.applicant.kind.value not in item.audience:
        issues.append(
            Issue("applicant.type", f"the item serves {', '.join(item.audience)} only", "audience-not-served")
        )
    issues.extend(_material_issues(item, sub.materials))
    issues.extend(_participant_issues(item, sub))
    if sub.delivery.method == DeliveryMethod.POST and not sub.delivery.has_address:
        issues.append(Issue("delivery.address", "postal delivery needs an address", "address-required"))
    return issues


def _material_issues(
    item: CatalogueItem, materials: Sequence[MaterialRef], *, complete: bool = True
) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for index, ref in enumerate(materials):
        where = f"materials.{index}"
        spec = item.material(ref.code)
        if ref.code in seen:
            issues.append(Issue(f"{where}.code", f"material {ref.code} is given twice", "duplicate-material"))
        seen.add(ref.code)
        if spec is None:
            issues.append(Issue(f"{where}.code", f"the item has no material {ref.code}", "unknown-material"))
            continue
        if ref.source == MaterialSource.LICENCE and not spec.licence_types:
            issues.append(
                Issue(
                    f"{where}.licence_id",
                    f"material {ref.code} cannot be replaced by a licence",
                    "licence-not-accepted",
                )
            )
        if ref.source == MaterialSource.EXCHANGE and not spec.exchange_fetchable:
            issues.append(
                Issue(
                    f"{where}.exchange_ref",
                    f"material {ref.code} cannot be fetched from the data-exchange hub",
                    "exchange-not-accepted",
                )
            )
    if complete:
        for spec in item.materials:
            if spec.mandatory and spec.code not in seen:
                issues.append(
                    Issue(
                        "materials",
                        f"required material {spec.code} ({spec.name}) is missing",
                        "material-missing",
                    )
                )
    return issues


def _participant_issues(item: CatalogueItem, sub: Submission) -> list[Issue]:
    if sub.mode != HandlingMode.JOINT:
        if sub.participants:
            return [
                Issue(
                    "participants",
                    "participants are named only for joint handling",
                    "participants-unexpected",
                )
            ]
        return []
    issues: list[Issue] = []
    roles = set(item.joint_roles)
    given = set(sub.participants)
    for role in sorted(roles - given):
        issues.append(Issue(f"participants.{role}", f"joint role {role} has no region", "role-missing"))
    for role in sorted(given - roles):
        issues.append(Issue(f"participants.{role}", f"the item has no joint role {role}", "unknown-role"))
    for role, region in sorted(sub.participants.items()):
        if region not in PROVINCES:
            issues.append(Issue(f"participants.{role}", f"{region} is not a province code", "unknown-region"))
    return issues


def case_number(handling_region: str, day: date, seq: int) -> str:
    """The human case number, e.g. ``110000-20261127-000123``."""
    if not 0 < seq <= 999_999:
        raise ValueError("the daily case sequence runs from 1 to 999999")
    return f"{handling_region}-{day:%Y%m%d}-{seq:06d}"


@dataclass
class Case:
    """The case aggregate; every command checks the state machine, then records history and events."""

    id: str
    number: str
    policy: ItemPolicy
    mode: HandlingMode
    receiving_region: str
    handling_region: str
    applicant: Applicant
    materials: list[MaterialRef]
    delivery: Delivery
    submitted_at: datetime
    participants: dict[str, str] = field(default_factory=dict)
    status: CaseStatus = CaseStatus.SUBMITTED
    resume_status: CaseStatus | None = None
    tasks: list[Task] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    pauses: list[PauseRecord] = field(default_factory=list)
    deadlines: dict[DeadlineKind, Deadline] = field(default_factory=dict)
    extension_days: int = 0
    transferred_at: datetime | None = None
    transfer: dict[str, Any] = field(default_factory=dict)
    accepted_at: datetime | None = None
    accepted_on: date | None = None
    concluded_at: datetime | None = None
    decision: Decision | None = None
    result: dict[str, Any] = field(default_factory=dict)
    handling_working_days: int | None = None
    on_time: bool | None = None
    delivered_at: datetime | None = None
    delivery_proof: dict[str, Any] = field(default_factory=dict)
    closed_at: datetime | None = None
    rating: int | None = None
    version: int = 1
    history: list[HistoryEntry] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)

    # --- creation -------------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        case_id: str,
        number: str,
        item: CatalogueItem,
        offer: RegionOffer | None,
        submission: Submission,
        actor: Actor,
        now: datetime,
        new_task_id: Callable[[], str],
    ) -> Case:
        """File a new case; a RuleViolation lists every problem with the submission."""
        if actor.region is not None and actor.region != submission.receiving_region:
            raise RuleViolation(
                "the receiving region must be the caller's own region",
                [
                    Issue(
                        "receiving_region",
                        f"your token acts for region {actor.region}",
                        "wrong-receiving-region",
                    )
                ],
                code="wrong-receiving-region",
            )
        issues = check_submission(item, offer, submission)
        if issues:
            raise RuleViolation(
                "the application does not meet the published item", issues, code="invalid-application"
            )
        case = cls(
            id=case_id,
            number=number,
            policy=ItemPolicy.pin(item, offer),
            mode=submission.mode,
            receiving_region=submission.receiving_region,
            handling_region=submission.handling_region,
            applicant=submission.applicant,
            materials=list(submission.materials),
            delivery=submission.delivery,
            submitted_at=now,
            participants=dict(submission.participants),
        )
        case.tasks = [
            Task(id=new_task_id(), role=role, region=region)
            for role, region in sorted(submission.participants.items())
        ]
        details = {
            "applicant": {
                "type": case.applicant.kind.value,
                "subject_hash": case.applicant.subject_hash,
                "masked_id": case.applicant.masked_id,
            },
            "materials": [m.describe() for m in case.materials],
            "delivery_method": case.delivery.method.value,
            "participants": dict(case.participants),
            "tasks": [{"task_id": t.id, "role": t.role, "region": t.region} for t in case.tasks],
            "item_name": case.policy.name,
        }
        case._record("submit", None, CaseStatus.SUBMITTED, actor, now, "submitted", details=details)
        return case

    # --- the state machine ----------------------------------------------------------------------

    def sides_of(self, region: str | None) -> frozenset[Side]:
        """The sides a region plays in this case (none for a stranger or a regionless client)."""
        if region is None:
            return frozenset()
        sides = set()
        if region == self.receiving_region:
            sides.add(Side.RECEIVING)
        if region == self.handling_region:
            sides.add(Side.HANDLING)
        if region in self.participants.values():
            sides.add(Side.PARTICIPANT)
        return frozenset(sides)

    def is_party(self, region: str | None) -> bool:
        """Whether a region takes part in this case (and so may read it)."""
        return bool(self.sides_of(region))

    def _guard(self, action: Action, actor: Actor | None = None) -> str | None:
        """Why a state-admitted action is still impossible now, or None."""
        if action == Action.REJECT and self.status == CaseStatus.CORRECTION_REQUESTED and self.accepted_at:
            return "the case was accepted; refuse it by concluding with the decision denied"
        if action == Action.SUSPEND:
            if not self.policy.suspension_allowed:
                return "the item does not allow suspension"
            limit = self.policy.suspension_max_days
            if limit is not None and self._paused_days(PauseKind.SUSPENSION) >= limit:
                return f"the item allows at most {limit} working days of suspension"
        if action == Action.EXTEND:
            if not self.policy.extension_allowed:
                return "the item does not allow extension"
            if self.extension_remaining() <= 0:
                return "the extension the item allows is used up"
        if action == Action.COMPLETE_TASK:
            pending = [t for t in self.tasks if not t.done]
            if not pending:
                return "every task is done"
            if actor is not None and not any(t.region == actor.region for t in pending):
                return "your region has no pending task"
        if action == Action.CONCLUDE and any(not t.done for t in self.tasks):
            return "every joint task must be completed first"
        if action == Action.RATE and self.rating is not None:
            return "the case was already rated"
        return None

    def allowed_actions(self, sides: frozenset[Side] | None = None, actor: Actor | None = None) -> list[str]:
        """Actions possible now, for the given sides (every side when None)."""
        out = []
        for action, rule in RULES.items():
            if sides is not None and rule.side not in sides:
                continue
            if state_allows(action, self.status, self.mode) and self._guard(action, actor) is None:
                out.append(action.value)
        return out

    def check(self, action: Action, actor: Actor) -> None:
        """Raise IllegalTransition (state/guard) or WrongSide (role) unless the actor may act now."""
        sides = self.sides_of(actor.region)
        rule = RULES[action]
        if not state_allows(action, self.status, self.mode):
            reason = None
            if action in (Action.TRANSFER, Action.COMPLETE_TASK) and rule.states.get(self.mode) is None:
                reason = f"not part of {self.mode.value} handling"
            raise IllegalTransition(
                action.value, self.status.value, self.allowed_actions(sides, actor), reason
            )
        if rule.side not in sides:
            raise WrongSide(action.value, rule.side.value, self.allowed_actions(sides, actor))
        reason = self._guard(action, actor)
        if reason is not None:
            raise IllegalTransition(
                action.value, self.status.value, self.allowed_actions(sides, actor), reason
            )

    # --- commands -------------------------------------------------------------------------------

    def transfer_to_handler(
        self,
        actor: Actor,
        now: datetime,
        *,
        method: str,
        tracking_number: str | None = None,
        note: str | None = None,
    ) -> None:
        """The receiving region forwards the materials (electronically, or by post with a tracking number)."""
        self.check(Action.TRANSFER, actor)
        if method == "post" and not tracking_number:
            raise RuleViolation(
                "a posted transfer needs a tracking number",
                [Issue("tracking_number", "required when method is post", "tracking-number-required")],
            )
        self.transferred_at = now
        self.transfer = {"method": method, "tracking_number": tracking_number}
        self._move(
            Action.TRANSFER,
            CaseStatus.TRANSFERRED,
            actor,
            now,
            note,
            {
                "method": method,
                "tracking_number": tracking_number,
                "transfer_seconds": int((now - self.submitted_at).total_seconds()),
            },
        )

    def accept(self, actor: Actor, now: datetime, calendar: WorkingDayCalendar) -> None:
        """Formal acceptance (受理): the legal clock starts today."""
        self.check(Action.ACCEPT, actor)
        self.accepted_at = now
        self.accepted_on = local_date(now)
        self._recompute_deadlines(calendar)
        self._move(Action.ACCEPT, CaseStatus.ACCEPTED, actor, now, None, self._deadline_details())

    def reject(self, actor: Actor, now: datetime, *, reason: str) -> None:
        """Not accepted (不予受理), with the reason the applicant is told."""
        self.check(Action.REJECT, actor)
        self._resolve_open_correction(now)
        self.closed_at = now
        self._move(Action.REJECT, CaseStatus.REJECTED, actor, now, reason, {"reason": reason})

    def request_correction(
        self,
        actor: Actor,
        now: datetime,
        *,
        items: Sequence[CorrectionItem],
        due_on: date,
        note: str | None = None,
    ) -> Correction:
        """One notice listing every missing or faulty material, with a due date; the clock stops."""
        self.check(Action.REQUEST_CORRECTION, actor)
        issues = []
        if not items:
            issues.append(Issue("items", "name at least one missing or faulty material", "items-required"))
        if len(items) > MAX_CORRECTION_ITEMS:
            issues.append(Issue("items", f"at most {MAX_CORRECTION_ITEMS} items", "too-many-items"))
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.material_code not in self.policy.material_codes:
                issues.append(
                    Issue(
                        f"items.{index}.material_code",
                        f"the item has no material {item.material_code}",
                        "unknown-material",
                    )
                )
            if item.material_code in seen:
                issues.append(
                    Issue(
                        f"items.{index}.material_code",
                        "list each material once per notice",
                        "duplicate-material",
                    )
                )
            seen.add(item.material_code)
        today = local_date(now)
        if due_on <= today:
            issues.append(Issue("due_date", "the due date must be after today", "due-date-past"))
        if issues:
            raise RuleViolation("the correction notice is not complete and consistent", issues)
        correction = Correction(
            round=len(self.corrections) + 1,
            items=tuple(items),
            due_on=due_on,
            requested_at=now,
            after_acceptance=self.accepted_at is not None,
            note=note,
        )
        self.corrections.append(correction)
        self.resume_status = self.status
        if self.accepted_at is not None:
            self.pauses.append(PauseRecord(PauseKind.CORRECTION, today, note))
        details = {
            "round": correction.round,
            "items": [
                {"material_code": i.material_code, "problem": i.problem, "note": i.note}
                for i in correction.items
            ],
            "due_date": due_on.isoformat(),
            "clock_stopped": correction.after_acceptance,
        }
        self._move(Action.REQUEST_CORRECTION, CaseStatus.CORRECTION_REQUESTED, actor, now, note, details)
        return correction

    def resubmit(
        self,
        actor: Actor,
        now: datetime,
        calendar: WorkingDayCalendar,
        *,
        item: CatalogueItem | None,
        materials: Sequence[MaterialRef],
        note: str | None = None,
    ) -> None:
        """The applicant's corrected materials: every material of the notice must be addressed."""
        self.check(Action.RESUBMIT, actor)
        correction = self.open_correction()
        assert correction is not None  # correction_requested always has one open notice
        issues: list[Issue] = []
        if item is not None:
            issues.extend(_material_issues(item, materials, complete=False))
        given = {m.code for m in materials}
        for wanted in correction.items:
            if wanted.material_code not in given:
                issues.append(
                    Issue(
                        "materials",
                        f"material {wanted.material_code} of correction round {correction.round} is missing",
                        "correction-incomplete",
                    )
                )
        if issues:
            raise RuleViolation("the resubmission does not answer the correction notice", issues)
        by_code = {m.code: m for m in materials}
        self.materials = [by_code.pop(m.code, m) for m in self.materials] + list(by_code.values())
        correction.resolved_at = now
        waited = self._end_pause(PauseKind.CORRECTION, now, calendar)
        target = self.resume_status or CaseStatus.SUBMITTED
        self.resume_status = None
        details: dict[str, Any] = {
            "round": correction.round,
            "materials": [m.describe() for m in materials],
            "paused_working_days": waited,
        }
        if self.deadlines:
            details.update(self._deadline_details())
        self._move(Action.RESUBMIT, target, actor, now, note, details)

    def suspend(self, actor: Actor, now: datetime, *, reason: str) -> None:
        """Stop the legal clock (e.g. for an expert review), if the item allows it."""
        self.check(Action.SUSPEND, actor)
        self.resume_status = CaseStatus.ACCEPTED
        self.pauses.append(PauseRecord(PauseKind.SUSPENSION, local_date(now), reason))
        self._move(Action.SUSPEND, CaseStatus.SUSPENDED, actor, now, reason, {"reason": reason})

    def resume(
        self, actor: Actor, now: datetime, calendar: WorkingDayCalendar, *, reason: str | None = None
    ) -> None:
        """Restart the legal clock; the due dates move by the working days it stood still."""
        self.check(Action.RESUME, actor)
        waited = self._end_pause(PauseKind.SUSPENSION, now, calendar)
        self.resume_status = None
        details = {"paused_working_days": waited, **self._deadline_details()}
        self._move(Action.RESUME, CaseStatus.ACCEPTED, actor, now, reason, details)

    def extend(
        self, actor: Actor, now: datetime, calendar: WorkingDayCalendar, *, days: int, reason: str
    ) -> None:
        """Extend the time limits by working days, within what the item allows."""
        self.check(Action.EXTEND, actor)
        remaining = self.extension_remaining()
        if days < 1 or days > remaining:
            raise RuleViolation(
                f"the extension must be 1 to {remaining} working days",
                [Issue("days", f"at most {remaining} working days remain", "extension-too-long")],
            )
        self.extension_days += days
        self._recompute_deadlines(calendar)
        details = {"days": days, "extension_days_total": self.extension_days, **self._deadline_details()}
        self._move(Action.EXTEND, self.status, actor, now, reason, details)

    def complete_task(
        self, actor: Actor, now: datetime, *, task_id: str, outcome: str, note: str | None = None
    ) -> Task:
        """A participating region completes its own task of a joint case."""
        self.check(Action.COMPLETE_TASK, actor)
        task = next((t for t in self.tasks if t.id == task_id), None)
        if task is None:
            raise RuleViolation(
                "no such task", [Issue("task_id", f"task {task_id} is not part of this case", "unknown-task")]
            )
        if task.region != actor.region:
            raise WrongSide(
                Action.COMPLETE_TASK.value, f"participant ({task.role}, region {task.region})", []
            )
        if task.done:
            raise IllegalTransition(
                Action.COMPLETE_TASK.value,
                self.status.value,
                self.allowed_actions(self.sides_of(actor.region), actor),
                f"task {task.role} is already done",
            )
        task.done = True
        task.completed_at = now
        task.outcome = outcome
        task.note = note
        details = {
            "task_id": task.id,
            "role": task.role,
            "region": task.region,
            "outcome": outcome,
            "tasks_pending": sum(1 for t in self.tasks if not t.done),
        }
        self._move(Action.COMPLETE_TASK, self.status, actor, now, note, details)
        return task

    def conclude(
        self,
        actor: Actor,
        now: datetime,
        calendar: WorkingDayCalendar,
        *,
        decision: Decision,
        result: Mapping[str, Any],
        reason: str | None = None,
    ) -> None:
        """The decision (办结): approved with a named result, or denied with a reason."""
        self.check(Action.CONCLUDE, actor)
        issues = []
        if decision == Decision.APPROVED:
            if not any(result.get(k) for k in ("licence_id", "document_ref", "summary")):
                issues.append(Issue("result", "an approval names its result", "result-required"))
            if self.policy.result_type == "licence" and not result.get("licence_id"):
                issues.append(
                    Issue("result.licence_id", "this item issues a licence: name its id", "licence-required")
                )
        elif not reason:
            issues.append(Issue("reason", "a denial gives its reason", "reason-required"))
        if issues:
            raise RuleViolation("the conclusion is incomplete", issues)
        assert self.accepted_on is not None
        self.concluded_at = now
        self.decision = decision
        self.result = dict(result)
        today = local_date(now)
        elapsed = calendar.count(self.accepted_on, today).days
        paused = sum(calendar.count(p.started_on, p.ended_on or today).days for p in self.pauses)
        self.handling_working_days = max(0, elapsed - paused)
        promised = self.deadlines.get(DeadlineKind.PROMISED)
        self.on_time = promised is None or today <= promised.due_on
        details = {
            "decision": decision.value,
            "result": dict(result),
            "reason": reason,
            "handling_working_days": self.handling_working_days,
            "on_time": self.on_time,
            "correction_rounds": len(self.corrections),
        }
        self._move(Action.CONCLUDE, CaseStatus.CONCLUDED, actor, now, reason, details)

    def deliver(
        self, actor: Actor, now: datetime, *, method: DeliveryMethod, proof: Mapping[str, Any]
    ) -> None:
        """Hand the result over (送达) with proof of delivery."""
        self.check(Action.DELIVER, actor)
        if not any(proof.values()):
            raise RuleViolation(
                "delivery needs a proof", [Issue("proof", "give a proof of delivery", "proof-required")]
            )
        self.delivered_at = now
        self.closed_at = now
        self.delivery_proof = {"method": method.value, **dict(proof)}
        self._move(
            Action.DELIVER,
            CaseStatus.DELIVERED,
            actor,
            now,
            None,
            {"method": method.value, "proof": dict(proof)},
        )

    def withdraw(self, actor: Actor, now: datetime, *, reason: str) -> None:
        """The applicant withdraws before conclusion."""
        self.check(Action.WITHDRAW, actor)
        self._resolve_open_correction(now)
        for pause in self.pauses:
            if pause.ended_on is None:
                pause.ended_on = local_date(now)
        self.resume_status = None
        self.closed_at = now
        self._move(Action.WITHDRAW, CaseStatus.WITHDRAWN, actor, now, reason, {"reason": reason})

    def rate(self, actor: Actor, now: datetime, *, level: int, comment: str | None = None) -> None:
        """The applicant's five-level rating (好差评), once, after conclusion."""
        self.check(Action.RATE, actor)
        if level not in RATING_LEVELS:
            raise RuleViolation("a rating is 1 to 5", [Issue("level", "must be 1 to 5", "bad-level")])
        if actor.subject_hash is not None and actor.subject_hash != self.applicant.subject_hash:
            raise WrongSide(Action.RATE.value, "applicant", [])
        self.rating = level
        # The comment is the applicant's free text: kept with the rating, never put into events.
        self._move(
            Action.RATE, self.status, actor, now, None, {"level": level, "label": RATING_LEVELS[level]}
        )

    # --- deadlines ------------------------------------------------------------------------------

    def extension_remaining(self) -> int:
        """Working days of extension still available."""
        if not self.policy.extension_allowed:
            return 0
        limit = self.policy.extension_max_days
        if limit is None:
            limit = self.policy.statutory_limit_days
        return max(0, limit - self.extension_days)

    def _paused_days(self, kind: PauseKind) -> int:
        return sum(p.working_days or 0 for p in self.pauses if p.kind == kind)

    def _end_pause(self, kind: PauseKind, now: datetime, calendar: WorkingDayCalendar) -> int:
        pause = next((p for p in reversed(self.pauses) if p.kind == kind and p.ended_on is None), None)
        if pause is None:
            return 0
        pause.ended_on = local_date(now)
        pause.working_days = calendar.count(pause.started_on, pause.ended_on).days
        self._recompute_deadlines(calendar)
        return pause.working_days

    def _recompute_deadlines(self, calendar: WorkingDayCalendar) -> None:
        if self.accepted_on is None:
            return
        pauses = [p.as_pause() for p in self.pauses]
        for kind, limit in (
            (DeadlineKind.STATUTORY, self.policy.statutory_limit_days),
            (DeadlineKind.PROMISED, self.policy.promised_limit_days),
        ):
            due = compute_due(
                calendar, self.accepted_on, limit, extension_days=self.extension_days, pauses=pauses
            )
            self.deadlines[kind] = Deadline(kind, limit, due.date, due.provisional)

    def recompute_deadlines(self, calendar: WorkingDayCalendar) -> bool:
        """Recompute due dates (e.g. after a newer holiday calendar was installed); True if any changed."""
        before = {k: (d.due_on, d.provisional) for k, d in self.deadlines.items()}
        self._recompute_deadlines(calendar)
        return before != {k: (d.due_on, d.provisional) for k, d in self.deadlines.items()}

    @property
    def clock_running(self) -> bool:
        """Whether the legal clock is running now."""
        return self.status == CaseStatus.ACCEPTED

    def is_overdue(self, today: date, kind: DeadlineKind = DeadlineKind.PROMISED) -> bool:
        """Past its due date while still open (a paused clock is not overdue)."""
        deadline = self.deadlines.get(kind)
        return deadline is not None and self.clock_running and today > deadline.due_on

    def _deadline_details(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, deadline in sorted(self.deadlines.items()):
            out[f"{kind.value}_due_date"] = deadline.due_on.isoformat()
            out[f"{kind.value}_provisional"] = deadline.provisional
        return out

    # --- helpers --------------------------------------------------------------------------------

    def open_correction(self) -> Correction | None:
        """The unanswered correction notice, if any."""
        return next((c for c in reversed(self.corrections) if c.resolved_at is None), None)

    def _resolve_open_correction(self, now: datetime) -> None:
        correction = self.open_correction()
        if correction is not None:
            correction.resolved_at = now

    @property
    def is_open(self) -> bool:
        """Not concluded, rejected or withdrawn."""
        return self.status in OPEN_STATES

    @property
    def is_final(self) -> bool:
        """Nothing more can change its status."""
        return self.status in FINAL_STATES

    def _move(
        self,
        action: Action,
        target: CaseStatus,
        actor: Actor,
        now: datetime,
        reason: str | None,
        details: Mapping[str, Any],
    ) -> None:
        name = {
            Action.TRANSFER: "transferred",
            Action.ACCEPT: "accepted",
            Action.REJECT: "rejected",
            Action.REQUEST_CORRECTION: "correction-requested",
            Action.RESUBMIT: "resubmitted",
            Action.SUSPEND: "suspended",
            Action.RESUME: "resumed",
            Action.EXTEND: "extended",
            Action.COMPLETE_TASK: "task-completed",
            Action.CONCLUDE: "concluded",
            Action.DELIVER: "delivered",
            Action.WITHDRAW: "withdrawn",
            Action.RATE: "rated",
        }[action]
        self._record(action.value, self.status, target, actor, now, name, reason=reason, details=details)

    def _record(
        self,
        action: str,
        source: CaseStatus | None,
        target: CaseStatus,
        actor: Actor | None,
        now: datetime,
        event_name: str,
        *,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = target
        self.history.append(HistoryEntry(action, source, target, actor, now, reason, dict(details or {})))
        payload = dict(details or {})
        if reason is not None and "reason" not in payload:
            payload["reason"] = reason
        self.events.append(CaseEvent(event_name, now, actor, payload))

    def pull_events(self) -> list[CaseEvent]:
        """Hand over recorded events (the service layer emits them) and forget them."""
        events, self.events = self.events, []
        return events
