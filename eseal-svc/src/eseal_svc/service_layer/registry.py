"""Trust anchors, the trust registry of licence issuers, and the licence-type registry."""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from tongban_contracts.reference import LICENCE_TYPES
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.crypto.ca import describe_certificate
from eseal_svc.adapters.crypto.errors import CertificateError
from eseal_svc.adapters.orm import LicenceTypeRow, TrustAnchorRow, TrustedIssuerRow
from eseal_svc.domain.commands import RegisterTrustAnchor, RegisterTrustedIssuer
from eseal_svc.domain.model import validate_region
from eseal_svc.domain.uscc import validate_uscc
from eseal_svc.service_layer.errors import Conflict, StaleVersion, Unprocessable
from eseal_svc.service_layer.pki import anchor_row

log = structlog.get_logger("eseal.registry")


async def register_anchor(
    cmd: RegisterTrustAnchor, *, uow: UnitOfWork, actor: dict[str, Any]
) -> TrustAnchorRow:
    """Accept a root CA certificate of a region; 409 when it is registered already."""
    region = validate_region(cmd.region)
    try:
        info = describe_certificate(cmd.certificate_der)
    except CertificateError as exc:
        raise Unprocessable(f"not a DER X.509 certificate: {exc}", code="bad-certificate") from None
    if not info.is_ca:
        raise Unprocessable("a trust anchor must be a CA certificate", code="not-a-ca")
    if info.public_key_algorithm is None:
        raise Unprocessable("the anchor's key is not SM2, ECDSA P-256 or Ed25519", code="unsupported-key")
    fingerprint = hashlib.sha256(cmd.certificate_der).hexdigest()
    existing = (
        await uow.session.execute(
            select(TrustAnchorRow).where(TrustAnchorRow.fingerprint_sha256 == fingerprint)
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"this certificate is already trust anchor {existing.id}", code="anchor-exists")
    row = anchor_row(region=region, certificate=cmd.certificate_der, source="registered", actor=actor)
    uow.session.add(row)
    log.info("trust anchor registered", anchor_id=row.id, region=region, fingerprint=fingerprint)
    return row


async def register_issuer(
    cmd: RegisterTrustedIssuer, *, uow: UnitOfWork, actor: dict[str, Any]
) -> tuple[TrustedIssuerRow, bool]:
    """Add licence types to an organisation's entry (creating it); returns the row and whether it is new."""
    uscc = validate_uscc(cmd.uscc)
    region = validate_region(cmd.region)
    known = set((await uow.session.execute(select(LicenceTypeRow.code))).scalars())
    unknown = sorted(cmd.licence_types - known)
    if unknown:
        raise Unprocessable(f"unknown licence types: {', '.join(unknown)}", code="unknown-licence-type")
    row = (
        await uow.session.execute(
            select(TrustedIssuerRow).where(TrustedIssuerRow.uscc == uscc, TrustedIssuerRow.region == region)
        )
    ).scalar_one_or_none()
    if row is None:
        row = TrustedIssuerRow(
            id=new_id(),
            uscc=uscc,
            region=region,
            org_name=cmd.org_name.strip(),
            licence_types=sorted(cmd.licence_types),
            version=1,
            actor=actor,
        )
        uow.session.add(row)
        created = True
    else:
        row.licence_types = sorted(set(row.licence_types) | cmd.licence_types)
        row.org_name = cmd.org_name.strip() or row.org_name
        row.version += 1
        row.actor = actor
        created = False
    try:
        await uow.session.flush()
    except StaleDataError:
        raise StaleVersion("the entry changed meanwhile; retry") from None
    log.info("trusted issuer registered", uscc=uscc, region=region, licence_types=row.licence_types)
    return row, created


async def seed_licence_types(uow: UnitOfWork) -> None:
    """Register every shared reference licence type that is missing."""
    known = set((await uow.session.execute(select(LicenceTypeRow.code))).scalars())
    for code, name in LICENCE_TYPES.items():
        if code not in known:
            uow.session.add(LicenceTypeRow(code=code, name=name))
