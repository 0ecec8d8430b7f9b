"""``/v1/trust``: the published trust list (root certificates, recognised licence issuers) and its upkeep."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from tongban_kit.app import UowDep

from eseal_svc.adapters.jose import public_jwk
from eseal_svc.adapters.orm import SealRow, TrustAnchorRow, TrustedIssuerRow
from eseal_svc.api.deps import Admin, ContextDep, actor_of, problems
from eseal_svc.api.schemas import (
    USCC_PATTERN,
    AnchorIn,
    AnchorOut,
    JwksOut,
    TrustedIssuerIn,
    TrustedIssuerOut,
    TrustOut,
    b64,
)
from eseal_svc.domain.commands import RegisterTrustAnchor, RegisterTrustedIssuer
from eseal_svc.service_layer import registry
from eseal_svc.service_layer.errors import Unprocessable

router = APIRouter(tags=["trust"])
PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
PEM_END = "-----END CERTIFICATE-----"


def anchor_out(row: TrustAnchorRow) -> AnchorOut:
    """A trust anchor as published."""
    return AnchorOut(
        id=row.id,
        region=row.region,
        subject=row.subject,
        algorithm=row.algorithm,
        fingerprint_sha256=row.fingerprint_sha256,
        not_after=row.not_after,
        source=row.source,
        certificate=b64(row.certificate),
    )


def issuer_out(row: TrustedIssuerRow) -> TrustedIssuerOut:
    """A trust-registry entry as published."""
    return TrustedIssuerOut(
        uscc=row.uscc,
        region=row.region,
        org_name=row.org_name,
        licence_types=list(row.licence_types),
        version=row.version,
    )


def certificate_bytes(text: str) -> bytes:
    """DER of a PEM certificate or of base64 DER."""
    body = text.strip()
    if body.startswith(PEM_BEGIN):
        if PEM_END not in body:
            raise Unprocessable("the PEM certificate is not terminated", code="bad-certificate")
        body = body[len(PEM_BEGIN) : body.index(PEM_END)]
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unprocessable("the certificate is neither PEM nor base64 DER", code="bad-certificate") from None


@router.get("/v1/trust", response_model=TrustOut)
async def get_trust(uow: UowDep, ctx: ContextDep, response: Response) -> TrustOut:
    """The trust list: which root CAs speak for which region, and who may issue which licence types."""
    async with uow:
        anchors = (
            await uow.session.execute(
                select(TrustAnchorRow).order_by(TrustAnchorRow.region, TrustAnchorRow.id)
            )
        ).scalars()
        issuers = (
            await uow.session.execute(
                select(TrustedIssuerRow).order_by(TrustedIssuerRow.region, TrustedIssuerRow.uscc)
            )
        ).scalars()
        doc = TrustOut(anchors=[anchor_out(a) for a in anchors], issuers=[issuer_out(i) for i in issuers])
    response.headers["Cache-Control"] = "public, max-age=60"
    return doc


@router.post(
    "/v1/trust/anchors", status_code=201, response_model=AnchorOut, responses=problems(401, 403, 409, 422)
)
async def register_anchor(payload: AnchorIn, principal: Admin, uow: UowDep, ctx: ContextDep) -> AnchorOut:
    """Register another region's root certificate, so its seals, signatures and licences validate here."""
    cmd = RegisterTrustAnchor(region=payload.region, certificate_der=certificate_bytes(payload.certificate))
    async with uow:
        row = await registry.register_anchor(cmd, uow=uow, actor=actor_of(principal))
        await uow.commit()
    ctx.trust.invalidate()
    return anchor_out(row)


@router.post(
    "/v1/trust/issuers",
    status_code=201,
    response_model=TrustedIssuerOut,
    responses=problems(401, 403, 412, 422),
)
async def register_issuer(
    payload: TrustedIssuerIn, principal: Admin, uow: UowDep, ctx: ContextDep
) -> JSONResponse:
    """Recognise an organisation of a region as issuer of licence types (201 when new, 200 when extended)."""
    cmd = RegisterTrustedIssuer(
        uscc=payload.uscc,
        region=payload.region,
        org_name=payload.org_name,
        licence_types=frozenset(payload.licence_types),
    )
    async with uow:
        row, created = await registry.register_issuer(cmd, uow=uow, actor=actor_of(principal))
        await uow.commit()
    ctx.trust.invalidate()
    return JSONResponse(issuer_out(row).model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/v1/jwks", response_model=JwksOut)
async def licence_keys(
    uow: UowDep, response: Response, org: str | None = Query(None, pattern=USCC_PATTERN)
) -> JwksOut:
    """Public keys that sign licences and status lists (active seals), each with its certificate in x5c."""
    stmt = select(SealRow.jose_certificate).where(SealRow.status == "active").order_by(SealRow.id)
    if org is not None:
        stmt = stmt.where(SealRow.uscc == org.upper())
    async with uow:
        certificates = list((await uow.session.execute(stmt)).scalars())
    response.headers["Cache-Control"] = "public, max-age=300"
    return JwksOut(keys=[public_jwk(c) for c in certificates])
