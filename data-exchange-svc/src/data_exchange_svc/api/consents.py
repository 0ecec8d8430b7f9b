"""``/v1/consents``: a person's consent that named resources be queried for one of their cases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from tongban_kit.app import UowDep
from tongban_kit.http import Page, decode_cursor, encode_cursor, etag_for, require_if_match
from tongban_kit.idempotency import idempotent_create
from tongban_kit.problems import not_found

from data_exchange_svc.adapters.orm import ConsentRow
from data_exchange_svc.api.deps import Citizen, SettingsDep, actor_of, problems
from data_exchange_svc.api.schemas import ConsentIn, ConsentOut
from data_exchange_svc.domain.commands import GiveConsent, RevokeConsent
from data_exchange_svc.service_layer import handlers

router = APIRouter(prefix="/v1/consents", tags=["consents"])


@router.post(
    "",
    status_code=201,
    response_model=ConsentOut,
    responses=problems(401, 403, 409, 422),
    summary="Give consent",
)
async def give_consent(
    payload: ConsentIn, request: Request, principal: Citizen, uow: UowDep, settings: SettingsDep
) -> JSONResponse:
    """Consent, as the logged-in person (or a platform acting for them), to queries for one case."""
    assert principal.subject_hash is not None
    cmd = GiveConsent(
        subject_hash=principal.subject_hash,
        case_id=payload.case_id,
        resource_ids=tuple(payload.resource_ids),
        until=payload.until,
        purpose=payload.purpose,
    )

    async def create(u: Any) -> tuple[dict[str, Any], dict[str, str]]:
        row = await handlers.give_consent(
            cmd, uow=u, settings=settings, actor=actor_of(principal), max_days=settings.max_consent_days
        )
        headers = {"ETag": etag_for(row.id, row.version), "Location": f"/v1/consents/{row.id}"}
        return ConsentOut.of(row).model_dump(mode="json"), headers

    # The key's scope includes the person: two people behind one platform never share a replay.
    scope = f"{principal.client_id}|{principal.subject_hash[:32]}"
    return await idempotent_create(request, uow, scope, payload.model_dump(mode="json"), create)


@router.get("", response_model=Page[ConsentOut], responses=problems(400, 401, 403))
async def list_consents(
    principal: Citizen,
    uow: UowDep,
    case_id: str | None = Query(None, max_length=64),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> Page[ConsentOut]:
    """The logged-in person's consents, oldest first."""
    after = decode_cursor(cursor)
    stmt = (
        select(ConsentRow)
        .where(ConsentRow.subject_hash == principal.subject_hash)
        .order_by(ConsentRow.id)
        .limit(limit + 1)
    )
    if case_id is not None:
        stmt = stmt.where(ConsentRow.case_id == case_id)
    if after is not None:
        stmt = stmt.where(ConsentRow.id > str(after.get("id", "")))
    async with uow:
        rows = list((await uow.session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ConsentOut](
        items=[ConsentOut.of(r) for r in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@router.get("/{consent_id}", response_model=ConsentOut, responses=problems(401, 403, 404))
async def get_consent(consent_id: str, principal: Citizen, uow: UowDep, response: Response) -> ConsentOut:
    """One of the person's consents, with its ETag."""
    async with uow:
        row = await uow.session.get(ConsentRow, consent_id)
    if row is None or row.subject_hash != principal.subject_hash:
        raise not_found("Consent", consent_id)
    response.headers["ETag"] = etag_for(row.id, row.version)
    return ConsentOut.of(row)


@router.post(
    "/{consent_id}/revoke", response_model=ConsentOut, responses=problems(401, 403, 404, 409, 412, 428)
)
async def revoke_consent(
    consent_id: str,
    request: Request,
    principal: Citizen,
    uow: UowDep,
    settings: SettingsDep,
    response: Response,
) -> ConsentOut:
    """Withdraw a consent (``If-Match`` required); queries relying on it are refused from now on."""
    assert principal.subject_hash is not None
    async with uow:
        row = await uow.session.get(ConsentRow, consent_id)
        if row is None or row.subject_hash != principal.subject_hash:
            raise not_found("Consent", consent_id)
        require_if_match(request, etag_for(row.id, row.version))
        row = await handlers.revoke_consent(
            RevokeConsent(
                consent_id=row.id, subject_hash=principal.subject_hash, expected_version=row.version
            ),
            uow=uow,
            settings=settings,
            actor=actor_of(principal),
        )
        await uow.commit()
    response.headers["ETag"] = etag_for(row.id, row.version)
    return ConsentOut.of(row)
