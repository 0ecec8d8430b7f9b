"""Natural and legal persons: registration, reads (masked identity numbers), verification, TOTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tongban_kit.app import RuntimeDep
from tongban_kit.auth import OptionalPrincipalDep, Principal, PrincipalDep, require_scopes
from tongban_kit.http import decode_cursor, encode_cursor
from tongban_kit.idempotency import idempotency_key, remember, replay
from tongban_kit.problems import Problem

from identity_svc.adapters import totp
from identity_svc.adapters.orm import NaturalPersonRow
from identity_svc.adapters.repository import person_from_row
from identity_svc.api.deps import CtxDep, client_ip, etag, expected_version, forbidden
from identity_svc.api.schemas import (
    LegalPersonCreate,
    LegalPersonOut,
    PersonCreate,
    PersonOut,
    PersonPage,
    RepresentativeIn,
    RepresentativeOut,
    TotpOut,
    VerificationIn,
)
from identity_svc.domain.accounts import LegalPerson, mask_uscc
from identity_svc.domain.assurance import Level, satisfies
from identity_svc.service_layer import accounts as account_handlers

router = APIRouter(tags=["persons"])
ADMIN = "identity:admin"
Admin = Annotated[Principal, Depends(require_scopes(ADMIN))]
Clerk = Annotated[Principal, Depends(require_scopes(ADMIN, "identity:verify", any_of=True))]


def _is_admin(principal: Principal | None) -> bool:
    return principal is not None and principal.has(ADMIN)


def legal_person_out(lp: LegalPerson, *, full: bool) -> LegalPersonOut:
    """Response body of a legal person; credit code masked unless `full`."""
    return LegalPersonOut(
        id=lp.id,
        name=lp.name,
        uscc=lp.uscc if full else mask_uscc(lp.uscc),
        uscc_masked=not full,
        representatives=[RepresentativeOut(person_id=r.person_id, role=r.role) for r in lp.representatives],
        version=lp.version,
    )


@router.post("/v1/persons", status_code=201, response_model=PersonOut)
async def register_person(
    body: PersonCreate,
    request: Request,
    principal: OptionalPrincipalDep,
    ctx: CtxDep,
    runtime: RuntimeDep,
) -> Any:
    """Register a natural person (L1 until verified in person); Idempotency-Key honoured."""
    if principal is None and not ctx.settings.open_registration:
        raise Problem(401, "unauthorized", "Registration needs an identity:admin token here.")
    if principal is not None and not _is_admin(principal):
        raise forbidden("Only identity administrators register persons for others.")
    full = _is_admin(principal)
    scope_id = principal.client_id if principal else f"anonymous:{client_ip(request, ctx)}"
    ikey = idempotency_key(request, scope_id, body.model_dump())
    async with runtime.uow() as uow:
        if ikey is not None and (stored := await replay(uow.session, ikey)) is not None:
            return JSONResponse(stored.body, status_code=stored.status, headers=stored.headers)
        person = await account_handlers.register_person(
            account_handlers.RegisterPerson(
                username=body.username,
                password=body.password,
                name=body.name,
                resident_id=body.resident_id,
                phone=body.phone,
            ),
            uow=uow,
            ctx=ctx,
            actor=principal.client_id if principal else None,
        )
        out = PersonOut.model_validate(account_handlers.person_view(person, full=full))
        headers = {"ETag": etag(person.id, person.version), "Location": f"/v1/persons/{person.id}"}
        if ikey is not None:
            remember(uow.session, ikey, 201, out.model_dump(mode="json"), headers)
        try:
            await uow.commit()
        except IntegrityError:
            await uow.rollback()
            if ikey is not None and (stored := await replay(uow.session, ikey)) is not None:
                return JSONResponse(stored.body, status_code=stored.status, headers=stored.headers)
            raise Problem(
                409, "already-registered", "This username or identity number is registered."
            ) from None
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=headers)


@router.get("/v1/persons", response_model=PersonPage)
async def list_persons(
    _: Admin,
    ctx: CtxDep,
    runtime: RuntimeDep,
    subject_hash: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F]{64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> PersonPage:
    """Persons in id order, optionally the one with a subject hash (identity:admin)."""
    after = decode_cursor(cursor)
    query = select(NaturalPersonRow).order_by(NaturalPersonRow.id).limit(limit + 1)
    if subject_hash is not None:
        query = query.where(NaturalPersonRow.subject_hash == subject_hash.lower())
    if after is not None:
        query = query.where(NaturalPersonRow.id > str(after.get("id", "")))
    async with runtime.uow() as uow:
        rows = list((await uow.session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        PersonOut.model_validate(account_handlers.person_view(person_from_row(r, ctx.cipher), full=True))
        for r in rows
    ]
    return PersonPage(items=items, next_cursor=encode_cursor({"id": rows[-1].id}) if more and rows else None)


@router.get("/v1/persons/{person_id}", response_model=PersonOut)
async def get_person(
    person_id: str, response: Response, principal: PrincipalDep, ctx: CtxDep, runtime: RuntimeDep
) -> PersonOut:
    """A person: identity administrators see the full number, the person themself a masked one."""
    full = _is_admin(principal)
    if not full and not (principal.subject == person_id and principal.subject_hash):
        raise forbidden("Only the person themself or an identity administrator may read this account.")
    async with runtime.uow() as uow:
        person = await account_handlers.load_person(uow, ctx, person_id)
    response.headers["ETag"] = etag(person.id, person.version)
    response.headers["Cache-Control"] = "no-store"
    return PersonOut.model_validate(account_handlers.person_view(person, full=full))


@router.post("/v1/persons/{person_id}/verification", response_model=PersonOut)
async def verify_person(
    person_id: str,
    body: VerificationIn,
    request: Request,
    response: Response,
    principal: Clerk,
    ctx: CtxDep,
    runtime: RuntimeDep,
) -> PersonOut:
    """A window clerk confirms the person's identity card: the account becomes L3 (If-Match)."""
    async with runtime.uow() as uow:
        current = await account_handlers.load_person(uow, ctx, person_id)
        version = expected_version(request, person_id, current.version)
        person = await account_handlers.verify_in_person(
            account_handlers.VerifyInPerson(person_id, body.resident_id, body.clerk, body.office),
            expected_version=version,
            uow=uow,
            ctx=ctx,
            actor=principal.client_id,
            region=principal.region,
        )
        await uow.commit()
    response.headers["ETag"] = etag(person.id, person.version)
    return PersonOut.model_validate(account_handlers.person_view(person, full=_is_admin(principal)))


@router.post("/v1/persons/{person_id}/totp", response_model=TotpOut)
async def enroll_totp(
    person_id: str,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    ctx: CtxDep,
    runtime: RuntimeDep,
) -> TotpOut:
    """The person sets up (or replaces) their authenticator; the secret is shown once (If-Match)."""
    if principal.subject != person_id or not principal.subject_hash:
        raise forbidden("Only the person themself may set up their authenticator.")
    async with runtime.uow() as uow:
        current = await account_handlers.load_person(uow, ctx, person_id)
        expected_version(request, person_id, current.version)
        # Replacing a second factor needs that factor: a stolen password alone must not suffice.
        if current.totp_enrolled and not satisfies(principal.acr, Level.L2):
            raise Problem(403, "step-up-required", "Log in with your current one-time code (acr L2) first.")
        person, secret = await account_handlers.enroll_totp(person_id, uow=uow, ctx=ctx)
        await uow.commit()
    response.headers["ETag"] = etag(person.id, person.version)
    response.headers["Cache-Control"] = "no-store"
    return TotpOut(
        secret=secret, otpauth_uri=totp.provisioning_uri(secret, person.username), version=person.version
    )


@router.post("/v1/legal-persons", status_code=201, response_model=LegalPersonOut)
async def register_legal_person(
    body: LegalPersonCreate, response: Response, principal: Admin, ctx: CtxDep, runtime: RuntimeDep
) -> LegalPersonOut:
    """Register a legal person and its representatives (identity:admin)."""
    async with runtime.uow() as uow:
        lp = await account_handlers.register_legal_person(
            account_handlers.RegisterLegalPerson(
                name=body.name,
                uscc=body.uscc,
                representatives=[(r.person_id, r.role) for r in body.representatives],
            ),
            uow=uow,
            ctx=ctx,
            actor=principal.client_id,
        )
        await uow.commit()
    response.headers["ETag"] = etag(lp.id, lp.version)
    response.headers["Location"] = f"/v1/legal-persons/{lp.id}"
    return legal_person_out(lp, full=True)


@router.get("/v1/legal-persons/{legal_person_id}", response_model=LegalPersonOut)
async def get_legal_person(
    legal_person_id: str, response: Response, principal: PrincipalDep, ctx: CtxDep, runtime: RuntimeDep
) -> LegalPersonOut:
    """A legal person: administrators see the credit code, its representatives a masked one."""
    async with runtime.uow() as uow:
        lp = await account_handlers.load_legal_person(uow, ctx, legal_person_id)
    full = _is_admin(principal)
    if not full and principal.subject not in {r.person_id for r in lp.representatives}:
        raise forbidden("Only its representatives or an identity administrator may read this legal person.")
    response.headers["ETag"] = etag(lp.id, lp.version)
    return legal_person_out(lp, full=full)


@router.post("/v1/legal-persons/{legal_person_id}/representatives", response_model=LegalPersonOut)
async def add_representative(
    legal_person_id: str,
    body: RepresentativeIn,
    request: Request,
    response: Response,
    principal: Admin,
    ctx: CtxDep,
    runtime: RuntimeDep,
) -> LegalPersonOut:
    """Let a person act for a legal person (If-Match)."""
    async with runtime.uow() as uow:
        current = await account_handlers.load_legal_person(uow, ctx, legal_person_id)
        version = expected_version(request, legal_person_id, current.version)
        lp = await account_handlers.add_representative(
            legal_person_id,
            body.person_id,
            body.role,
            expected_version=version,
            uow=uow,
            ctx=ctx,
            actor=principal.client_id,
        )
        await uow.commit()
    response.headers["ETag"] = etag(lp.id, lp.version)
    return legal_person_out(lp, full=True)
