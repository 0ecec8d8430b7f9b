"""Read side: one case, its history, tasks, messages and files; case lists; statistics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_kit.uow import UnitOfWork

from case_svc.adapters.orm import CasePartyRow, CaseRow, FileRow, HistoryRow, MessageRow, TaskRow
from case_svc.adapters.repository import CaseRepository, PrivateFields
from case_svc.domain.model import Case
from case_svc.service_layer.handlers import CaseNotFound, Viewer, can_see
from case_svc.service_layer.services import CaseServices


class ForbiddenFilter(Exception):
    """A platform asked for another region's cases."""


@dataclass(frozen=True)
class CaseView:
    """A case as a reader may see it: personal data only for its parties."""

    case: Case
    private: PrivateFields | None
    uploaded: frozenset[str] = frozenset()


async def get_case(case_id: str, viewer: Viewer, *, uow: UnitOfWork, services: CaseServices) -> CaseView:
    """One case; personal data is decrypted for the case's parties only."""
    async with uow:
        repo = CaseRepository(uow.session, services.cipher)
        case = await repo.get(case_id)
        if case is None or not can_see(case, viewer):
            raise CaseNotFound(case_id)
        private = repo.private_fields(case_id) if case.is_party(viewer.actor.region) else None
        digests = await uow.session.execute(select(FileRow.sha256).where(FileRow.case_id == case_id))
        return CaseView(case, private, frozenset(digests.scalars().all()))


async def _visible(session: AsyncSession, case_id: str, viewer: Viewer) -> CaseRow:
    row = await session.get(CaseRow, case_id)
    if row is None:
        raise CaseNotFound(case_id)
    if viewer.read_all:
        return row
    party = await session.get(CasePartyRow, (viewer.actor.region or "", case_id))
    if party is None:
        raise CaseNotFound(case_id)
    return row


async def history(case_id: str, viewer: Viewer, *, uow: UnitOfWork) -> list[HistoryRow]:
    """Every status change and command of a case, oldest first."""
    async with uow:
        await _visible(uow.session, case_id, viewer)
        rows = await uow.session.execute(
            select(HistoryRow).where(HistoryRow.case_id == case_id).order_by(HistoryRow.id)
        )
        return list(rows.scalars().all())


async def tasks(case_id: str, viewer: Viewer, *, uow: UnitOfWork) -> tuple[CaseRow, list[TaskRow]]:
    """The joint tasks of a case (and the case row, for its ETag)."""
    async with uow:
        row = await _visible(uow.session, case_id, viewer)
        rows = await uow.session.execute(
            select(TaskRow).where(TaskRow.case_id == case_id).order_by(TaskRow.role)
        )
        return row, list(rows.scalars().all())


async def messages(
    case_id: str, viewer: Viewer, *, uow: UnitOfWork, services: CaseServices, limit: int, after: str | None
) -> list[tuple[MessageRow, str]]:
    """Liaison messages, oldest first, with decrypted bodies (parties only)."""
    async with uow:
        await _visible(uow.session, case_id, viewer)
        query = select(MessageRow).where(MessageRow.case_id == case_id)
        if after:
            query = query.where(MessageRow.id > after)
        rows = (await uow.session.execute(query.order_by(MessageRow.id).limit(limit + 1))).scalars().all()
        return [(r, services.cipher.decrypt(r.body_enc, case_id.encode())) for r in rows]


async def files(case_id: str, viewer: Viewer, *, uow: UnitOfWork) -> list[FileRow]:
    """Uploaded material files of a case."""
    async with uow:
        await _visible(uow.session, case_id, viewer)
        rows = await uow.session.execute(
            select(FileRow).where(FileRow.case_id == case_id).order_by(FileRow.id)
        )
        return list(rows.scalars().all())


async def file(case_id: str, file_id: str, viewer: Viewer, *, uow: UnitOfWork) -> FileRow:
    """One uploaded file's record."""
    async with uow:
        await _visible(uow.session, case_id, viewer)
        row = await uow.session.get(FileRow, file_id)
        if row is None or row.case_id != case_id:
            raise CaseNotFound(file_id)
        return row


# --- lists ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseFilters:
    """Filters of the case list."""

    region: str | None = None
    receiving_region: str | None = None
    handling_region: str | None = None
    status: str | None = None
    basic_code: str | None = None
    mode: str | None = None
    overdue: bool | None = None
    applicant_hash: str | None = None


LIST_COLUMNS = (
    CaseRow.id,
    CaseRow.number,
    CaseRow.basic_code,
    CaseRow.item_version,
    CaseRow.mode,
    CaseRow.receiving_region,
    CaseRow.handling_region,
    CaseRow.status,
    CaseRow.masked_id,
    CaseRow.submitted_at,
    CaseRow.promised_due,
    CaseRow.statutory_due,
    CaseRow.correction_rounds,
    CaseRow.version,
)


async def list_cases(
    filters: CaseFilters,
    viewer: Viewer,
    *,
    uow: UnitOfWork,
    today: date,
    limit: int,
    before_id: str | None,
) -> tuple[list[Any], bool]:
    """Newest first, keyset by id; platforms see only cases their region takes part in.

    Only the summary columns are read (no JSON blobs, no ORM identity map): lists are the hot read path.
    """
    region = filters.region
    if not viewer.read_all:
        own = viewer.actor.region
        if own is None:
            raise ForbiddenFilter("a client without a region lists no cases")
        if region is not None and region != own:
            raise ForbiddenFilter(f"your token acts for region {own}")
        region = own
    status = filters.status
    conditions: list[Any] = []
    if filters.receiving_region:
        conditions.append(CaseRow.receiving_region == filters.receiving_region)
    if filters.handling_region:
        conditions.append(CaseRow.handling_region == filters.handling_region)
    if filters.basic_code:
        conditions.append(CaseRow.basic_code == filters.basic_code)
    if filters.mode:
        conditions.append(CaseRow.mode == filters.mode)
    if filters.applicant_hash:
        conditions.append(CaseRow.subject_hash == filters.applicant_hash.lower())
    if filters.overdue is not None:
        late = and_(CaseRow.status == "accepted", CaseRow.promised_due < today)
        conditions.append(late if filters.overdue else ~late)
        if filters.overdue and status is None:
            status = "accepted"
    if region is not None:
        # The party table carries region + status + case_id in one index: a backward range scan.
        query = select(*LIST_COLUMNS).join(CasePartyRow, CasePartyRow.case_id == CaseRow.id)
        query = query.where(CasePartyRow.region == region)
        if status:
            query = query.where(CasePartyRow.status == status)
        if before_id:
            query = query.where(CasePartyRow.case_id < before_id)
        query = query.order_by(CasePartyRow.case_id.desc())
    else:
        query = select(*LIST_COLUMNS)
        if status:
            query = query.where(CaseRow.status == status)
        if before_id:
            query = query.where(CaseRow.id < before_id)
        query = query.order_by(CaseRow.id.desc())
    if conditions:
        query = query.where(*conditions)
    async with uow:
        rows = list((await uow.session.execute(query.limit(limit + 1))).all())
    more = len(rows) > limit
    return rows[:limit], more


# --- statistics ----------------------------------------------------------------------------------

GROUPS = {
    "handling_region": CaseRow.handling_region,
    "receiving_region": CaseRow.receiving_region,
    "item": CaseRow.basic_code,
    "mode": CaseRow.mode,
}


def percentile(values: Sequence[int], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[rank - 1])


async def statistics(
    *,
    uow: UnitOfWork,
    group_by: Sequence[str],
    region: str | None,
    basic_code: str | None,
    mode: str | None,
    since: datetime | None,
    until: datetime | None,
    today: date,
) -> list[dict[str, Any]]:
    """How items perform: received, concluded, on-time rate, handling time, corrections, transfer, rating."""
    conditions: list[Any] = []
    if region:
        conditions.append(or_(CaseRow.receiving_region == region, CaseRow.handling_region == region))
    if basic_code:
        conditions.append(CaseRow.basic_code == basic_code)
    if mode:
        conditions.append(CaseRow.mode == mode)
    if since:
        conditions.append(CaseRow.submitted_at >= since)
    if until:
        conditions.append(CaseRow.submitted_at < until)
    keys = [GROUPS[g] for g in group_by]
    concluded = CaseRow.concluded_at.is_not(None)
    aggregates = [
        func.count().label("received"),
        func.sum(sql_case((concluded, 1), else_=0)).label("concluded"),
        func.sum(sql_case((CaseRow.status == "rejected", 1), else_=0)).label("rejected"),
        func.sum(sql_case((CaseRow.status == "withdrawn", 1), else_=0)).label("withdrawn"),
        func.sum(sql_case((CaseRow.on_time.is_(True), 1), else_=0)).label("on_time"),
        func.sum(
            sql_case((and_(CaseRow.status == "accepted", CaseRow.promised_due < today), 1), else_=0)
        ).label("overdue_open"),
        func.avg(CaseRow.handling_working_days).label("mean_days"),
        func.avg(CaseRow.correction_rounds).label("corrections"),
        func.avg(sql_case((CaseRow.transferred_at.is_not(None), CaseRow.transfer_seconds))).label("transfer"),
        func.avg(CaseRow.rating).label("rating"),
        func.count(CaseRow.rating).label("rated"),
    ]
    async with uow:
        # PostgreSQL computes the p90 itself; SQLite (the embedded default) has no ordered-set aggregates.
        on_postgres = uow.session.get_bind().dialect.name == "postgresql"
        if on_postgres:
            aggregates.append(
                func.percentile_disc(0.9).within_group(CaseRow.handling_working_days.asc()).label("p90")
            )
        summary = await uow.session.execute(select(*keys, *aggregates).where(*conditions).group_by(*keys))
        day_rows: Any = []
        if not on_postgres:
            day_rows = await uow.session.execute(
                select(*keys, CaseRow.handling_working_days).where(*conditions, concluded)
            )
        level_rows = await uow.session.execute(
            select(*keys, CaseRow.rating, func.count())
            .where(*conditions, CaseRow.rating.is_not(None))
            .group_by(*keys, CaseRow.rating)
        )
    days: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for row in day_rows:
        if row[-1] is not None:
            days[tuple(row[: len(keys)])].append(int(row[-1]))
    levels: dict[tuple[Any, ...], dict[str, int]] = defaultdict(dict)
    for row in level_rows:
        levels[tuple(row[: len(keys)])][str(row[-2])] = int(row[-1])
    out: list[dict[str, Any]] = []
    for row in summary:
        key = tuple(row[: len(keys)])
        m = row._mapping
        if not m["received"]:
            continue  # an ungrouped aggregate over no rows still yields one row
        done = int(m["concluded"] or 0)
        out.append(
            {
                "group": dict(zip(group_by, key, strict=True)),
                "received": int(m["received"]),
                "concluded": done,
                "rejected": int(m["rejected"] or 0),
                "withdrawn": int(m["withdrawn"] or 0),
                "overdue_open": int(m["overdue_open"] or 0),
                "on_time_rate": (int(m["on_time"] or 0) / done) if done else None,
                "handling_days_mean": float(m["mean_days"]) if m["mean_days"] is not None else None,
                "handling_days_p90": (
                    (float(m["p90"]) if m["p90"] is not None else None)
                    if on_postgres
                    else percentile(days.get(key, []), 0.9)
                ),
                "correction_rounds_per_case": float(m["corrections"])
                if m["corrections"] is not None
                else None,
                "transfer_seconds_mean": float(m["transfer"]) if m["transfer"] is not None else None,
                "satisfaction_mean": float(m["rating"]) if m["rating"] is not None else None,
                "ratings": int(m["rated"] or 0),
                "ratings_by_level": levels.get(key, {}),
            }
        )
    out.sort(key=lambda g: tuple(str(v) for v in g["group"].values()))
    return out
