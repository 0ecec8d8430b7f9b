"""The deadline worker's passes: warnings and overdue events exactly once per case and due date.

Each event is claimed with a conditional UPDATE of a marker column (``<kind>_warned_for`` or
``<kind>_overdue_for`` set to the due date), which also takes the event's sequence from the case's
own counter. Of two workers racing for one case only one UPDATE matches, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute
from tongban_kit.uow import UnitOfWork

from case_svc.adapters.orm import CaseRow
from case_svc.adapters.repository import CaseRepository, StaleCase
from case_svc.domain.model import DeadlineKind
from case_svc.domain.working_days import local_date
from case_svc.service_layer.events import build_envelope, case_facts
from case_svc.service_layer.services import CaseServices

log = structlog.get_logger("case.deadlines")

_COLUMNS: dict[DeadlineKind, tuple[Any, Any, Any, Any]] = {
    DeadlineKind.PROMISED: (
        CaseRow.promised_due,
        CaseRow.promised_warned_for,
        CaseRow.promised_overdue_for,
        CaseRow.promised_provisional,
    ),
    DeadlineKind.STATUTORY: (
        CaseRow.statutory_due,
        CaseRow.statutory_warned_for,
        CaseRow.statutory_overdue_for,
        CaseRow.statutory_provisional,
    ),
}


async def _claim(
    uow: UnitOfWork,
    services: CaseServices,
    case_id: str,
    kind: DeadlineKind,
    due: date,
    marker: InstrumentedAttribute[Any],
    name: str,
    now: datetime,
    details: dict[str, Any],
) -> bool:
    due_col, _, _, provisional_col = _COLUMNS[kind]
    async with uow:
        stmt = (
            update(CaseRow)
            .where(
                CaseRow.id == case_id,
                CaseRow.status == "accepted",
                due_col == due,
                or_(marker.is_(None), marker != due),
            )
            .values({marker.key: due, "event_sequence": CaseRow.event_sequence + 1})
            .returning(
                CaseRow.event_sequence,
                CaseRow.number,
                CaseRow.basic_code,
                CaseRow.item_version,
                CaseRow.mode,
                CaseRow.receiving_region,
                CaseRow.handling_region,
                CaseRow.status,
                provisional_col,
            )
            .execution_options(synchronize_session=False)
        )
        row = (await uow.session.execute(stmt)).first()
        if row is None:
            await uow.rollback()
            return False  # another worker claimed it, or the case moved on
        facts = case_facts(
            case_id=case_id,
            number=row[1],
            basic_code=row[2],
            item_version=row[3],
            mode=row[4],
            receiving_region=row[5],
            handling_region=row[6],
            status=row[7],
        )
        payload = {
            "deadline": kind.value,
            "due_date": due.isoformat(),
            "provisional": bool(row[8]),
            **details,
        }
        uow.emit(
            services.topic,
            build_envelope(name, facts, sequence=int(row[0]), occurred_at=now, actor=None, details=payload),
        )
        await uow.commit()
        return True


async def deadline_pass(*, uow: UnitOfWork, services: CaseServices, now: datetime | None = None) -> int:
    """Emit due warnings and overdue events; return how many this worker claimed."""
    now = now or services.clock()
    today = local_date(now)
    warn_days = services.settings.deadline_warning_days
    # Any due date within warn_days working days lies within this many calendar days (long holidays included).
    horizon = today + timedelta(days=warn_days * 2 + 12)
    batch = services.settings.deadline_batch
    emitted = 0
    for kind, (due_col, warned_col, overdue_col, _) in _COLUMNS.items():
        async with uow:
            warn_rows = (
                await uow.session.execute(
                    select(CaseRow.id, due_col)
                    .where(
                        CaseRow.status == "accepted",
                        due_col >= today,
                        due_col <= horizon,
                        or_(warned_col.is_(None), warned_col != due_col),
                    )
                    .limit(batch)
                )
            ).all()
            late_rows = (
                await uow.session.execute(
                    select(CaseRow.id, due_col)
                    .where(
                        CaseRow.status == "accepted",
                        due_col < today,
                        or_(overdue_col.is_(None), overdue_col != due_col),
                    )
                    .limit(batch)
                )
            ).all()
        for case_id, due in warn_rows:
            left = services.calendar.count(today, due).days
            if left > warn_days:
                continue
            if await _claim(
                uow,
                services,
                case_id,
                kind,
                due,
                warned_col,
                "deadline-warning",
                now,
                {"working_days_left": left},
            ):
                emitted += 1
        for case_id, due in late_rows:
            if await _claim(uow, services, case_id, kind, due, overdue_col, "overdue", now, {}):
                emitted += 1
    if emitted:
        log.info("deadline events emitted", count=emitted)
    return emitted


async def recompute_provisional(*, uow: UnitOfWork, services: CaseServices) -> int:
    """Recompute provisional due dates that the installed calendar now knows; return how many changed."""
    known_until = services.calendar.last_known_day()
    if known_until is None:
        return 0
    async with uow:
        ids = (
            (
                await uow.session.execute(
                    select(CaseRow.id).where(
                        CaseRow.status.in_(["accepted", "correction_requested", "suspended"]),
                        or_(
                            and_(CaseRow.promised_provisional.is_(True), CaseRow.promised_due <= known_until),
                            and_(
                                CaseRow.statutory_provisional.is_(True), CaseRow.statutory_due <= known_until
                            ),
                        ),
                    )
                )
            )
            .scalars()
            .all()
        )
    changed = 0
    for case_id in ids:
        async with uow:
            repo = CaseRepository(uow.session, services.cipher)
            case = await repo.get(case_id)
            if case is None or not case.recompute_deadlines(services.calendar):
                continue
            try:
                await repo.save(case, case.version, services.clock())
            except StaleCase:
                continue  # changed meanwhile; the next pass looks again
            await uow.commit()
            changed += 1
    if changed:
        log.info("provisional due dates recomputed", count=changed)
    return changed
