"""Legal time limits in China's working days (official holiday calendar, Asia/Shanghai dates).

chinese-calendar knows only the years the State Council has published. Beyond them we count Monday
to Friday and mark the result provisional, so a case never fails for want of a calendar; provisional
due dates are recomputed when a newer calendar is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

# A lookup that answers True/False for a known date or raises NotImplementedError for an unknown year,
# which is what chinese_calendar.is_workday does.
WorkdayLookup = Callable[[date], bool]


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware instant")
    return instant.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class DueDate:
    """A computed date and whether any day on the way was outside the published calendar."""

    date: date
    provisional: bool


@dataclass(frozen=True)
class DayCount:
    """A number of working days and whether it relied on the Monday-to-Friday fallback."""

    days: int
    provisional: bool


@dataclass(frozen=True)
class Pause:
    """A stretch in which the legal clock stood still (suspension or waiting for a correction)."""

    started_on: date
    ended_on: date | None = None


class WorkingDayCalendar:
    """Working-day arithmetic over the official calendar with a Monday-to-Friday fallback."""

    def __init__(self, lookup: WorkdayLookup | None = None) -> None:
        self._lookup = lookup or chinese_calendar.is_workday

    def last_known_day(self, horizon_years: int = 30) -> date | None:
        """The last day of the latest year the calendar knows (None if it knows none near today)."""
        this_year = date.today().year
        for year in range(this_year + horizon_years, this_year - horizon_years, -1):
            try:
                self._lookup(date(year, 12, 31))
            except NotImplementedError:
                continue
            return date(year, 12, 31)
        return None

    def is_workday(self, day: date) -> tuple[bool, bool]:
        """Return (is a working day, known from the published calendar)."""
        try:
            return bool(self._lookup(day)), True
        except NotImplementedError:
            return day.weekday() < 5, False

    def add(self, start: date, days: int) -> DueDate:
        """The date ``days`` working days after ``start`` (the start day itself does not count)."""
        if days < 0:
            raise ValueError("a time limit is never negative")
        current = start
        provisional = False
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            workday, known = self.is_workday(current)
            provisional = provisional or not known
            if workday:
                remaining -= 1
        return DueDate(current, provisional)

    def count(self, after: date, until: date) -> DayCount:
        """Working days in (after, until]: zero when until is not later than after."""
        provisional = False
        total = 0
        current = after
        while current < until:
            current += timedelta(days=1)
            workday, known = self.is_workday(current)
            provisional = provisional or not known
            if workday:
                total += 1
        return DayCount(total, provisional)


def compute_due(
    calendar: WorkingDayCalendar,
    accepted_on: date,
    limit_days: int,
    *,
    extension_days: int = 0,
    pauses: Iterable[Pause] = (),
) -> DueDate:
    """Due date: acceptance plus the limit and extensions, moved by every finished pause.

    A pause moves the date by exactly the working days it lasted (the day the clock stopped still
    counts as used; the day it restarted counts as waited). An unfinished pause has not moved it yet.
    """
    due = calendar.add(accepted_on, limit_days + extension_days)
    provisional = due.provisional
    current = due.date
    for pause in pauses:
        if pause.ended_on is None:
            continue
        waited = calendar.count(pause.started_on, pause.ended_on)
        moved = calendar.add(current, waited.days)
        provisional = provisional or waited.provisional or moved.provisional
        current = moved.date
    return DueDate(current, provisional)


def paused_working_days(calendar: WorkingDayCalendar, pauses: Sequence[Pause], today: date) -> int:
    """Working days spent paused (an open pause counts until today)."""
    return sum(calendar.count(p.started_on, p.ended_on or today).days for p in pauses)
