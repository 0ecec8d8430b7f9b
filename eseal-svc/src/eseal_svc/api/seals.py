"""``/v1/seals``: organisations' electronic seals (GB/T 38540 SESeal v4), their images and revocation."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from tongban_kit.app import UowDep
from tongban_kit.http import Page, decode_cursor, encode_cursor, etag_for, require_if_match
from tongban_kit.idempotency import idempotent_create

from eseal_svc.adapters.crypto.ca import describe_certificate
from eseal_svc.adapters.jose import public_jwk
from eseal_svc.adapters.orm import SealRow
from eseal_svc.api.deps import Admin, AnyEseal, ContextDep, actor_of, problems
from eseal_svc.api.schemas import (
    USCC_PATTERN,
    CertificateOut,
    LicenceKeyOut,
    RevokeSealIn,
    SealIn,
    SealOut,
    SealSummaryOut,
    b64,
)
from eseal_svc.domain.commands import CreateSeal, RevokeSeal
from eseal_svc.domain.model import SealAlgorithm, SealType
from eseal_svc.service_layer import seals
from eseal_svc.service_layer.context import EsealContext

router = APIRouter(prefix="/v1/seals", tags=["seals"])


def image_url(ctx: EsealContext, seal_id: str) -> str:
    """Public address of a seal's image."""
    return f"{ctx.settings.public_url.rstrip('/')}/eseal/v1/seals/{seal_id}/image"


def _summary_fields(row: SealRow, ctx: EsealContext) -> dict[str, Any]:
    return {
        "id": row.id,
        "es_id": row.es_id,
        "name": row.name,
        "org_name": row.org_name,
        "uscc": row.uscc,
        "region": row.region,
        "seal_type": SealType(row.seal_type),
        "algorithm": SealAlgorithm(row.algorithm),
        "status": row.status,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "version": row.version,
        "image_url": image_url(ctx, row.id),
    }


def seal_out(row: SealRow, ctx: EsealContext) -> SealOut:
    """The full public view of a seal."""
    info = describe_certificate(row.signer_certificate)
    jwk = public_jwk(row.jose_certificate)
    return SealOut(
        **_summary_fields(row, ctx),
        revocation_reason=row.revocation_reason,
        seal=b64(row.seal_der),
        signer_certificate=b64(row.signer_certificate),
        certificate=CertificateOut(
            subject=info.subject,
            issuer=info.issuer,
            serial_number=str(info.serial_number),
            not_before=info.not_before,
            not_after=info.not_after,
            fingerprint_sha256=info.fingerprint_sha256,
            signature_algorithm_oid=info.signature_algorithm_oid,
        ),
        licence_key=LicenceKeyOut(
            alg=row.jose_alg, kid=str(jwk["kid"]), jwk=jwk, certificate=b64(row.jose_certificate)
        ),
    )


@router.post("", status_code=201, response_model=SealOut, responses=problems(401, 403, 409, 422))
async def create_seal(
    payload: SealIn, request: Request, principal: Admin, uow: UowDep, ctx: ContextDep
) -> JSONResponse:
    """Make a seal: key pair (kept here, wrapped), certificate, SESeal and image (``eseal:admin``)."""
    cmd = CreateSeal(
        org_name=payload.org_name,
        uscc=payload.uscc,
        region=payload.region,
        seal_type=payload.seal_type,
        algorithm=payload.algorithm,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        name=payload.name,
    )

    async def create(u: Any) -> tuple[dict[str, Any], dict[str, str]]:
        row = await seals.create_seal(cmd, ctx=ctx, uow=u, actor=actor_of(principal))
        headers = {"ETag": etag_for(row.id, row.version), "Location": f"/v1/seals/{row.id}"}
        return seal_out(row, ctx).model_dump(mode="json"), headers

    return await idempotent_create(request, uow, principal.client_id, payload.model_dump(mode="json"), create)


@router.get("", response_model=Page[SealSummaryOut], responses=problems(400, 401, 403))
async def list_seals(
    principal: AnyEseal,
    uow: UowDep,
    ctx: ContextDep,
    org: str | None = Query(None, pattern=USCC_PATTERN, description="owner's credit code"),
    region: str | None = Query(None, pattern=r"^\d{6}$"),
    status: Literal["active", "revoked"] | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=500),
) -> Page[SealSummaryOut]:
    """List seals, oldest first, optionally of one organisation and/or region (keyset pagination)."""
    after = decode_cursor(cursor)
    stmt = select(SealRow).order_by(SealRow.id).limit(limit + 1)
    if org is not None:
        stmt = stmt.where(SealRow.uscc == org.upper())
    if region is not None:
        stmt = stmt.where(SealRow.region == region)
    if status is not None:
        stmt = stmt.where(SealRow.status == status)
    if after is not None:
        stmt = stmt.where(SealRow.id > str(after.get("id", "")))
    async with uow:
        rows = list((await uow.session.execute(stmt)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[SealSummaryOut](
        items=[SealSummaryOut(**_summary_fields(r, ctx)) for r in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
    )


@router.get("/{seal_id}", response_model=SealOut, responses=problems(401, 403, 404))
async def get_seal(
    seal_id: str, principal: AnyEseal, uow: UowDep, ctx: ContextDep, response: Response
) -> SealOut:
    """One seal: its SESeal DER, image address, signer certificate and licence key, with an ETag."""
    async with uow:
        row = await seals.get_seal_row(uow, seal_id)
    response.headers["ETag"] = etag_for(row.id, row.version)
    return seal_out(row, ctx)


@router.get(
    "/{seal_id}/image",
    responses={
        200: {"content": {"image/png": {}}, "description": "the seal image"},
        **problems(401, 403, 404),
    },
    response_class=Response,
)
async def get_seal_image(seal_id: str, principal: AnyEseal, uow: UowDep) -> Response:
    """The seal's round red image (PNG), as embedded in its SESeal."""
    async with uow:
        row = await seals.get_seal_row(uow, seal_id)
    return Response(
        row.image_png,
        media_type="image/png",
        headers={"ETag": etag_for(row.id, row.version), "Cache-Control": "private, max-age=3600"},
    )


@router.post(
    "/{seal_id}/revoke", response_model=SealOut, responses=problems(401, 403, 404, 409, 412, 422, 428)
)
async def revoke_seal(
    seal_id: str,
    payload: RevokeSealIn,
    request: Request,
    principal: Admin,
    uow: UowDep,
    ctx: ContextDep,
    response: Response,
) -> SealOut:
    """Revoke a seal (``If-Match``); signatures made after ``invalid_since`` (default now) fail validation."""
    async with uow:
        row = await seals.get_seal_row(uow, seal_id)
        require_if_match(request, etag_for(row.id, row.version))
        cmd = RevokeSeal(
            seal_id=seal_id,
            expected_version=row.version,
            reason=payload.reason,
            invalid_since=payload.invalid_since,
        )
        row = await seals.revoke_seal(cmd, ctx=ctx, uow=uow, actor=actor_of(principal))
        await uow.commit()
    response.headers["ETag"] = etag_for(row.id, row.version)
    return seal_out(row, ctx)
