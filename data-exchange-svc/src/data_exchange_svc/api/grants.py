"""``/v1/grants``: which client may use which resource, for which items, fields and modes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from tongban_kit.app import UowDep
from tongban_kit.http import Page, decode_cursor, encode_cursor, etag_for, require_if_match
from tongban_kit.idempotency import idempotent_create
from tongban_kit.problems import not_found

from data_exchange_svc.adapters.orm import GrantRow
from data_exchange_svc.api.deps import (
    Admin,
    AdminOrQuery,
    SettingsDep,
    actor_of,
    is_admin,
    problems,
)
from data_exchange_svc.api.schemas import GrantIn, GrantOut
from data_exchange_svc.domain.commands import IssueGrant, RevokeGrant
from data_exchange_svc.service_layer import handlers

router = APIRouter(prefix="/v1/grants", tags=["grants"])


@router.post(
    "",
    status_code=201,
    response_model=GrantOut,
    responses=problems(401, 403, 409, 422),
    summary="Issue a grant",
)
async def issue_grant(
    payload: GrantIn, request: Request, principal: Admin, uow: UowDep, settings: SettingsDep
) -> JSONResponse:
    """Let one client use one resource for named items, fields and modes until expiry (``exchange:admin``)."""
    cmd = IssueGrant(
        client_id=payload.client_id,
        resource_id=payload.resource_id,
        items=frozenset(payload.items),
        allowed_fields=frozenset(payload.allowed_fields),
        masked_fields=frozenset(payload.masked_fields),
        modes=frozenset(payload.modes),
        rate_limit_per_minute=payload.rate_limit_per_minute,
        expires_at=payload.expires_at,
        statutory_basis=payload.statutory_basis,
    )

    async def create(u: Any) -> tuple[dict[str, Any], dict[str, str]]:
        row = await handlers.issue_grant(cmd, uow=u, settings=settings, actor=actor_of(principal))
        headers = {"ETag": etag_for(row.id, row.version), "Location": f"/v1/grants/{row.id}"}
        return GrantOut.of(row).model_dump(mode="json"), headers

    return await idempotent_create(request, uow, principal.client_id, payload.model_dump(mode="json"), create)


@router.get("", response_model=Page[GrantOut], responses=problems(400, 401, 403))
async def list_grants(
    principal: AdminOrQuery,
    uow: UowDep,
    client_id: str | None = Query(None, max_length=200),
    resource_id: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> Page[GrantOut]:
    """List grants; a client without ``exchange:admin`` sees only its own."""
    if not is_admin(principal):
        client_id = principal.client_id
    after = decode_cursor(cursor)
    stmt = select(GrantRow).order_by(GrantRow.id).limit(limit + 1)
    if client_id is not None:
        stmt = stmt.where(GrantRow.client_id == client_id)
    if resource_id is not None:
        stmt = stmt.where(GrantRow.resource_id == resource_id)
    if after is not None:
        stmt = stmt.where(GrantRow.id > str(after.get("id", "")))
    async with uow:
        rows = list((await uow.session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[GrantOut](
        items=[GrantOut.of(r) for r in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@router.get("/{grant_id}", response_model=GrantOut, responses=problems(401, 403, 404))
async def get_grant(grant_id: str, principal: AdminOrQuery, uow: UowDep, response: Response) -> GrantOut:
    """One grant with its ETag (a client sees only its own)."""
    async with uow:
        row = await uow.session.get(GrantRow, grant_id)
    if row is None or (not is_admin(principal) and row.client_id != principal.client_id):
        raise not_found("Grant", grant_id)
    response.headers["ETag"] = etag_for(row.id, row.version)
    return GrantOut.of(row)


@router.post("/{grant_id}/revoke", response_model=GrantOut, responses=problems(401, 403, 404, 409, 412, 428))
async def revoke_grant(
    grant_id: str, request: Request, principal: Admin, uow: UowDep, settings: SettingsDep, response: Response
) -> GrantOut:
    """Revoke a grant (``If-Match`` required); queries under it are refused from now on."""
    async with uow:
        row = await uow.session.get(GrantRow, grant_id)
        if row is None:
            raise not_found("Grant", grant_id)
        require_if_match(request, etag_for(row.id, row.version))
        row = await handlers.revoke_grant(
            RevokeGrant(grant_id=row.id, expected_version=row.version),
            uow=uow,
            settings=settings,
            actor=actor_of(principal),
        )
        await uow.commit()
    response.headers["ETag"] = etag_for(row.id, row.version)
    return GrantOut.of(row)
