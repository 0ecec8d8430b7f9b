"""Licence handlers: issue (VC 2.0 as vc+jwt, plus a detached SES_Signature for SM2 seals), status changes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm.exc import StaleDataError
from tongban_kit.crypto import subject_hash
from tongban_kit.identifiers import InvalidIdentifier, mask_resident_id, validate_resident_id, validate_uscc
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.crypto import ses, sm
from eseal_svc.adapters.jose import read_compact, sign_compact
from eseal_svc.adapters.orm import LicenceRow, LicenceTypeRow, SealRow
from eseal_svc.domain.commands import ChangeLicenceStatus, IssueLicence
from eseal_svc.domain.errors import InvalidLicence, SealNotOwned
from eseal_svc.domain.licence import Issuer, Licence, LicenceStatus, StatusEntry, StatusPurpose
from eseal_svc.domain.model import SealAlgorithm
from eseal_svc.service_layer import events
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import NotFound, StaleVersion, Unprocessable
from eseal_svc.service_layer.seals import get_seal_row, seal_from_row, usable_seal_for
from eseal_svc.service_layer.status_lists import allocate, set_bit
from eseal_svc.service_layer.vc import LicenceKey, build_credential, licence_signer

log = structlog.get_logger("eseal.licences")


@dataclass(frozen=True, slots=True)
class LicenceView:
    """A stored licence with its credential decrypted."""

    row: LicenceRow
    jwt: str
    credential: dict[str, Any]


def credential_aad(licence_id: str) -> bytes:
    """Associated data binding a ciphertext to its licence row."""
    return f"tongban-eseal:licence:{licence_id}".encode()


def view_of(ctx: EsealContext, row: LicenceRow) -> LicenceView:
    """Decrypt a licence's credential."""
    jwt = ctx.cipher.decrypt(row.credential_encrypted, credential_aad(row.id))
    return LicenceView(row, jwt, read_compact(jwt).payload)


def licence_from_row(row: LicenceRow) -> Licence:
    """The Licence aggregate of a stored row."""
    return Licence(
        id=row.id,
        licence_type=row.licence_type,
        issuer=Issuer(row.issuer_uscc, row.issuer_name, row.issuer_region),
        seal_id=row.seal_id,
        holder_subject_hash=row.holder_subject_hash,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        issued_at=row.issued_at,
        revocation=StatusEntry(StatusPurpose.REVOCATION, row.revocation_list_id, row.revocation_index),
        suspension=StatusEntry(StatusPurpose.SUSPENSION, row.suspension_list_id, row.suspension_index),
        status=LicenceStatus(row.status),
        status_changed_at=row.status_changed_at,
        status_reason=row.status_reason,
        version=row.version,
    )


def _holder_id(id_type: str, number: str) -> tuple[str, str]:
    """The normalised number and its masked form."""
    try:
        normalised = validate_resident_id(number) if id_type == "resident_id" else validate_uscc(number)
    except InvalidIdentifier as exc:
        raise InvalidLicence(f"holder identifier: {exc}") from None
    return normalised, mask_resident_id(normalised)


async def _seal_for(uow: UnitOfWork, cmd: IssueLicence, ctx: EsealContext) -> SealRow:
    now = ctx.clock()
    if not cmd.org:
        raise SealNotOwned("the token carries no organisation (org claim), so it cannot issue licences")
    if cmd.seal_id is None:
        row = await usable_seal_for(uow, cmd.org, now)
        if row is None:
            raise Unprocessable(
                "your organisation has no usable seal; name one with seal_id", code="no-usable-seal"
            )
    else:
        row = await get_seal_row(uow, cmd.seal_id)
    seal = seal_from_row(row)
    seal.ensure_owned_by(cmd.org)
    seal.ensure_can_sign(now)
    return row


async def issue_licence(
    cmd: IssueLicence, *, ctx: EsealContext, uow: UnitOfWork, actor: dict[str, Any]
) -> LicenceView:
    """Issue, seal and store a licence; records licence-issued."""
    licence_type = await uow.session.get(LicenceTypeRow, cmd.licence_type)
    if licence_type is None:
        raise InvalidLicence(f"licence type {cmd.licence_type!r} is not registered")
    seal = await _seal_for(uow, cmd, ctx)
    now = ctx.clock()
    number, masked = _holder_id(cmd.holder_id_type, cmd.holder_id_number)
    holder_hash = subject_hash(number, ctx.settings.subject_hash_key)
    licence_id = new_id()
    issuer = Issuer(seal.uscc, seal.org_name, seal.region)
    revocation = await allocate(uow, ctx, seal.id, StatusPurpose.REVOCATION)
    suspension = await allocate(uow, ctx, seal.id, StatusPurpose.SUSPENSION)
    licence = Licence.issue(
        licence_id=licence_id,
        licence_type=cmd.licence_type,
        issuer=issuer,
        seal_id=seal.id,
        holder_subject_hash=holder_hash,
        valid_from=cmd.valid_from or now,
        valid_until=cmd.valid_until,
        issued_at=now,
        revocation=revocation,
        suspension=suspension,
    )
    credential = build_credential(
        ctx=ctx,
        licence_id=licence_id,
        licence_type=cmd.licence_type,
        type_name=licence_type.name,
        issuer=issuer,
        holder_subject_hash=holder_hash,
        holder_name=cmd.holder_name,
        holder_id_type=cmd.holder_id_type,
        holder_id_masked=masked,
        fields=dict(cmd.fields),
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        issued_at=now,
        entries=[revocation, suspension],
    )
    seal_id, seal_der, certificate, blob = seal.id, seal.seal_der, seal.signer_certificate, seal.wrapped_key
    licence_key, is_sm2 = LicenceKey.of(seal), seal.algorithm == SealAlgorithm.SM2_SM3.value

    def work() -> tuple[str, bytes | None]:
        jwt = sign_compact(
            credential, signer=licence_signer(ctx, licence_key), certificate_der=licence_key.certificate
        )
        if not is_sm2:
            return jwt, None
        # 国密 verifiers check the same bytes: an SES_Signature over SM3 of the JWT's ASCII form.
        gm = ses.sign(
            seal_der=seal_der,
            signer=ctx.keyring.seal_signer(seal_id, blob),
            signer_certificate=certificate,
            data_hash=sm.sm3(jwt.encode("ascii")),
            signed_at=now,
            property_info=f"licence:{licence_id}",
        )
        return jwt, gm

    jwt, gm_signature = await asyncio.to_thread(work)
    row = LicenceRow(
        id=licence_id,
        licence_type=licence.licence_type,
        issuer_uscc=issuer.uscc,
        issuer_name=issuer.name,
        issuer_region=issuer.region,
        seal_id=seal.id,
        holder_subject_hash=holder_hash,
        holder_id_encrypted=ctx.cipher.encrypt(number, credential_aad(licence_id)),
        holder_id_masked=masked,
        credential_encrypted=ctx.cipher.encrypt(jwt, credential_aad(licence_id)),
        gm_signature=gm_signature,
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        issued_at=licence.issued_at,
        status=licence.status.value,
        revocation_list_id=revocation.list_id,
        revocation_index=revocation.index,
        suspension_list_id=suspension.list_id,
        suspension_index=suspension.index,
        version=licence.version,
        event_seq=0,
        actor=actor,
    )
    uow.session.add(row)
    events.licence_issued(uow, ctx.settings, row, licence, actor)
    log.info("licence issued", licence_id=licence_id, licence_type=licence.licence_type, seal_id=seal.id)
    return LicenceView(row, jwt, json.loads(json.dumps(credential)))


async def get_licence_row(uow: UnitOfWork, licence_id: str) -> LicenceRow:
    """The stored licence, or NotFound."""
    row = await uow.session.get(LicenceRow, licence_id)
    if row is None:
        raise NotFound(f"licence {licence_id} was not found")
    return row


async def change_status(
    cmd: ChangeLicenceStatus, *, ctx: EsealContext, uow: UnitOfWork, actor: dict[str, Any], row: LicenceRow
) -> LicenceRow:
    """Revoke, suspend or reinstate; flips the list bit and records the event in one transaction."""
    if row.version != cmd.expected_version:
        raise StaleVersion("the licence changed since you read it")
    licence = licence_from_row(row)
    now = ctx.clock()
    if cmd.action == "revoke":
        licence.revoke(at=now, reason=cmd.reason)
        await set_bit(uow, ctx, licence.revocation, True)
    elif cmd.action == "suspend":
        licence.suspend(at=now, reason=cmd.reason)
        await set_bit(uow, ctx, licence.suspension, True)
    else:
        licence.reinstate(at=now, reason=cmd.reason)
        await set_bit(uow, ctx, licence.suspension, False)
    row.status = licence.status.value
    row.status_changed_at = licence.status_changed_at
    row.status_reason = licence.status_reason
    row.version = licence.version
    events.licence_status_changed(uow, ctx.settings, row, cmd.action, actor)
    try:
        await uow.session.flush()
    except StaleDataError:
        raise StaleVersion("the licence changed since you read it") from None
    log.info("licence status changed", licence_id=row.id, action=cmd.action, status=row.status)
    return row
