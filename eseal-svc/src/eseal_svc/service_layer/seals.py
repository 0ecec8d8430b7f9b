"""Seal handlers: make a seal (keys, certificates, SESeal, image) and revoke it."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.crypto.ca import DeploymentPki
from eseal_svc.adapters.crypto.keys import Signer, generate_signer
from eseal_svc.adapters.crypto.sealmaker import MadeSeal, make_organisation_seal
from eseal_svc.adapters.jose import jose_algorithm
from eseal_svc.adapters.orm import SealRow
from eseal_svc.domain.commands import CreateSeal, RevokeSeal
from eseal_svc.domain.errors import InvalidValidityWindow
from eseal_svc.domain.model import (
    Seal,
    SealAlgorithm,
    SealMaterial,
    SealSpec,
    SealStatus,
    SealType,
    ValidityWindow,
)
from eseal_svc.service_layer import events
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import NotFound, StaleVersion

log = structlog.get_logger("eseal.seals")
# A revocation may be dated back (key compromise found late), but not before the seal existed.
MAX_FUTURE_SKEW = timedelta(minutes=5)


def seal_from_row(row: SealRow) -> Seal:
    """The Seal aggregate of a stored row."""
    spec = SealSpec(
        org_name=row.org_name,
        uscc=row.uscc,
        region=row.region,
        seal_type=SealType(row.seal_type),
        algorithm=SealAlgorithm(row.algorithm),
        validity=ValidityWindow(row.valid_from, row.valid_to),
        name=row.name,
    )
    material = SealMaterial(row.seal_der, row.image_png, row.signer_certificate, row.wrapped_key)
    return Seal(
        id=row.id,
        es_id=row.es_id,
        spec=spec,
        material=material,
        created_at=row.created_at,
        status=SealStatus(row.status),
        revoked_at=row.revoked_at,
        revocation_reason=row.revocation_reason,
        version=row.version,
    )


async def get_seal_row(uow: UnitOfWork, seal_id: str) -> SealRow:
    """The stored seal, or NotFound."""
    row = await uow.session.get(SealRow, seal_id)
    if row is None:
        raise NotFound(f"seal {seal_id} was not found")
    return row


def _make(
    ctx: EsealContext, spec: SealSpec, seal_id: str, es_id: str, now: datetime
) -> tuple[MadeSeal, Signer | None, bytes, str]:
    """CPU-bound part: seal, and for SM2 seals an ES256 licence key certified by the ECDSA CA."""
    hosted = ctx.keyring.pki(spec.region, spec.algorithm)
    made = make_organisation_seal(
        spec, pki=hosted.pki, es_id=es_id, created_at=now, font_path=ctx.settings.seal_font
    )
    if spec.algorithm is SealAlgorithm.SM2_SM3:
        jose_pki: DeploymentPki = ctx.keyring.pki(spec.region, SealAlgorithm.ECDSA_P256_SHA256).pki
        jose_signer = generate_signer(SealAlgorithm.ECDSA_P256_SHA256)
        jose_certificate = jose_pki.issue_signer_certificate(
            public_key=jose_signer.verifier(),
            seal_name=spec.name,
            org_name=spec.org_name,
            uscc=spec.uscc,
            not_before=spec.validity.valid_from,
            not_after=spec.validity.valid_to,
        )
        return made, jose_signer, jose_certificate, jose_algorithm(SealAlgorithm.ECDSA_P256_SHA256)
    return made, None, made.signer_certificate, jose_algorithm(spec.algorithm)


async def create_seal(
    cmd: CreateSeal, *, ctx: EsealContext, uow: UnitOfWork, actor: dict[str, Any]
) -> SealRow:
    """Make the seal and store it with its private keys wrapped; the keys never leave this function."""
    now = ctx.clock()
    spec = SealSpec.create(
        org_name=cmd.org_name,
        uscc=cmd.uscc,
        region=cmd.region,
        seal_type=cmd.seal_type,
        algorithm=cmd.algorithm,
        valid_from=cmd.valid_from,
        valid_to=cmd.valid_to,
        name=cmd.name,
        now=now,
    )
    if spec.validity.valid_from < now - timedelta(days=1):
        raise InvalidValidityWindow("a new seal cannot be valid from more than a day ago")
    hosted = ctx.keyring.pki(spec.region, spec.algorithm)  # RegionNotHosted before any key is made
    seal_id = new_id()
    es_id = f"{spec.region}-{seal_id}"
    made, jose_signer, jose_certificate, jose_alg = await asyncio.to_thread(
        _make, ctx, spec, seal_id, es_id, now
    )
    seal = Seal.issue(
        seal_id=seal_id,
        es_id=es_id,
        spec=spec,
        material=SealMaterial(
            seal_der=made.seal_der,
            image_png=made.image_png,
            signer_certificate_der=made.signer_certificate,
            wrapped_private_key=ctx.keyring.wrap_seal_key(seal_id, made.signer),
        ),
        created_at=now,
    )
    row = SealRow(
        id=seal.id,
        es_id=seal.es_id,
        org_name=spec.org_name,
        uscc=spec.uscc,
        region=spec.region,
        seal_type=spec.seal_type.value,
        algorithm=spec.algorithm.value,
        name=spec.name,
        valid_from=spec.validity.valid_from,
        valid_to=spec.validity.valid_to,
        status=seal.status.value,
        created_at=seal.created_at,
        version=seal.version,
        event_seq=0,
        pki_id=hosted.id,
        seal_der=seal.material.seal_der,
        image_png=seal.material.image_png,
        signer_certificate=seal.material.signer_certificate_der,
        signer_certificate_sha256=hashlib.sha256(seal.material.signer_certificate_der).hexdigest(),
        maker_certificate_sha256=hashlib.sha256(hosted.pki.maker_certificate).hexdigest(),
        wrapped_key=seal.material.wrapped_private_key,
        jose_alg=jose_alg,
        jose_certificate=jose_certificate,
        jose_certificate_sha256=hashlib.sha256(jose_certificate).hexdigest(),
        jose_wrapped_key=ctx.keyring.wrap_seal_key(seal_id, jose_signer, role="jose")
        if jose_signer
        else None,
        actor=actor,
    )
    uow.session.add(row)
    log.info(
        "seal created",
        seal_id=seal_id,
        es_id=es_id,
        uscc=spec.uscc,
        region=spec.region,
        algorithm=spec.algorithm.value,
    )
    return row


async def revoke_seal(
    cmd: RevokeSeal, *, ctx: EsealContext, uow: UnitOfWork, actor: dict[str, Any]
) -> SealRow:
    """Revoke the seal from invalid_since (or now) on and record seal-revoked."""
    row = await get_seal_row(uow, cmd.seal_id)
    if row.version != cmd.expected_version:
        raise StaleVersion("the seal changed since you read it")
    now = ctx.clock()
    at = cmd.invalid_since or now
    if at > now + MAX_FUTURE_SKEW:
        raise InvalidValidityWindow("invalid_since cannot be in the future")
    seal = seal_from_row(row)
    seal.revoke(at=max(at, row.created_at), reason=cmd.reason)
    row.status = seal.status.value
    row.revoked_at = seal.revoked_at
    row.revocation_recorded_at = now
    row.revocation_reason = seal.revocation_reason
    row.version = seal.version
    events.seal_revoked(uow, ctx.settings, row, actor)
    try:
        await uow.session.flush()
    except StaleDataError:
        raise StaleVersion("the seal changed since you read it") from None
    ctx.keyring.forget(row.id)
    log.info("seal revoked", seal_id=row.id, es_id=row.es_id, revoked_at=str(row.revoked_at))
    return row


async def usable_seal_for(uow: UnitOfWork, org: str, now: datetime) -> SealRow | None:
    """The organisation's seal to use when a request names none: an official seal first, then the newest."""
    rows = (
        await uow.session.execute(
            select(SealRow).where(SealRow.uscc == org, SealRow.status == SealStatus.ACTIVE.value)
        )
    ).scalars()
    usable = [r for r in rows if r.valid_from <= now < r.valid_to]
    usable.sort(key=lambda r: (r.seal_type != SealType.OFFICIAL.value, -r.created_at.timestamp()))
    return usable[0] if usable else None
