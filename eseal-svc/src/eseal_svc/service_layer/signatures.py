"""Signing documents (GB/T 38540 SES_Signature, PAdES for PDFs) and validating signatures."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.crypto import ses
from eseal_svc.adapters.crypto.ca import ChainStatus, describe_certificate, verify_chain
from eseal_svc.adapters.crypto.errors import CertificateError
from eseal_svc.adapters.orm import SealRow
from eseal_svc.adapters.pades import PdfFormatError, PdfSignatureFinding, inspect_pdf, sign_pdf
from eseal_svc.domain.commands import SignDigests, SignPdf
from eseal_svc.domain.errors import SealNotOwned
from eseal_svc.domain.model import SealAlgorithm
from eseal_svc.domain.validation import (
    CheckName,
    CheckResult,
    SignatureInfo,
    SubIndication,
    ValidationReport,
)
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import Unprocessable
from eseal_svc.service_layer.seals import get_seal_row, seal_from_row
from eseal_svc.service_layer.trust import TrustSnapshot

log = structlog.get_logger("eseal.signatures")


@dataclass(frozen=True, slots=True)
class SignedBatch:
    """Signatures made in one request, all at the same instant with the same seal."""

    seal: SealRow
    signed_at: datetime
    signatures: tuple[bytes, ...]


async def _usable_seal(uow: UnitOfWork, seal_id: str, org: str | None, now: datetime) -> SealRow:
    row = await get_seal_row(uow, seal_id)
    seal = seal_from_row(row)
    if not org:
        raise SealNotOwned("the token carries no organisation (org claim), so it cannot sign")
    seal.ensure_owned_by(org)
    seal.ensure_can_sign(now)
    return row


async def sign_digests(cmd: SignDigests, *, ctx: EsealContext, uow: UnitOfWork) -> SignedBatch:
    """One SES_Signature per digest, made by the seal's key inside the service."""
    now = ctx.clock()
    row = await _usable_seal(uow, cmd.seal_id, cmd.org, now)
    seal_der, certificate, blob, seal_id = row.seal_der, row.signer_certificate, row.wrapped_key, row.id

    def work() -> tuple[bytes, ...]:
        signer = ctx.keyring.seal_signer(seal_id, blob)
        return tuple(
            ses.sign(
                seal_der=seal_der,
                signer=signer,
                signer_certificate=certificate,
                data_hash=digest,
                signed_at=now,
                property_info=cmd.property_info,
            )
            for digest in cmd.digests
        )

    signatures = await asyncio.to_thread(work)
    log.info("documents signed", seal_id=row.id, count=len(signatures), algorithm=row.algorithm)
    return SignedBatch(row, now, signatures)


async def sign_pdf_document(
    cmd: SignPdf, *, ctx: EsealContext, uow: UnitOfWork
) -> tuple[SealRow, bytes, datetime]:
    """The PDF with a PAdES B-B signature of the seal (ECDSA P-256 and Ed25519 seals only)."""
    now = ctx.clock()
    row = await _usable_seal(uow, cmd.seal_id, cmd.org, now)
    if row.algorithm == SealAlgorithm.SM2_SM3.value:
        raise Unprocessable(
            "PAdES needs an ECDSA P-256 or Ed25519 seal; sign with POST /v1/signatures for SM2 seals",
            code="pades-needs-ecdsa-or-ed25519",
        )
    anchor = ctx.keyring.pki_by_id(row.pki_id)
    chain = [anchor.pki.trust_anchor] if anchor else []
    blob, certificate, seal_id, name = row.wrapped_key, row.signer_certificate, row.id, row.name

    def work() -> bytes:
        signer = ctx.keyring.seal_signer(seal_id, blob)
        return sign_pdf(
            cmd.pdf,
            signer=signer,
            certificate_der=certificate,
            chain=chain,
            field_name=f"TongbanSeal-{seal_id[-12:]}-{int(now.timestamp())}",
            name=name,
            reason=cmd.reason,
            location=cmd.location,
        )

    try:
        signed = await asyncio.to_thread(work)
    except PdfFormatError as exc:
        raise Unprocessable(str(exc), code="bad-pdf") from None
    log.info("pdf signed", seal_id=row.id, size=len(signed))
    return row, signed, now


# ---------------------------------------------------------------------------------------------
# Validation


async def revoked_seals(uow: UnitOfWork) -> dict[ses.SealReference, datetime]:
    """Every revoked seal this deployment knows, as the SES verifier's revocation source sees them."""
    rows = await uow.session.execute(
        select(SealRow.es_id, SealRow.maker_certificate_sha256, SealRow.revoked_at).where(
            SealRow.revoked_at.is_not(None)
        )
    )
    return {ses.SealReference(es_id, maker): at for es_id, maker, at in rows if at is not None}


async def revoked_by_certificate(uow: UnitOfWork, fingerprints: Sequence[str]) -> dict[str, datetime]:
    """Revocation times of seals whose signer or licence certificate has one of these SHA-256s."""
    if not fingerprints:
        return {}
    rows = await uow.session.execute(
        select(SealRow.signer_certificate_sha256, SealRow.jose_certificate_sha256, SealRow.revoked_at).where(
            (
                SealRow.signer_certificate_sha256.in_(fingerprints)
                | SealRow.jose_certificate_sha256.in_(fingerprints)
            )
            & SealRow.revoked_at.is_not(None)
        )
    )
    out: dict[str, datetime] = {}
    for signer, jose, at in rows:
        if at is not None:
            out[signer] = at
            out[jose] = at
    return out


def verify_ses(
    signature_der: bytes,
    document: bytes | ses.DocumentDigest,
    *,
    trust: TrustSnapshot,
    revoked: dict[ses.SealReference, datetime],
    now: datetime,
) -> ValidationReport:
    """Validate one SES_Signature against the registered anchors and known revocations."""
    return ses.verify_ses_signature(
        signature_der,
        document,
        trust_anchors=trust.certificates,
        revocation_lookup=revoked.get,
        validation_time=now,
    )


def _pdf_roots(trust: TrustSnapshot) -> list[bytes]:
    return [a.certificate for a in trust.anchors if a.algorithm in ("ECDSA_P256_SHA256", "ED25519")]


def _subject(der: bytes | None) -> str | None:
    if der is None:
        return None
    try:
        return describe_certificate(der).subject
    except CertificateError:
        return None


def pdf_report(
    findings: Sequence[PdfSignatureFinding],
    *,
    trust: TrustSnapshot,
    revoked: dict[str, datetime],
    now: datetime,
) -> ValidationReport:
    """The DSS-style verdict over every PAdES signature of a PDF."""
    checks: list[CheckResult] = []
    if not findings:
        checks.append(
            CheckResult.failed(CheckName.FORMAT, SubIndication.FORMAT_FAILURE, "the PDF has no signature")
        )
        return ValidationReport.from_checks(checks)
    info = SignatureInfo()
    for f in findings:
        p = f"{f.field_name}: "
        if f.error is not None or f.signer_certificate is None:
            checks.append(
                CheckResult.failed(
                    CheckName.FORMAT, SubIndication.FORMAT_FAILURE, p + f"unreadable ({f.error})"
                )
            )
            continue
        checks.append(CheckResult.ok(CheckName.FORMAT, p + "PAdES signature parsed"))
        signed_at = f.signing_time or now
        chain = verify_chain(f.signer_certificate, trust_anchors=_pdf_roots(trust), at=signed_at)
        if chain.valid:
            checks.append(CheckResult.ok(CheckName.SIGNER_CHAIN, p + chain.detail))
        else:
            sub = {
                ChainStatus.EXPIRED: SubIndication.EXPIRED,
                ChainStatus.NOT_YET_VALID: SubIndication.NOT_YET_VALID,
            }.get(chain.status, SubIndication.NO_CERTIFICATE_CHAIN_FOUND)
            checks.append(CheckResult.failed(CheckName.SIGNER_CHAIN, sub, p + chain.detail))
        if f.intact:
            checks.append(
                CheckResult.ok(
                    CheckName.DATA_HASH, p + f"{f.digest_algorithm} of the signed byte ranges matches"
                )
            )
        else:
            checks.append(
                CheckResult.failed(
                    CheckName.DATA_HASH, SubIndication.HASH_FAILURE, p + "the signed byte ranges were changed"
                )
            )
        if f.valid:
            checks.append(CheckResult.ok(CheckName.SIGNATURE_VALUE, p + "CMS signature verifies"))
        else:
            checks.append(
                CheckResult.failed(
                    CheckName.SIGNATURE_VALUE,
                    SubIndication.SIG_CRYPTO_FAILURE,
                    p + "CMS signature does not verify",
                )
            )
        if f.covers_whole_file or not f.modified_beyond_forms:
            checks.append(CheckResult.ok(CheckName.COVERAGE, p + "no disallowed change after signing"))
        else:
            checks.append(
                CheckResult.failed(
                    CheckName.COVERAGE,
                    SubIndication.HASH_FAILURE,
                    p + "the document was changed after signing",
                )
            )
        revoked_at = revoked.get(hashlib.sha256(f.signer_certificate).hexdigest())
        if revoked_at is not None and revoked_at <= signed_at:
            checks.append(
                CheckResult.failed(
                    CheckName.REVOCATION,
                    SubIndication.REVOKED,
                    p + f"seal revoked {revoked_at}, before signing",
                )
            )
        elif revoked_at is not None:
            checks.append(
                CheckResult.ok(CheckName.REVOCATION, p + f"seal revoked {revoked_at}, after signing")
            )
        else:
            checks.append(CheckResult.ok(CheckName.REVOCATION, p + "seal not known to be revoked"))
        info = SignatureInfo(
            signing_time=f.signing_time,
            digest_algorithm=f.digest_algorithm,
            signer_subject=_subject(f.signer_certificate),
            trust_anchor_subject=_subject(chain.anchor_der) if chain.anchor_der else None,
            signature_algorithm="PAdES-B-B",
        )
    return ValidationReport.from_checks(checks, info)


async def verify_pdf(pdf: bytes, *, ctx: EsealContext) -> ValidationReport:
    """Validate every PAdES signature of a PDF; unreadable input is a FORMAT_FAILURE report."""
    trust = await ctx.trust.snapshot()
    now = ctx.clock()
    try:
        findings = await asyncio.to_thread(inspect_pdf, pdf, trust_roots=_pdf_roots(trust))
    except PdfFormatError as exc:
        return ValidationReport.from_checks(
            [CheckResult.failed(CheckName.FORMAT, SubIndication.FORMAT_FAILURE, str(exc))]
        )
    fingerprints = [
        hashlib.sha256(f.signer_certificate).hexdigest() for f in findings if f.signer_certificate
    ]
    async with ctx.uow() as uow:
        revoked = await revoked_by_certificate(uow, fingerprints)
    return pdf_report(findings, trust=trust, revoked=revoked, now=now)
