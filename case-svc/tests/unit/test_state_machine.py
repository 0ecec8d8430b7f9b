"""Every action × every state × every side × every mode, against a table written out by hand."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from case_factories import (
    HANDLING,
    NOW,
    PARTICIPANT_A,
    RECEIVING,
    STRANGER,
    actor,
    new_case,
)
from case_svc.domain.errors import IllegalTransition, WrongSide
from case_svc.domain.model import Case, CorrectionItem, Decision, DeliveryMethod, MaterialRef, MaterialSource
from case_svc.domain.state_machine import Action, CaseStatus
from case_svc.domain.working_days import WorkingDayCalendar
from tongban_contracts.reference import HandlingMode

CAL = WorkingDayCalendar()
ONLINE, PROXY, JOINT = HandlingMode.ONLINE, HandlingMode.PROXY, HandlingMode.JOINT
EVERY = (ONLINE, PROXY, JOINT)
OPEN = {"submitted", "transferred", "accepted", "correction_requested", "suspended"}

# The specification, independent of the implementation's tables: mode -> states the action is possible in.
EXPECTED_STATES: dict[str, dict[HandlingMode, set[str]]] = {
    "transfer": {PROXY: {"submitted"}},
    "accept": {ONLINE: {"submitted"}, JOINT: {"submitted"}, PROXY: {"transferred"}},
    "reject": {
        ONLINE: {"submitted", "correction_requested"},
        JOINT: {"submitted", "correction_requested"},
        PROXY: {"transferred", "correction_requested"},
    },
    "request-correction": {
        ONLINE: {"submitted", "accepted"},
        JOINT: {"submitted", "accepted"},
        PROXY: {"transferred", "accepted"},
    },
    "resubmit": {m: {"correction_requested"} for m in EVERY},
    "suspend": {m: {"accepted"} for m in EVERY},
    "resume": {m: {"suspended"} for m in EVERY},
    "extend": {m: {"accepted"} for m in EVERY},
    "complete-task": {JOINT: {"accepted"}},
    "conclude": {m: {"accepted"} for m in EVERY},
    "deliver": {m: {"concluded"} for m in EVERY},
    "withdraw": {m: set(OPEN) for m in EVERY},
    "rate": {m: {"concluded", "delivered"} for m in EVERY},
}
EXPECTED_SIDE = {
    "transfer": "receiving",
    "accept": "handling",
    "reject": "handling",
    "request-correction": "handling",
    "resubmit": "receiving",
    "suspend": "handling",
    "resume": "handling",
    "extend": "handling",
    "complete-task": "participant",
    "conclude": "handling",
    "deliver": "receiving",
    "withdraw": "receiving",
    "rate": "receiving",
}
EXPECTED_TARGET = {
    "transfer": "transferred",
    "accept": "accepted",
    "reject": "rejected",
    "request-correction": "correction_requested",
    "suspend": "suspended",
    "resume": "accepted",
    "extend": "accepted",
    "complete-task": "accepted",
    "conclude": "concluded",
    "deliver": "delivered",
    "withdraw": "withdrawn",
    "rate": None,  # stays concluded or delivered
    "resubmit": None,  # returns to where the correction was asked
}
CALLERS = {"receiving": RECEIVING, "handling": HANDLING, "participant": PARTICIPANT_A, "stranger": STRANGER}


def _accept(case: Case) -> None:
    if case.mode == PROXY:
        case.transfer_to_handler(actor(RECEIVING), NOW, method="electronic")
    case.accept(actor(HANDLING), NOW, CAL)


def build(mode: HandlingMode, state: str, *, pending_task: bool = False) -> Case:
    """A case of this mode driven into the state through its commands (or placed there if unreachable)."""
    case = new_case(mode)
    if state == "submitted":
        pass
    elif state == "transferred":
        if mode == PROXY:
            case.transfer_to_handler(actor(RECEIVING), NOW, method="electronic")
        else:
            case.status = CaseStatus.TRANSFERRED  # unreachable outside proxy; still refused correctly
    elif state == "correction_requested":
        if mode == PROXY:
            case.transfer_to_handler(actor(RECEIVING), NOW, method="electronic")
        case.request_correction(
            actor(HANDLING), NOW, items=[CorrectionItem("M02", "faulty")], due_on=date(2026, 10, 20)
        )
    else:
        _accept(case)
        if state == "suspended":
            case.suspend(actor(HANDLING), NOW, reason="expert review")
        if state in ("concluded", "delivered"):
            _finish_tasks(case)
            case.conclude(actor(HANDLING), NOW, CAL, decision=Decision.APPROVED, result={"licence_id": "L-1"})
        if state == "delivered":
            case.deliver(actor(RECEIVING), NOW, method=DeliveryMethod.ELECTRONIC, proof={"receipt": "R1"})
        if state in ("rejected", "withdrawn"):
            case.status = CaseStatus(state)
    if state in ("rejected",) and case.status != CaseStatus.REJECTED:
        case.status = CaseStatus.REJECTED
    if state == "accepted" and not pending_task:
        _finish_tasks(case, keep_one=False)
    assert case.status.value == state
    case.pull_events()
    return case


def _finish_tasks(case: Case, keep_one: bool = False) -> None:
    for task in case.tasks[: len(case.tasks) - 1] if keep_one else case.tasks:
        task.done = True


def perform(case: Case, action: str, region: str) -> None:
    """Run the command with valid arguments."""
    who = actor(region)
    match action:
        case "transfer":
            case.transfer_to_handler(who, NOW, method="post", tracking_number="SF123")
        case "accept":
            case.accept(who, NOW, CAL)
        case "reject":
            case.reject(who, NOW, reason="not eligible")
        case "request-correction":
            case.request_correction(
                who, NOW, items=[CorrectionItem("M01", "missing")], due_on=date(2026, 10, 30)
            )
        case "resubmit":
            case.resubmit(
                who,
                NOW + timedelta(days=1),
                CAL,
                item=None,
                materials=[MaterialRef("M02", MaterialSource.FILE, sha256="1" * 64)],
            )
        case "suspend":
            case.suspend(who, NOW, reason="hearing")
        case "resume":
            case.resume(who, NOW + timedelta(days=3), CAL)
        case "extend":
            case.extend(who, NOW, CAL, days=2, reason="complex")
        case "complete-task":
            own = [t.id for t in case.tasks if t.region == region and not t.done]
            task_id = own[0] if own else (case.tasks[0].id if case.tasks else "no-such-task")
            case.complete_task(who, NOW, task_id=task_id, outcome="done")
        case "conclude":
            case.conclude(who, NOW, CAL, decision=Decision.APPROVED, result={"licence_id": "L-9"})
        case "deliver":
            case.deliver(who, NOW, method=DeliveryMethod.POST, proof={"tracking_number": "EMS1"})
        case "withdraw":
            case.withdraw(who, NOW, reason="no longer needed")
        case "rate":
            case.rate(who, NOW, level=5)
        case _:
            raise AssertionError(action)


STATES = [s.value for s in CaseStatus]
ACTIONS = [a.value for a in Action]


def test_the_specification_covers_every_action() -> None:
    assert set(EXPECTED_STATES) == set(ACTIONS) == set(EXPECTED_SIDE)


@pytest.mark.parametrize("mode", EVERY, ids=lambda m: m.value)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("caller", list(CALLERS))
def test_transition_table(mode: HandlingMode, state: str, action: str, caller: str) -> None:
    case = build(mode, state, pending_task=action == "complete-task")
    region = CALLERS[caller]
    possible = state in EXPECTED_STATES[action].get(mode, set())
    # In a joint case the participant also holds the participant side; elsewhere that caller is a stranger.
    caller_side = caller if (caller != "participant" or mode == JOINT) else "stranger"
    if not possible:
        with pytest.raises(IllegalTransition) as illegal:
            perform(case, action, region)
        assert action not in illegal.value.allowed
        assert "allowed now:" in str(illegal.value)
        assert case.status.value == state
        return
    if caller_side != EXPECTED_SIDE[action]:
        with pytest.raises(WrongSide) as wrong:
            perform(case, action, region)
        assert wrong.value.side == EXPECTED_SIDE[action]
        assert case.status.value == state
        assert case.events == []
        return
    before = case.status.value
    perform(case, action, region)
    target = EXPECTED_TARGET[action]
    if action == "resubmit":
        assert case.status.value == ("transferred" if mode == PROXY else "submitted")
    else:
        assert case.status.value == (target or before)
    assert len(case.events) == 1
    assert case.history[-1].actor == actor(region)


@pytest.mark.parametrize("mode", EVERY, ids=lambda m: m.value)
@pytest.mark.parametrize("state", STATES)
def test_allowed_actions_match_the_table(mode: HandlingMode, state: str) -> None:
    case = build(mode, state)
    for caller, region in CALLERS.items():
        caller_side = caller if (caller != "participant" or mode == JOINT) else "stranger"
        allowed = set(case.allowed_actions(case.sides_of(region), actor(region)))
        expected = {
            a
            for a in ACTIONS
            if state in EXPECTED_STATES[a].get(mode, set()) and EXPECTED_SIDE[a] == caller_side
        }
        # Guards that the default build leaves closed: tasks all done, not yet rated.
        if mode == JOINT and state == "accepted":
            expected.discard("complete-task")
        assert allowed == expected, (caller, sorted(allowed), sorted(expected))
