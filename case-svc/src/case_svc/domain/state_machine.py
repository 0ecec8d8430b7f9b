"""The one state machine of a case: which action each side may take in which state and mode.

Decisions recorded here (see README):
- proxy (异地代收代办) cases must be transferred by the receiving region before the handling region
  can decide; online (全程网办) and joint (多地联办) cases travel electronically, so the handling
  region decides straight from ``submitted``.
- a correction (补齐补正) may be asked before acceptance (the clock has not started) or after it
  (the clock stops until the resubmission); resubmitting returns the case to where it was.
- rejection (不予受理) is an answer to the application, so it is possible only before acceptance;
  after acceptance a refusal is a conclusion with the decision ``denied``.
- withdrawal is possible in every state before conclusion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from tongban_contracts.reference import HandlingMode


class CaseStatus(StrEnum):
    """Where a case is in its life."""

    SUBMITTED = "submitted"
    TRANSFERRED = "transferred"
    ACCEPTED = "accepted"
    CORRECTION_REQUESTED = "correction_requested"
    SUSPENDED = "suspended"
    CONCLUDED = "concluded"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    """Commands on a case; the value is the URL segment of ``POST /v1/cases/{id}/<action>``."""

    TRANSFER = "transfer"
    ACCEPT = "accept"
    REJECT = "reject"
    REQUEST_CORRECTION = "request-correction"
    RESUBMIT = "resubmit"
    SUSPEND = "suspend"
    RESUME = "resume"
    EXTEND = "extend"
    COMPLETE_TASK = "complete-task"
    CONCLUDE = "conclude"
    DELIVER = "deliver"
    WITHDRAW = "withdraw"
    RATE = "rate"


class Side(StrEnum):
    """The part a region plays in one case."""

    RECEIVING = "receiving"  # 收件地: the applicant's window
    HANDLING = "handling"  # 办理地: decides
    PARTICIPANT = "participant"  # a region with a task in a joint case


ALL_MODES = tuple(HandlingMode)
OPEN_STATES = frozenset(
    {
        CaseStatus.SUBMITTED,
        CaseStatus.TRANSFERRED,
        CaseStatus.ACCEPTED,
        CaseStatus.CORRECTION_REQUESTED,
        CaseStatus.SUSPENDED,
    }
)
FINAL_STATES = frozenset({CaseStatus.DELIVERED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN})


def awaiting_decision(mode: HandlingMode) -> CaseStatus:
    """The state in which the handling region decides on acceptance."""
    return CaseStatus.TRANSFERRED if mode == HandlingMode.PROXY else CaseStatus.SUBMITTED


@dataclass(frozen=True)
class Rule:
    """Who may take an action, from which states per mode, and the state it leads to."""

    side: Side
    states: Mapping[HandlingMode, frozenset[CaseStatus]]
    target: CaseStatus | None  # None: the case stays where it is (or returns, for resubmit)


def _every_mode(*states: CaseStatus) -> dict[HandlingMode, frozenset[CaseStatus]]:
    return {mode: frozenset(states) for mode in ALL_MODES}


def _reception(*extra: CaseStatus) -> dict[HandlingMode, frozenset[CaseStatus]]:
    return {mode: frozenset({awaiting_decision(mode), *extra}) for mode in ALL_MODES}


RULES: dict[Action, Rule] = {
    Action.TRANSFER: Rule(
        Side.RECEIVING, {HandlingMode.PROXY: frozenset({CaseStatus.SUBMITTED})}, CaseStatus.TRANSFERRED
    ),
    Action.ACCEPT: Rule(Side.HANDLING, _reception(), CaseStatus.ACCEPTED),
    # From correction_requested only before acceptance: a guard in the aggregate checks that.
    Action.REJECT: Rule(Side.HANDLING, _reception(CaseStatus.CORRECTION_REQUESTED), CaseStatus.REJECTED),
    Action.REQUEST_CORRECTION: Rule(
        Side.HANDLING, _reception(CaseStatus.ACCEPTED), CaseStatus.CORRECTION_REQUESTED
    ),
    Action.RESUBMIT: Rule(Side.RECEIVING, _every_mode(CaseStatus.CORRECTION_REQUESTED), None),
    Action.SUSPEND: Rule(Side.HANDLING, _every_mode(CaseStatus.ACCEPTED), CaseStatus.SUSPENDED),
    Action.RESUME: Rule(Side.HANDLING, _every_mode(CaseStatus.SUSPENDED), CaseStatus.ACCEPTED),
    Action.EXTEND: Rule(Side.HANDLING, _every_mode(CaseStatus.ACCEPTED), None),
    Action.COMPLETE_TASK: Rule(
        Side.PARTICIPANT, {HandlingMode.JOINT: frozenset({CaseStatus.ACCEPTED})}, None
    ),
    Action.CONCLUDE: Rule(Side.HANDLING, _every_mode(CaseStatus.ACCEPTED), CaseStatus.CONCLUDED),
    Action.DELIVER: Rule(Side.RECEIVING, _every_mode(CaseStatus.CONCLUDED), CaseStatus.DELIVERED),
    Action.WITHDRAW: Rule(Side.RECEIVING, _every_mode(*OPEN_STATES), CaseStatus.WITHDRAWN),
    Action.RATE: Rule(Side.RECEIVING, _every_mode(CaseStatus.CONCLUDED, CaseStatus.DELIVERED), None),
}


def state_allows(action: Action, status: CaseStatus, mode: HandlingMode) -> bool:
    """Whether the state (in this mode) admits the action at all, before guards and sides."""
    return status in RULES[action].states.get(mode, frozenset())


def side_of(action: Action) -> Side:
    """The side that takes an action."""
    return RULES[action].side
