"""Administration: clients and signing keys (scope identity:admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from tongban_kit.app import RuntimeDep
from tongban_kit.auth import Principal, require_scopes
from tongban_kit.http import decode_cursor, encode_cursor

from identity_svc.adapters.orm import ClientRow
from identity_svc.api.deps import CtxDep, etag, expected_version
from identity_svc.api.schemas import (
    ClientCreate,
    ClientOut,
    ClientPage,
    ClientPatch,
    KeyList,
    KeyOut,
    RotationOut,
)
from identity_svc.domain.clients import AuthMethod, ClientKind
from identity_svc.service_layer import clients as client_handlers
from identity_svc.service_layer import keys as key_handlers

router = APIRouter(tags=["admin"])
Admin = Annotated[Principal, Depends(require_scopes("identity:admin"))]


def client_out(row: ClientRow, secret: str | None = None) -> ClientOut:
    """Response body of a client."""
    return ClientOut(
        client_id=row.client_id,
        name=row.name,
        kind=ClientKind(row.kind),
        region=row.region,
        org=row.org,
        grant_types=list(row.grant_types),
        scopes=list(row.scopes),
        redirect_uris=list(row.redirect_uris),
        token_endpoint_auth_method=AuthMethod(row.auth_method),
        jwks=row.jwks,
        active=row.active,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        client_secret=secret,
    )


@router.post("/v1/clients", status_code=201, response_model=ClientOut)
async def create_client(
    body: ClientCreate, response: Response, principal: Admin, ctx: CtxDep, runtime: RuntimeDep
) -> ClientOut:
    """Register a client; a secret client's secret is in this response only."""
    async with runtime.uow() as uow:
        row, secret = await client_handlers.register_client(
            client_handlers.RegisterClient(
                client_id=body.client_id,
                name=body.name,
                kind=body.kind,
                region=body.region,
                org=body.org,
                grant_types=body.grant_types,
                scopes=body.scopes,
                redirect_uris=body.redirect_uris,
                auth_method=body.token_endpoint_auth_method,
                jwks=body.jwks,
            ),
            uow=uow,
            ctx=ctx,
            actor=principal.client_id,
        )
        await uow.commit()
    response.headers["ETag"] = etag(row.client_id, row.version)
    response.headers["Location"] = f"/v1/clients/{row.client_id}"
    response.headers["Cache-Control"] = "no-store"
    return client_out(row, secret)


@router.get("/v1/clients", response_model=ClientPage)
async def list_clients(
    _: Admin,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ClientPage:
    """Registered clients in client_id order."""
    after = decode_cursor(cursor)
    query = select(ClientRow).order_by(ClientRow.client_id).limit(limit + 1)
    if after is not None:
        query = query.where(ClientRow.client_id > str(after.get("id", "")))
    async with runtime.uow() as uow:
        rows = list((await uow.session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return ClientPage(
        items=[client_out(r) for r in rows],
        next_cursor=encode_cursor({"id": rows[-1].client_id}) if more and rows else None,
    )


@router.get("/v1/clients/{client_id}", response_model=ClientOut)
async def get_client(client_id: str, response: Response, _: Admin, runtime: RuntimeDep) -> ClientOut:
    """One client."""
    async with runtime.uow() as uow:
        row = await client_handlers.load_client(uow.session, client_id)
    response.headers["ETag"] = etag(row.client_id, row.version)
    return client_out(row)


@router.patch("/v1/clients/{client_id}", response_model=ClientOut)
async def patch_client(
    client_id: str,
    body: ClientPatch,
    request: Request,
    response: Response,
    principal: Admin,
    ctx: CtxDep,
    runtime: RuntimeDep,
) -> ClientOut:
    """Change a client (If-Match required)."""
    changes = body.model_dump(exclude_unset=True)
    if "token_endpoint_auth_method" in changes:
        changes["auth_method"] = changes.pop("token_endpoint_auth_method")
    async with runtime.uow() as uow:
        current = await client_handlers.load_client(uow.session, client_id)
        version = expected_version(request, client_id, current.version)
        row = await client_handlers.update_client(
            client_id, changes, expected_version=version, uow=uow, ctx=ctx, actor=principal.client_id
        )
        await uow.commit()
    response.headers["ETag"] = etag(row.client_id, row.version)
    return client_out(row)


@router.post("/v1/clients/{client_id}/secret", response_model=ClientOut)
async def rotate_client_secret(
    client_id: str, request: Request, response: Response, principal: Admin, ctx: CtxDep, runtime: RuntimeDep
) -> ClientOut:
    """Issue a new client secret (If-Match required); the old one stops working."""
    async with runtime.uow() as uow:
        current = await client_handlers.load_client(uow.session, client_id)
        version = expected_version(request, client_id, current.version)
        row, secret = await client_handlers.rotate_secret(
            client_id, expected_version=version, uow=uow, ctx=ctx, actor=principal.client_id
        )
        await uow.commit()
    response.headers["ETag"] = etag(row.client_id, row.version)
    response.headers["Cache-Control"] = "no-store"
    return client_out(row, secret)


@router.post("/v1/keys/rotate", status_code=201, response_model=RotationOut)
async def rotate_keys(principal: Admin, ctx: CtxDep, runtime: RuntimeDep) -> RotationOut:
    """Activate a new signing key; the old one stays in JWKS (verify only) until its tokens expired."""
    async with runtime.uow() as uow:
        result = await key_handlers.rotate(uow=uow, ctx=ctx, actor=principal.client_id)
    return RotationOut.model_validate(result)


@router.get("/v1/keys", response_model=KeyList)
async def list_keys(_: Admin, runtime: RuntimeDep) -> KeyList:
    """Signing keys with their status (active, verify_only, retired)."""
    async with runtime.uow() as uow:
        rows = await key_handlers.list_keys(uow=uow)
    return KeyList(
        items=[
            KeyOut(
                kid=r.kid,
                alg=r.alg,
                status=r.status,
                created_at=r.created_at,
                deactivated_at=r.deactivated_at,
                retire_after=r.retire_after,
                public_jwk=r.public_jwk,
            )
            for r in rows
        ]
    )
