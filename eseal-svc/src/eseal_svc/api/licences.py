"""``/v1/licences``: electronic licences as W3C VC 2.0 (vc+jwt), their status, and their validation."""

from __future__ import annotations

import base64
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from tongban_kit.app import UowDep
from tongban_kit.auth import Principal, PrincipalDep
from tongban_kit.http import etag_for, require_if_match
from tongban_kit.idempotency import idempotent_create

from eseal_svc.adapters.orm import LicenceRow, LicenceTypeRow
from eseal_svc.api.deps import (
    Admin,
    ContextDep,
    Signer,
    SignerOrAdmin,
    Verifier,
    actor_of,
    is_admin,
    problems,
)
from eseal_svc.api.schemas import (
    HolderOut,
    IssuerOut,
    LicenceIn,
    LicenceOut,
    LicenceReportOut,
    LicenceStatusIn,
    LicenceSummaryOut,
    LicenceTypeIn,
    LicenceTypeOut,
    LicenceVerifyIn,
    StatusEntryOut,
    b64,
)
from eseal_svc.domain.commands import ChangeLicenceStatus, IssueLicence
from eseal_svc.service_layer import licences
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import Conflict, Forbidden, NotFound, StaleVersion
from eseal_svc.service_layer.licence_verify import verify_licence

router = APIRouter(prefix="/v1/licences", tags=["licences"])
types_router = APIRouter(prefix="/v1/licence-types", tags=["licences"])


def licence_out(view: licences.LicenceView, ctx: EsealContext) -> LicenceOut:
    """The full view of a licence (the holder's number only masked)."""
    row, credential = view.row, view.credential
    subject = credential.get("credentialSubject", {})
    holder = subject.get("holder", {}) if isinstance(subject, dict) else {}
    return LicenceOut(
        id=row.id,
        licence_type=row.licence_type,
        status=row.status,
        issuer=IssuerOut(uscc=row.issuer_uscc, name=row.issuer_name, region=row.issuer_region),
        seal_id=row.seal_id,
        holder=HolderOut(
            name=holder.get("name"),
            id_type=holder.get("identifierType"),
            id_masked=row.holder_id_masked,
            subject_hash=row.holder_subject_hash,
        ),
        fields=subject.get("fields", {}) if isinstance(subject, dict) else {},
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        issued_at=row.issued_at,
        status_changed_at=row.status_changed_at,
        status_reason=row.status_reason,
        credential_status=[
            StatusEntryOut(
                purpose="revocation",
                status_list=ctx.settings.status_list_url(row.revocation_list_id),
                index=row.revocation_index,
            ),
            StatusEntryOut(
                purpose="suspension",
                status_list=ctx.settings.status_list_url(row.suspension_list_id),
                index=row.suspension_index,
            ),
        ],
        credential=credential,
        vc_jwt=view.jwt,
        gm_signature=b64(row.gm_signature) if row.gm_signature else None,
        version=row.version,
    )


def _may_read(principal: Principal, row: LicenceRow) -> bool:
    if is_admin(principal):
        return True
    if "eseal:sign" in principal.scopes and principal.org and principal.org.upper() == row.issuer_uscc:
        return True
    return principal.subject_hash is not None and principal.subject_hash == row.holder_subject_hash


@router.post("", status_code=201, response_model=LicenceOut, responses=problems(401, 403, 404, 409, 422))
async def issue_licence(
    payload: LicenceIn, request: Request, principal: Signer, uow: UowDep, ctx: ContextDep
) -> JSONResponse:
    """Issue a licence sealed by your organisation (token ``org``): a vc+jwt, plus an SES_Signature if SM2."""
    cmd = IssueLicence(
        org=principal.org,
        licence_type=payload.licence_type,
        seal_id=payload.seal_id,
        holder_name=payload.holder.name,
        holder_id_type=payload.holder.id_type,
        holder_id_number=payload.holder.id_number,
        fields=dict(payload.fields),
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
    )

    async def create(u: Any) -> tuple[dict[str, Any], dict[str, str]]:
        view = await licences.issue_licence(cmd, ctx=ctx, uow=u, actor=actor_of(principal))
        headers = {"ETag": etag_for(view.row.id, view.row.version), "Location": f"/v1/licences/{view.row.id}"}
        return licence_out(view, ctx).model_dump(mode="json"), headers

    # Two issuances racing for the same status list: the loser's version check fails; issue again.
    for attempt in range(3):
        try:
            return await idempotent_create(
                request, uow, principal.client_id, payload.model_dump(mode="json"), create
            )
        except StaleDataError:
            if attempt == 2:
                raise Conflict("the status list was busy; retry", code="status-list-busy") from None
    raise AssertionError("unreachable")  # pragma: no cover


@router.get("/{licence_id}", response_model=LicenceOut, responses=problems(401, 403, 404))
async def get_licence(
    licence_id: str, principal: PrincipalDep, uow: UowDep, ctx: ContextDep, response: Response
) -> LicenceOut:
    """A licence, for its issuer (``eseal:sign`` with the issuer's ``org``), ``eseal:admin`` or its holder."""
    async with uow:
        row = await licences.get_licence_row(uow, licence_id)
    if not _may_read(principal, row):
        raise NotFound(f"licence {licence_id} was not found")
    response.headers["ETag"] = etag_for(row.id, row.version)
    return licence_out(licences.view_of(ctx, row), ctx)


async def _change(
    licence_id: str,
    action: Literal["revoke", "suspend", "reinstate"],
    payload: LicenceStatusIn,
    request: Request,
    principal: Principal,
    uow: Any,
    ctx: EsealContext,
    response: Response,
) -> LicenceOut:
    async with uow:
        row = await licences.get_licence_row(uow, licence_id)
        if not is_admin(principal) and (principal.org or "").upper() != row.issuer_uscc:
            raise Forbidden(
                "only the issuing organisation or an eseal:admin may change a licence", code="not-issuer"
            )
        require_if_match(request, etag_for(row.id, row.version))
        cmd = ChangeLicenceStatus(
            licence_id=row.id, action=action, expected_version=row.version, reason=payload.reason
        )
        row = await licences.change_status(cmd, ctx=ctx, uow=uow, actor=actor_of(principal), row=row)
        try:
            await uow.commit()
        except StaleDataError:
            raise StaleVersion("the licence or its status list changed meanwhile; read it again") from None
    response.headers["ETag"] = etag_for(row.id, row.version)
    return licence_out(licences.view_of(ctx, row), ctx)


_CHANGE_RESPONSES = problems(401, 403, 404, 409, 412, 428)


@router.post("/{licence_id}/revoke", response_model=LicenceOut, responses=_CHANGE_RESPONSES)
async def revoke_licence(
    licence_id: str,
    payload: LicenceStatusIn,
    request: Request,
    principal: SignerOrAdmin,
    uow: UowDep,
    ctx: ContextDep,
    response: Response,
) -> LicenceOut:
    """Revoke a licence for good (``If-Match``); its revocation bit is set in the status list."""
    return await _change(licence_id, "revoke", payload, request, principal, uow, ctx, response)


@router.post("/{licence_id}/suspend", response_model=LicenceOut, responses=_CHANGE_RESPONSES)
async def suspend_licence(
    licence_id: str,
    payload: LicenceStatusIn,
    request: Request,
    principal: SignerOrAdmin,
    uow: UowDep,
    ctx: ContextDep,
    response: Response,
) -> LicenceOut:
    """Suspend a licence (``If-Match``); its suspension bit is set until it is reinstated."""
    return await _change(licence_id, "suspend", payload, request, principal, uow, ctx, response)


@router.post("/{licence_id}/reinstate", response_model=LicenceOut, responses=_CHANGE_RESPONSES)
async def reinstate_licence(
    licence_id: str,
    payload: LicenceStatusIn,
    request: Request,
    principal: SignerOrAdmin,
    uow: UowDep,
    ctx: ContextDep,
    response: Response,
) -> LicenceOut:
    """Lift a suspension (``If-Match``); the suspension bit is cleared."""
    return await _change(licence_id, "reinstate", payload, request, principal, uow, ctx, response)


@router.post("/verify", response_model=LicenceReportOut, responses=problems(401, 403, 404, 422))
async def verify(
    payload: LicenceVerifyIn, principal: Verifier, uow: UowDep, ctx: ContextDep
) -> LicenceReportOut:
    """Validate a licence: issuer's signature and certificate, recognition of the issuer, validity, status."""
    gm = base64.b64decode(payload.gm_signature) if payload.gm_signature else None
    if payload.licence_id is not None:
        async with uow:
            row = await licences.get_licence_row(uow, payload.licence_id)
        jwt = licences.view_of(ctx, row).jwt
        gm = gm or row.gm_signature
    else:
        assert payload.credential is not None
        jwt = payload.credential
    result = await verify_licence(ctx, jwt, gm_signature=gm)
    s = result.licence
    summary = LicenceSummaryOut(
        id=s.id,
        licence_type=s.licence_type,
        issuer_uscc=s.issuer_uscc,
        issuer_name=s.issuer_name,
        issuer_region=s.issuer_region,
        trust_anchor_region=s.trust_anchor_region,
        valid_from=s.valid_from,
        valid_until=s.valid_until,
        issued_at=s.issued_at,
    )
    return LicenceReportOut.of(result.report, summary, ctx.clock())


@types_router.get("", response_model=list[LicenceTypeOut])
async def list_licence_types(uow: UowDep) -> list[LicenceTypeOut]:
    """The licence-type registry (no token needed)."""
    async with uow:
        rows = (await uow.session.execute(select(LicenceTypeRow).order_by(LicenceTypeRow.code))).scalars()
        return [LicenceTypeOut(code=r.code, name=r.name) for r in rows]


@types_router.post("", status_code=201, response_model=LicenceTypeOut, responses=problems(401, 403, 409, 422))
async def register_licence_type(payload: LicenceTypeIn, principal: Admin, uow: UowDep) -> LicenceTypeOut:
    """Register a licence type (``eseal:admin``)."""
    async with uow:
        if await uow.session.get(LicenceTypeRow, payload.code) is not None:
            raise Conflict(f"licence type {payload.code} exists", code="licence-type-exists")
        uow.session.add(LicenceTypeRow(code=payload.code, name=payload.name))
        await uow.commit()
    return LicenceTypeOut(code=payload.code, name=payload.name)
