"""Integration events of eseal-svc: payload models from the contracts, wrapped in CloudEvents envelopes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from tongban_contracts.events import eseal as contract
from tongban_contracts.topics import ESEAL_LICENCES
from tongban_kit.events import new_envelope
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.orm import LicenceRow, SealRow
from eseal_svc.config import Settings
from eseal_svc.domain.licence import Licence

SERVICE = contract.SERVICE


def _emit(
    uow: UnitOfWork,
    settings: Settings,
    *,
    name: str,
    subject: str,
    sequence: int,
    payload: BaseModel,
    region: str,
) -> None:
    uow.emit(
        settings.topic(ESEAL_LICENCES),
        new_envelope(
            SERVICE,
            name,
            subject=subject,
            sequence=sequence,
            extensions={"region": region},
            data=payload.model_dump(mode="json"),
        ),
    )


def _issuer(row: LicenceRow) -> contract.Issuer:
    return contract.Issuer(uscc=row.issuer_uscc, name=row.issuer_name, region=row.issuer_region)


def licence_issued(
    uow: UnitOfWork, settings: Settings, row: LicenceRow, licence: Licence, actor: dict[str, Any]
) -> None:
    """Record cn.gov.tongban.eseal.licence-issued.v1 in the outbox."""
    row.event_seq += 1
    entries = [
        contract.StatusEntry(
            purpose=e.purpose.value, status_list=settings.status_list_url(e.list_id), index=e.index
        )
        for e in (licence.revocation, licence.suspension)
    ]
    payload = contract.LicenceIssued(
        licence_id=row.id,
        licence_type=row.licence_type,
        issuer=_issuer(row),
        seal_id=row.seal_id,
        holder_subject_hash=row.holder_subject_hash,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        issued_at=row.issued_at,
        credential_status=entries,
        gm_signature=row.gm_signature is not None,
        version=row.version,
        actor=contract.Actor(**actor),
    )
    _emit(
        uow,
        settings,
        name="licence-issued",
        subject=row.id,
        sequence=row.event_seq,
        payload=payload,
        region=row.issuer_region,
    )


_STATUS_EVENTS: dict[str, tuple[str, type[contract.LicenceStatusChanged]]] = {
    "revoke": ("licence-revoked", contract.LicenceRevoked),
    "suspend": ("licence-suspended", contract.LicenceSuspended),
    "reinstate": ("licence-reinstated", contract.LicenceReinstated),
}


def licence_status_changed(
    uow: UnitOfWork, settings: Settings, row: LicenceRow, action: str, actor: dict[str, Any]
) -> None:
    """Record the revoked, suspended or reinstated event in the outbox."""
    name, model = _STATUS_EVENTS[action]
    row.event_seq += 1
    assert row.status_changed_at is not None
    payload = model(
        licence_id=row.id,
        licence_type=row.licence_type,
        issuer=_issuer(row),
        holder_subject_hash=row.holder_subject_hash,
        at=row.status_changed_at,
        reason=row.status_reason,
        version=row.version,
        actor=contract.Actor(**actor),
    )
    _emit(
        uow,
        settings,
        name=name,
        subject=row.id,
        sequence=row.event_seq,
        payload=payload,
        region=row.issuer_region,
    )


def seal_revoked(uow: UnitOfWork, settings: Settings, row: SealRow, actor: dict[str, Any]) -> None:
    """Record cn.gov.tongban.eseal.seal-revoked.v1 in the outbox."""
    assert row.revoked_at is not None
    assert row.revocation_recorded_at is not None
    row.event_seq += 1
    payload = contract.SealRevoked(
        seal_id=row.id,
        es_id=row.es_id,
        uscc=row.uscc,
        org_name=row.org_name,
        region=row.region,
        algorithm=row.algorithm,
        revoked_at=row.revoked_at,
        recorded_at=row.revocation_recorded_at,
        reason=row.revocation_reason,
        version=row.version,
        actor=contract.Actor(**actor),
    )
    _emit(
        uow,
        settings,
        name="seal-revoked",
        subject=row.id,
        sequence=row.event_seq,
        payload=payload,
        region=row.region,
    )
