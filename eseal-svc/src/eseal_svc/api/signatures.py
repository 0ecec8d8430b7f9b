"""``/v1/signatures``: sign documents with a seal, validate signatures, and PAdES for PDFs."""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from tongban_kit.app import UowDep

from eseal_svc.adapters.crypto import ses
from eseal_svc.adapters.crypto.keys import digest as document_digest
from eseal_svc.api.deps import ContextDep, Signer, Verifier, problems
from eseal_svc.api.schemas import (
    DigestIn,
    PdfSignIn,
    PdfSignOut,
    PdfVerifyIn,
    ReportOut,
    ReportsOut,
    SignIn,
    SignOut,
    VerifyBatchIn,
    VerifyIn,
    b64,
)
from eseal_svc.domain.commands import SignDigests, SignPdf
from eseal_svc.domain.model import SealAlgorithm
from eseal_svc.service_layer import signatures
from eseal_svc.service_layer.errors import Unprocessable
from eseal_svc.service_layer.seals import get_seal_row

router = APIRouter(prefix="/v1/signatures", tags=["signatures"])
SES_FORMAT = "GB/T 38540-2020 SES_Signature v4"
SES_PROFILE = "SES_Signature v4 structure, Tongban {alg} profile (detached)"
_DIGEST_NAMES = {SealAlgorithm.SM2_SM3: "sm3"}


def _expected_digest(algorithm: SealAlgorithm) -> str:
    return _DIGEST_NAMES.get(algorithm, "sha256")


def _digest_bytes(value: DigestIn, algorithm: SealAlgorithm) -> bytes:
    if value.algorithm != _expected_digest(algorithm):
        raise Unprocessable(
            f"a {algorithm.value} seal signs {_expected_digest(algorithm)} digests, not {value.algorithm}",
            code="wrong-digest-algorithm",
        )
    return bytes.fromhex(value.value)


@router.post("", response_model=SignOut, responses=problems(401, 403, 404, 409, 422))
async def sign(payload: SignIn, principal: Signer, uow: UowDep, ctx: ContextDep) -> JSONResponse:
    """Sign a document, a digest or a batch of digests with a seal your organisation (token ``org``) owns."""
    async with uow:
        row = await get_seal_row(uow, payload.seal_id)
        algorithm = SealAlgorithm(row.algorithm)
        if payload.document is not None:
            digests: tuple[bytes, ...] = (document_digest(algorithm, base64.b64decode(payload.document)),)
        elif payload.digest is not None:
            digests = (_digest_bytes(payload.digest, algorithm),)
        else:
            assert payload.digests is not None
            if len(payload.digests) > ctx.settings.max_batch:
                raise Unprocessable(
                    f"at most {ctx.settings.max_batch} digests per request", code="batch-too-large"
                )
            digests = tuple(_digest_bytes(d, algorithm) for d in payload.digests)
        batch = await signatures.sign_digests(
            SignDigests(
                seal_id=row.id, org=principal.org, digests=digests, property_info=payload.property_info
            ),
            ctx=ctx,
            uow=uow,
        )
    fmt = SES_FORMAT if algorithm is SealAlgorithm.SM2_SM3 else SES_PROFILE.format(alg=algorithm.value)
    # Built by hand: a batch of SES_Signatures is large and already well-formed.
    body = {
        "seal_id": row.id,
        "es_id": row.es_id,
        "algorithm": algorithm.value,
        "format": fmt,
        "signed_at": batch.signed_at.isoformat().replace("+00:00", "Z"),
        "signatures": [
            {"signature": b64(s), "data_hash": d.hex()}
            for s, d in zip(batch.signatures, digests, strict=True)
        ],
    }
    return JSONResponse(body)


def _document(item: VerifyIn) -> bytes | ses.DocumentDigest:
    if item.digest is not None:
        return ses.DocumentDigest(bytes.fromhex(item.digest.value))
    assert item.document is not None
    return base64.b64decode(item.document)


@router.post("/verify", response_model=ReportOut, responses=problems(401, 403, 422))
async def verify(payload: VerifyIn, principal: Verifier, uow: UowDep, ctx: ContextDep) -> ReportOut:
    """Validate an SES_Signature against the document (or its digest) and every registered trust anchor."""
    trust = await ctx.trust.snapshot()
    async with uow:
        revoked = await signatures.revoked_seals(uow)
    now = ctx.clock()
    report = await asyncio.to_thread(
        signatures.verify_ses,
        base64.b64decode(payload.signature),
        _document(payload),
        trust=trust,
        revoked=revoked,
        now=now,
    )
    return ReportOut.of(report, now)


@router.post("/verify/batch", response_model=ReportsOut, responses=problems(401, 403, 422))
async def verify_batch(
    payload: VerifyBatchIn, principal: Verifier, uow: UowDep, ctx: ContextDep
) -> ReportsOut:
    """Validate many SES_Signatures in one call; one report per item, in order."""
    if len(payload.items) > ctx.settings.max_batch:
        raise Unprocessable(f"at most {ctx.settings.max_batch} items per request", code="batch-too-large")
    trust = await ctx.trust.snapshot()
    async with uow:
        revoked = await signatures.revoked_seals(uow)
    now = ctx.clock()
    items = [(base64.b64decode(i.signature), _document(i)) for i in payload.items]

    def work() -> list[ReportOut]:
        return [
            ReportOut.of(signatures.verify_ses(sig, doc, trust=trust, revoked=revoked, now=now), now)
            for sig, doc in items
        ]

    return ReportsOut(reports=await asyncio.to_thread(work))


@router.post("/pdf", response_model=PdfSignOut, responses=problems(401, 403, 404, 409, 422))
async def sign_pdf(payload: PdfSignIn, principal: Signer, uow: UowDep, ctx: ContextDep) -> PdfSignOut:
    """Sign a PDF with PAdES B-B using an ECDSA P-256 or Ed25519 seal your organisation owns."""
    async with uow:
        row, signed, at = await signatures.sign_pdf_document(
            SignPdf(
                seal_id=payload.seal_id,
                org=principal.org,
                pdf=base64.b64decode(payload.pdf),
                reason=payload.reason,
                location=payload.location,
            ),
            ctx=ctx,
            uow=uow,
        )
    return PdfSignOut(seal_id=row.id, signed_at=at, pdf=b64(signed))


@router.post("/pdf/verify", response_model=ReportOut, responses=problems(401, 403, 422))
async def verify_pdf(payload: PdfVerifyIn, principal: Verifier, ctx: ContextDep) -> ReportOut:
    """Validate every PAdES signature of a PDF; the report has the same shape as for SES signatures."""
    now = ctx.clock()
    report = await signatures.verify_pdf(base64.b64decode(payload.pdf), ctx=ctx)
    return ReportOut.of(report, now)
