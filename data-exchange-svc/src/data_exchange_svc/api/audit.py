"""``/v1/audit``: the hash-chained exchange log, its end-to-end check, and a citizen's own view."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select
from tongban_kit.app import UowDep
from tongban_kit.http import Page, decode_cursor, encode_cursor

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.adapters.orm import AuditRow, ResourceRow
from data_exchange_svc.api.deps import Admin, AdminOrQuery, Citizen, is_admin, problems
from data_exchange_svc.api.schemas import (
    AuditEntryOut,
    AuditVerification,
    ChainBreakOut,
    ChainHead,
    SubjectUsage,
    UsageResource,
)
from data_exchange_svc.domain import audit

router = APIRouter(prefix="/v1/audit", tags=["audit"])

VERIFY_BATCH = 1000


def _before(cursor: str | None) -> int | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    seq = after.get("seq")
    return int(seq) if isinstance(seq, int) else None


@router.get("", response_model=Page[AuditEntryOut], responses=problems(400, 401, 403))
async def list_entries(
    principal: AdminOrQuery,
    uow: UowDep,
    client_id: str | None = Query(None, max_length=200),
    resource_id: str | None = Query(None, max_length=64),
    case_id: str | None = Query(None, max_length=64),
    outcome: str | None = Query(None, pattern=r"^(allowed|refused|failed)$"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> Page[AuditEntryOut]:
    """Exchange-log entries, newest first; a client without ``exchange:admin`` sees only its own."""
    if not is_admin(principal):
        client_id = principal.client_id
    stmt = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit + 1)
    for column, value in (
        (AuditRow.client_id, client_id),
        (AuditRow.resource_id, resource_id),
        (AuditRow.case_id, case_id),
        (AuditRow.outcome, outcome),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    before = _before(cursor)
    if before is not None:
        stmt = stmt.where(AuditRow.seq < before)
    async with uow:
        rows = list((await uow.session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[AuditEntryOut](
        items=[AuditEntryOut.of(r) for r in rows],
        next_cursor=encode_cursor({"seq": rows[-1].seq}) if more else None,
    )


@router.get("/verify", response_model=AuditVerification, responses=problems(401, 403))
async def verify_chain(principal: Admin, uow: UowDep) -> AuditVerification:
    """Recompute the chain end to end; name the first entry that was altered, removed or relinked."""
    checked = 0
    last_seq, last_hash = 0, audit.GENESIS
    broken: audit.ChainBreak | None = None
    async with uow:
        head = await repo.head(uow.session)
        head_seq, head_hash = head.seq, head.hash
        while True:
            rows = (
                await uow.session.execute(
                    select(AuditRow).where(AuditRow.seq > last_seq).order_by(AuditRow.seq).limit(VERIFY_BATCH)
                )
            ).scalars()
            batch = [repo.audit_content(r) for r in rows]
            if not batch:
                break
            result = audit.check_chain(batch, start_seq=last_seq + 1, start_hash=last_hash)
            checked += result.checked
            last_seq, last_hash = result.last_seq, result.last_hash
            if result.broken is not None:
                broken = result.broken
                break
    if broken is None and (last_seq, last_hash) != (head_seq, head_hash):
        # The newest entries were removed (or the head was moved): the chain stops short of its head.
        broken = audit.ChainBreak(
            last_seq + 1, None, "missing-entry" if last_seq < head_seq else "head-mismatch"
        )
    return AuditVerification(
        ok=broken is None,
        algorithm=audit.HASH_ALGORITHM,
        checked=checked,
        head=ChainHead(seq=head_seq, hash=head_hash),
        first_broken=ChainBreakOut(seq=broken.seq, entry_id=broken.entry_id, reason=broken.reason)
        if broken
        else None,
    )


@router.get("/subjects/me", response_model=Page[SubjectUsage], responses=problems(400, 401, 403))
async def my_data_usage(
    principal: Citizen,
    uow: UowDep,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> Page[SubjectUsage]:
    """Who used the logged-in person's data, which data, for which case and item, and what came of it."""
    stmt = (
        select(AuditRow)
        .where(AuditRow.subject_hash == principal.subject_hash)
        .order_by(AuditRow.seq.desc())
        .limit(limit + 1)
    )
    before = _before(cursor)
    if before is not None:
        stmt = stmt.where(AuditRow.seq < before)
    async with uow:
        rows = list((await uow.session.execute(stmt)).scalars())
        ids = {r.resource_id for r in rows if r.resource_id}
        resources = {
            r.id: r
            for r in (await uow.session.execute(select(ResourceRow).where(ResourceRow.id.in_(ids)))).scalars()
        }
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for row in rows:
        res = resources.get(row.resource_id or "")
        items.append(
            SubjectUsage(
                at=row.at,
                client_id=row.client_id,
                region=row.actor.get("region"),
                org=row.actor.get("org"),
                on_behalf_of=row.actor.get("on_behalf_of"),
                resource=UsageResource(
                    id=row.resource_id,
                    code=res.code if res else None,
                    name=res.name if res else None,
                    domain=res.domain if res else None,
                    provider=res.provider_name if res else None,
                ),
                case_id=row.case_id,
                item_code=row.item_code,
                purpose=f"case {row.case_id} of item {row.item_code}",
                legal_basis=row.basis,
                mode=row.mode,
                fields=row.fields,
                outcome=row.outcome,
                reason=row.reason,
            )
        )
    return Page[SubjectUsage](items=items, next_cursor=encode_cursor({"seq": rows[-1].seq}) if more else None)
