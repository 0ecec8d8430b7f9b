"""``/v1/resources``: the provider systems registered with the hub."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from tongban_kit.app import UowDep
from tongban_kit.http import Page, decode_cursor, encode_cursor, etag_for, require_if_match
from tongban_kit.idempotency import idempotent_create
from tongban_kit.problems import not_found

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.adapters.orm import ResourceRow
from data_exchange_svc.api.deps import Admin, AdminOrQuery, SettingsDep, actor_of, problems
from data_exchange_svc.api.schemas import ResourceIn, ResourceOut, ResourcePatch
from data_exchange_svc.domain.commands import RegisterResource, UpdateResource
from data_exchange_svc.domain.model import DataDomain, FieldSpec, Mode
from data_exchange_svc.service_layer import handlers

router = APIRouter(prefix="/v1/resources", tags=["resources"])


def _specs(fields: list[Any]) -> tuple[FieldSpec, ...]:
    return tuple(FieldSpec(f.name, f.label, f.kind, f.sensitivity) for f in fields)


@router.post(
    "",
    status_code=201,
    response_model=ResourceOut,
    responses=problems(401, 403, 409, 422),
    summary="Register a provider system",
)
async def register_resource(
    payload: ResourceIn, request: Request, principal: Admin, uow: UowDep, settings: SettingsDep
) -> JSONResponse:
    """Register a provider system with its endpoint, fields and modes (``exchange:admin``)."""
    cmd = RegisterResource(
        code=payload.code,
        name=payload.name,
        provider_name=payload.provider.name,
        provider_uscc=payload.provider.uscc,
        region=payload.region,
        domain=payload.domain,
        endpoint_url=payload.endpoint_url,
        fields=_specs(payload.fields),
        supports=frozenset(payload.supports),
        timeout_ms=payload.timeout_ms or settings.provider_timeout_ms,
    )

    async def create(u: Any) -> tuple[dict[str, Any], dict[str, str]]:
        row = await handlers.register_resource(cmd, uow=u, settings=settings, actor=actor_of(principal))
        headers = {"ETag": etag_for(row.id, row.version), "Location": f"/v1/resources/{row.id}"}
        return ResourceOut.of(row).model_dump(mode="json"), headers

    return await idempotent_create(request, uow, principal.client_id, payload.model_dump(mode="json"), create)


@router.get("", response_model=Page[ResourceOut], responses=problems(400, 401, 403))
async def list_resources(
    principal: AdminOrQuery,
    uow: UowDep,
    domain: DataDomain | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> Page[ResourceOut]:
    """List registered provider systems, oldest first (keyset pagination)."""
    after = decode_cursor(cursor)
    stmt = select(ResourceRow).order_by(ResourceRow.id).limit(limit + 1)
    if domain is not None:
        stmt = stmt.where(ResourceRow.domain == domain.value)
    if after is not None:
        stmt = stmt.where(ResourceRow.id > str(after.get("id", "")))
    async with uow:
        rows = list((await uow.session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[ResourceOut](
        items=[ResourceOut.of(r) for r in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@router.get("/{resource_id}", response_model=ResourceOut, responses=problems(401, 403, 404))
async def get_resource(
    resource_id: str, principal: AdminOrQuery, uow: UowDep, response: Response
) -> ResourceOut:
    """One provider system, by id or code, with its ETag."""
    async with uow:
        row = await repo.get_resource(uow.session, resource_id)
    if row is None:
        raise not_found("Resource", resource_id)
    response.headers["ETag"] = etag_for(row.id, row.version)
    return ResourceOut.of(row)


@router.patch("/{resource_id}", response_model=ResourceOut, responses=problems(401, 403, 404, 412, 422, 428))
async def update_resource(
    resource_id: str,
    payload: ResourcePatch,
    request: Request,
    principal: Admin,
    uow: UowDep,
    settings: SettingsDep,
    response: Response,
) -> ResourceOut:
    """Change a provider's endpoint, fields, modes, timeout or status (``If-Match`` required)."""
    async with uow:
        row = await repo.get_resource(uow.session, resource_id)
        if row is None:
            raise not_found("Resource", resource_id)
        require_if_match(request, etag_for(row.id, row.version))
        cmd = UpdateResource(
            resource_id=row.id,
            expected_version=row.version,
            name=payload.name,
            endpoint_url=payload.endpoint_url,
            fields=_specs(payload.fields) if payload.fields is not None else None,
            supports=frozenset(Mode(m) for m in payload.supports) if payload.supports else None,
            timeout_ms=payload.timeout_ms,
            status=payload.status,
        )
        row = await handlers.update_resource(cmd, uow=uow, settings=settings, actor=actor_of(principal))
        await uow.commit()
    response.headers["ETag"] = etag_for(row.id, row.version)
    return ResourceOut.of(row)
