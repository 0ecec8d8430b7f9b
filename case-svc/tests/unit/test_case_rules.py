"""Rules of the case aggregate beyond the transition table: guards, submission checks, events."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from case_factories import (
    HANDLING,
    NOW,
    PARTICIPANT_A,
    PARTICIPANT_B,
    RECEIVING,
    actor,
    item,
    new_case,
    offer,
    submission,
)
from case_svc.domain.errors import IllegalTransition, RuleViolation, WrongSide
from case_svc.domain.items import parse_item
from case_svc.domain.model import (
    Actor,
    Applicant,
    Case,
    CorrectionItem,
    Decision,
    Delivery,
    DeliveryMethod,
    MaterialRef,
    MaterialSource,
    case_number,
    check_submission,
)
from case_svc.domain.working_days import WorkingDayCalendar
from tongban_contracts.reference import Audience, HandlingMode

CAL = WorkingDayCalendar()


def accepted(mode: HandlingMode = HandlingMode.ONLINE, **overrides: object) -> Case:
    case = new_case(mode, **overrides)  # type: ignore[arg-type]
    if mode == HandlingMode.PROXY:
        case.transfer_to_handler(actor(RECEIVING), NOW, method="electronic")
    case.accept(actor(HANDLING), NOW, CAL)
    return case


def codes(exc: RuleViolation) -> set[str]:
    return {i.code for i in exc.issues}


def test_submission_lists_every_problem_at_once() -> None:
    bad = submission(
        HandlingMode.PROXY,
        handling_region=RECEIVING,
        materials=(
            MaterialRef("M02", MaterialSource.LICENCE, licence_id="X"),
            MaterialRef("M99", MaterialSource.FILE, sha256="0" * 64),
            MaterialRef("M99", MaterialSource.FILE, sha256="0" * 64),
        ),
        delivery=Delivery(DeliveryMethod.POST, has_address=False),
        participants={"review": PARTICIPANT_A},
    )
    issues = check_submission(item(modes=["online", "joint"]), offer(RECEIVING, modes=["online"]), bad)
    assert {i.code for i in issues} == {
        "mode-not-allowed",
        "mode-not-offered",
        "same-region",
        "licence-not-accepted",
        "unknown-material",
        "duplicate-material",
        "material-missing",
        "address-required",
        "participants-unexpected",
    }


def test_conditional_materials_are_not_mandatory_and_exchange_refs_need_a_fetchable_material() -> None:
    ok = submission(
        materials=(
            MaterialRef("M01", MaterialSource.FILE, sha256="0" * 64),
            MaterialRef("M02", MaterialSource.EXCHANGE, exchange_ref="EX-1"),
        )
    )
    assert check_submission(item(), offer(), ok) == []
    wrong = submission(
        materials=(
            MaterialRef("M01", MaterialSource.EXCHANGE, exchange_ref="EX-1"),
            MaterialRef("M02", MaterialSource.FILE, sha256="0" * 64),
        )
    )
    assert [i.code for i in check_submission(item(), offer(), wrong)] == ["exchange-not-accepted"]


def test_joint_participants_must_match_the_items_roles() -> None:
    sub = submission(HandlingMode.JOINT, participants={"review": PARTICIPANT_A, "audit": "999999"})
    issues = check_submission(item(), offer(), sub)
    assert {(i.field, i.code) for i in issues} == {
        ("participants.archive", "role-missing"),
        ("participants.audit", "unknown-role"),
        ("participants.audit", "unknown-region"),
    }


def test_audience_retired_item_and_unknown_offer() -> None:
    sub = submission(applicant=Applicant(Audience.LEGAL_PERSON, "某公司", "cd" * 32, "91110000MA01ABCD1X"))
    retired = parse_item(
        {**_payload(), "audience": ["natural_person"], "status": "retired", "valid_to": "2026-05-01"}
    )
    assert {i.code for i in check_submission(retired, None, sub)} == {
        "item-retired",
        "audience-not-served",
        "region-not-implementing",
    }


def _payload() -> dict[str, object]:
    from case_factories import item_payload

    return item_payload()


def test_submit_refuses_another_regions_receiving_and_records_the_submitted_event() -> None:
    with pytest.raises(RuleViolation) as err:
        Case.submit(
            case_id="c1",
            number="n",
            item=item(),
            offer=offer(),
            submission=submission(),
            actor=actor(PARTICIPANT_A),
            now=NOW,
            new_task_id=lambda: "t",
        )
    assert err.value.code == "wrong-receiving-region"
    case = new_case(HandlingMode.JOINT)
    [event] = case.events
    assert event.name == "submitted"
    assert event.details["applicant"]["subject_hash"] == "ab" * 32
    assert event.details["applicant"]["masked_id"] == "110101********4477"
    assert sorted((t.role, t.region) for t in case.tasks) == [
        ("archive", PARTICIPANT_B),
        ("review", PARTICIPANT_A),
    ]
    assert case.policy.version == 3 and case.policy.promised_limit_days == 10


def test_region_promised_limit_overrides_but_never_exceeds_the_statutory_one() -> None:
    case = Case.submit(
        case_id="c2",
        number="n",
        item=item(),
        offer=offer(promised_limit_days=5),
        submission=submission(),
        actor=actor(RECEIVING),
        now=NOW,
        new_task_id=lambda: "t",
    )
    assert case.policy.promised_limit_days == 5
    case = Case.submit(
        case_id="c3",
        number="n",
        item=item(),
        offer=offer(promised_limit_days=99),
        submission=submission(),
        actor=actor(RECEIVING),
        now=NOW,
        new_task_id=lambda: "t",
    )
    assert case.policy.promised_limit_days == 20


def test_illegal_transition_names_the_allowed_actions() -> None:
    case = new_case(HandlingMode.PROXY)
    with pytest.raises(IllegalTransition) as err:
        case.accept(actor(HANDLING), NOW, CAL)
    assert err.value.allowed == []  # the handling side must wait for the transfer
    with pytest.raises(IllegalTransition) as err:
        case.deliver(actor(RECEIVING), NOW, method=DeliveryMethod.POST, proof={"x": "1"})
    assert err.value.allowed == ["transfer", "withdraw"]
    assert "allowed now: transfer, withdraw" in str(err.value)


def test_online_cases_cannot_be_transferred() -> None:
    case = new_case(HandlingMode.ONLINE)
    with pytest.raises(IllegalTransition) as err:
        case.transfer_to_handler(actor(RECEIVING), NOW, method="electronic")
    assert err.value.reason == "not part of online handling"


def test_posted_transfer_needs_a_tracking_number() -> None:
    case = new_case(HandlingMode.PROXY)
    with pytest.raises(RuleViolation):
        case.transfer_to_handler(actor(RECEIVING), NOW, method="post")
    assert case.status.value == "submitted"


def test_suspension_and_extension_only_if_the_item_allows() -> None:
    case = accepted(suspension={"allowed": False}, extension={"allowed": False})
    with pytest.raises(IllegalTransition, match="does not allow suspension"):
        case.suspend(actor(HANDLING), NOW, reason="x")
    with pytest.raises(IllegalTransition, match="does not allow extension"):
        case.extend(actor(HANDLING), NOW, CAL, days=1, reason="x")
    assert "suspend" not in case.allowed_actions()


def test_extension_is_bounded_by_the_item() -> None:
    case = accepted()
    with pytest.raises(RuleViolation) as err:
        case.extend(actor(HANDLING), NOW, CAL, days=11, reason="x")
    assert codes(err.value) == {"extension-too-long"}
    case.extend(actor(HANDLING), NOW, CAL, days=6, reason="x")
    case.extend(actor(HANDLING), NOW, CAL, days=4, reason="x")
    with pytest.raises(IllegalTransition, match="used up"):
        case.extend(actor(HANDLING), NOW, CAL, days=1, reason="x")


def test_suspension_budget_is_bounded() -> None:
    case = accepted(suspension={"allowed": True, "max_days": 2})
    case.suspend(actor(HANDLING), NOW, reason="x")
    case.resume(actor(HANDLING), NOW + timedelta(days=7), CAL)
    with pytest.raises(IllegalTransition, match="at most 2 working days"):
        case.suspend(actor(HANDLING), NOW + timedelta(days=8), reason="again")


def test_correction_notice_lists_everything_and_counts_rounds() -> None:
    case = accepted(HandlingMode.PROXY)
    with pytest.raises(RuleViolation) as err:
        case.request_correction(
            actor(HANDLING),
            NOW,
            items=[
                CorrectionItem("M09", "missing"),
                CorrectionItem("M01", "faulty"),
                CorrectionItem("M01", "x"),
            ],
            due_on=date(2026, 9, 1),
        )
    assert codes(err.value) == {"unknown-material", "duplicate-material", "due-date-past"}
    notice = case.request_correction(
        actor(HANDLING),
        NOW,
        items=[CorrectionItem("M01", "faulty", "blurred"), CorrectionItem("M03", "missing")],
        due_on=date(2026, 10, 20),
    )
    assert notice.round == 1 and notice.after_acceptance
    with pytest.raises(RuleViolation) as err:
        case.resubmit(
            actor(RECEIVING),
            NOW,
            CAL,
            item=item(),
            materials=[MaterialRef("M01", MaterialSource.FILE, sha256="3" * 64)],
        )
    assert codes(err.value) == {"correction-incomplete"}
    case.resubmit(
        actor(RECEIVING),
        NOW,
        CAL,
        item=item(),
        materials=[
            MaterialRef("M01", MaterialSource.FILE, sha256="3" * 64),
            MaterialRef("M03", MaterialSource.FILE, sha256="4" * 64),
        ],
    )
    assert {m.code: m.sha256 for m in case.materials}["M01"] == "3" * 64
    assert [m.code for m in case.materials] == ["M01", "M02", "M03"]
    case.request_correction(
        actor(HANDLING), NOW, items=[CorrectionItem("M02", "faulty")], due_on=date(2026, 10, 30)
    )
    assert case.corrections[-1].round == 2


def test_reject_after_acceptance_is_refused_while_correction_pending() -> None:
    case = accepted()
    case.request_correction(
        actor(HANDLING), NOW, items=[CorrectionItem("M02", "faulty")], due_on=date(2026, 10, 20)
    )
    with pytest.raises(IllegalTransition, match="concluding with the decision denied"):
        case.reject(actor(HANDLING), NOW, reason="late")
    pre = new_case(HandlingMode.ONLINE)
    pre.request_correction(
        actor(HANDLING), NOW, items=[CorrectionItem("M02", "faulty")], due_on=date(2026, 10, 20)
    )
    pre.reject(actor(HANDLING), NOW, reason="not corrected in time")
    assert pre.status.value == "rejected" and pre.corrections[0].resolved_at == NOW


def test_joint_case_concludes_only_when_every_task_is_done() -> None:
    case = accepted(HandlingMode.JOINT)
    with pytest.raises(IllegalTransition, match="every joint task"):
        case.conclude(actor(HANDLING), NOW, CAL, decision=Decision.APPROVED, result={"licence_id": "L"})
    task_a = next(t for t in case.tasks if t.region == PARTICIPANT_A)
    task_b = next(t for t in case.tasks if t.region == PARTICIPANT_B)
    with pytest.raises(WrongSide):
        case.complete_task(actor(PARTICIPANT_A), NOW, task_id=task_b.id, outcome="ok")
    with pytest.raises(RuleViolation):
        case.complete_task(actor(PARTICIPANT_A), NOW, task_id="nope", outcome="ok")
    case.complete_task(actor(PARTICIPANT_A), NOW, task_id=task_a.id, outcome="ok")
    with pytest.raises(IllegalTransition, match="no pending task"):
        case.complete_task(actor(PARTICIPANT_A), NOW, task_id=task_a.id, outcome="ok")
    assert case.events[-1].details["tasks_pending"] == 1
    case.complete_task(actor(PARTICIPANT_B), NOW, task_id=task_b.id, outcome="ok")
    case.conclude(actor(HANDLING), NOW, CAL, decision=Decision.APPROVED, result={"licence_id": "L"})
    assert case.status.value == "concluded" and case.on_time is True


def test_conclusion_needs_a_result_or_a_reason() -> None:
    case = accepted()
    with pytest.raises(RuleViolation) as err:
        case.conclude(actor(HANDLING), NOW, CAL, decision=Decision.APPROVED, result={"summary": "ok"})
    assert codes(err.value) == {"licence-required"}
    with pytest.raises(RuleViolation) as err:
        case.conclude(actor(HANDLING), NOW, CAL, decision=Decision.DENIED, result={})
    assert codes(err.value) == {"reason-required"}
    case.conclude(
        actor(HANDLING), NOW + timedelta(days=40), CAL, decision=Decision.DENIED, result={}, reason="no"
    )
    assert case.on_time is False and case.handling_working_days is not None


def test_rating_once_by_the_applicant_only() -> None:
    case = accepted()
    case.conclude(actor(HANDLING), NOW, CAL, decision=Decision.APPROVED, result={"licence_id": "L"})
    with pytest.raises(RuleViolation):
        case.rate(actor(RECEIVING), NOW, level=6)
    with pytest.raises(WrongSide):
        case.rate(Actor("platform-440000", RECEIVING, subject_hash="ff" * 32), NOW, level=4)
    case.rate(Actor("platform-440000", RECEIVING, subject_hash="ab" * 32), NOW, level=4)
    with pytest.raises(IllegalTransition, match="already rated"):
        case.rate(actor(RECEIVING), NOW, level=5)
    assert case.rating == 4


def test_withdraw_closes_an_open_pause_and_history_keeps_reasons() -> None:
    case = accepted()
    case.suspend(actor(HANDLING), NOW, reason="hearing")
    case.withdraw(actor(RECEIVING), NOW + timedelta(days=2), reason="moved away")
    assert case.pauses[0].ended_on is not None
    assert [h.action for h in case.history] == ["submit", "accept", "suspend", "withdraw"]
    assert case.history[-1].reason == "moved away"
    assert case.is_final and not case.is_open
    assert [e.name for e in case.pull_events()] == ["submitted", "accepted", "suspended", "withdrawn"]
    assert case.events == []


def test_case_number_format() -> None:
    assert case_number("110000", date(2026, 11, 27), 123) == "110000-20261127-000123"
    with pytest.raises(ValueError, match="sequence"):
        case_number("110000", date(2026, 11, 27), 1_000_000)


def test_overdue_only_while_the_clock_runs() -> None:
    case = accepted()
    due = case.deadlines[next(iter(case.deadlines))].due_on
    assert case.is_overdue(due + timedelta(days=60))
    case.suspend(actor(HANDLING), NOW, reason="x")
    assert not case.is_overdue(due + timedelta(days=60))
