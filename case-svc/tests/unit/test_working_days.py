"""Working-day arithmetic over the official calendar, pauses across holidays, provisional fallback."""

from __future__ import annotations

from datetime import UTC, date, datetime

import chinese_calendar
import pytest
from case_factories import HANDLING, RECEIVING, actor, new_case
from case_svc.domain.model import CorrectionItem, DeadlineKind, MaterialRef, MaterialSource
from case_svc.domain.working_days import Pause, WorkingDayCalendar, compute_due, local_date
from tongban_contracts.reference import HandlingMode

CAL = WorkingDayCalendar()


def at(day: date, hour_utc: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)


def test_add_skips_the_national_day_holiday_and_counts_the_makeup_saturday() -> None:
    # Accepted Thu 2026-09-24: Fri 25 is Mid-autumn, Oct 1-7 National Day, Sat Oct 10 is a make-up workday.
    due = CAL.add(date(2026, 9, 24), 10)
    assert due.date == date(2026, 10, 15)
    assert not due.provisional


def test_count_is_exclusive_of_the_start_and_inclusive_of_the_end() -> None:
    assert CAL.count(date(2026, 9, 29), date(2026, 10, 9)).days == 3  # 9-30, 10-08, 10-09
    assert CAL.count(date(2026, 10, 9), date(2026, 10, 9)).days == 0
    assert CAL.count(date(2026, 10, 9), date(2026, 10, 1)).days == 0


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add(date(2026, 1, 5), -1)


def test_local_date_is_beijing_time_and_refuses_naive_datetimes() -> None:
    assert local_date(datetime(2026, 9, 30, 17, 0, tzinfo=UTC)) == date(2026, 10, 1)
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 9, 30, 17, 0))


def test_beyond_the_published_years_monday_to_friday_and_provisional() -> None:
    last_known = max(chinese_calendar.holidays).year
    start = date(last_known + 1, 3, 2)  # a Monday-ish date in an unpublished year
    due = CAL.add(start, 5)
    assert due.provisional
    assert CAL.count(start, due.date).days == 5
    # A week has exactly five working days in the fallback.
    assert CAL.count(date(last_known + 1, 6, 1), date(last_known + 1, 6, 8)).days == 5


def test_provisional_due_date_is_recomputed_when_a_newer_calendar_arrives() -> None:
    # Today's calendar knows only up to 2026; a "newer" one declares 2027-01-01 and 01-04 holidays.
    def newer(day: date) -> bool:
        if day.year == 2027:
            return day.weekday() < 5 and day not in (date(2027, 1, 1), date(2027, 1, 4))
        return chinese_calendar.is_workday(day)

    case = new_case(HandlingMode.ONLINE, now=at(date(2026, 12, 21)))
    case.accept(actor(HANDLING), at(date(2026, 12, 21)), CAL)
    promised = case.deadlines[DeadlineKind.PROMISED]
    assert promised.provisional
    assert promised.due_on == date(2027, 1, 4)  # Monday to Friday beyond the published years
    changed = case.recompute_deadlines(WorkingDayCalendar(newer))
    assert changed
    updated = case.deadlines[DeadlineKind.PROMISED]
    assert not updated.provisional
    assert updated.due_on == date(2027, 1, 6)  # two holidays later than the Monday-Friday guess
    assert case.recompute_deadlines(WorkingDayCalendar(newer)) is False


def test_correction_after_acceptance_moves_the_due_date_by_exactly_the_waited_working_days() -> None:
    case = new_case(HandlingMode.ONLINE, now=at(date(2026, 9, 24)))
    case.accept(actor(HANDLING), at(date(2026, 9, 24)), CAL)
    before = {k: d.due_on for k, d in case.deadlines.items()}
    assert before[DeadlineKind.PROMISED] == date(2026, 10, 15)
    assert before[DeadlineKind.STATUTORY] == CAL.add(date(2026, 9, 24), 20).date
    # Asked on Tue 9-29; answered on Fri 10-09: the wait spans the National Day holiday.
    case.request_correction(
        actor(HANDLING),
        at(date(2026, 9, 29)),
        items=[CorrectionItem("M02", "faulty")],
        due_on=date(2026, 10, 20),
    )
    assert not case.clock_running
    case.resubmit(
        actor(RECEIVING),
        at(date(2026, 10, 9)),
        CAL,
        item=None,
        materials=[MaterialRef("M02", MaterialSource.FILE, sha256="2" * 64)],
    )
    waited = CAL.count(date(2026, 9, 29), date(2026, 10, 9)).days
    assert waited == 3  # not the 10 calendar days: the seven holidays do not count
    for kind, due in before.items():
        assert case.deadlines[kind].due_on == CAL.add(due, waited).date
    assert case.deadlines[DeadlineKind.PROMISED].due_on == date(2026, 10, 20)
    assert case.events[-1].details["paused_working_days"] == 3
    assert case.status.value == "accepted"


def test_suspension_and_extension_both_move_the_dates() -> None:
    case = new_case(HandlingMode.ONLINE, now=at(date(2026, 3, 2)))
    case.accept(actor(HANDLING), at(date(2026, 3, 2)), CAL)  # Monday
    due = case.deadlines[DeadlineKind.STATUTORY].due_on
    case.suspend(actor(HANDLING), at(date(2026, 3, 3)), reason="expert appraisal")
    case.resume(actor(HANDLING), at(date(2026, 3, 10)), CAL)  # Tue -> next Tue: 5 working days
    assert case.deadlines[DeadlineKind.STATUTORY].due_on == CAL.add(due, 5).date
    case.extend(actor(HANDLING), at(date(2026, 3, 11)), CAL, days=4, reason="complex")
    assert case.deadlines[DeadlineKind.STATUTORY].due_on == CAL.add(due, 9).date
    assert case.extension_days == 4


def test_compute_due_ignores_an_unfinished_pause() -> None:
    base = compute_due(CAL, date(2026, 3, 2), 5)
    assert compute_due(CAL, date(2026, 3, 2), 5, pauses=[Pause(date(2026, 3, 3))]) == base
    moved = compute_due(CAL, date(2026, 3, 2), 5, pauses=[Pause(date(2026, 3, 3), date(2026, 3, 4))])
    assert moved.date == CAL.add(base.date, 1).date
