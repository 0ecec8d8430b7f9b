"""Handlers of the admin and consent commands: resources, grants, consents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from tongban_contracts.events import exchange as ev
from tongban_kit.db import utcnow
from tongban_kit.ids import new_id
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.adapters.orm import ConsentRow, GrantRow, ResourceRow
from data_exchange_svc.domain.commands import (
    GiveConsent,
    IssueGrant,
    RegisterResource,
    RevokeConsent,
    RevokeGrant,
    UpdateResource,
)
from data_exchange_svc.domain.errors import Conflict, InvalidRequest, NotFound
from data_exchange_svc.domain.model import FieldSpec, Status
from data_exchange_svc.service_layer.events import emit


class StaleVersion(Exception):
    """The row changed since the caller read it (If-Match no longer holds)."""


def _fields_json(fields: tuple[FieldSpec, ...]) -> list[dict[str, Any]]:
    return [
        {"name": f.name, "label": f.label, "kind": f.kind.value, "sensitivity": f.sensitivity.value}
        for f in fields
    ]


def _resource_event(row: ResourceRow, actor: dict[str, str], cls: type[ev.ResourceRegistered]) -> Any:
    return cls(
        resource_id=row.id,
        code=row.code,
        name=row.name,
        provider_name=row.provider_name,
        region=row.region,
        domain=row.domain,
        fields=[ev.ResourceField(name=f["name"], sensitivity=f["sensitivity"]) for f in row.fields],
        supports=sorted(row.supports),
        status=row.status,
        version=row.version,
        actor=ev.Actor(**actor),
    )


async def register_resource(
    cmd: RegisterResource, *, uow: UnitOfWork, settings: ServiceSettings, actor: dict[str, str]
) -> ResourceRow:
    """Register a provider system (409 when its code is taken)."""
    if await repo.get_resource(uow.session, cmd.code) is not None:
        raise Conflict(f"A resource with code {cmd.code} is already registered.", code="resource-exists")
    now = utcnow()
    row = ResourceRow(
        id=new_id(),
        code=cmd.code,
        name=cmd.name,
        provider_name=cmd.provider_name,
        provider_uscc=cmd.provider_uscc,
        region=cmd.region,
        domain=cmd.domain.value,
        endpoint_url=cmd.endpoint_url,
        fields=_fields_json(cmd.fields),
        supports=sorted(m.value for m in cmd.supports),
        timeout_ms=cmd.timeout_ms,
        status=Status.ACTIVE.value,
        version=1,
        created_at=now,
        updated_at=now,
        created_by=actor["client_id"],
    )
    uow.session.add(row)
    emit(uow, settings, "resource-registered", row.id, 1, _resource_event(row, actor, ev.ResourceRegistered))
    return row


async def update_resource(
    cmd: UpdateResource, *, uow: UnitOfWork, settings: ServiceSettings, actor: dict[str, str]
) -> ResourceRow:
    """Change parts of a resource under its version check."""
    row = await repo.get_resource(uow.session, cmd.resource_id)
    if row is None:
        raise NotFound(f"Resource {cmd.resource_id} was not found.")
    values: dict[str, Any] = {}
    if cmd.name is not None:
        values["name"] = cmd.name
    if cmd.endpoint_url is not None:
        values["endpoint_url"] = cmd.endpoint_url
    if cmd.fields is not None:
        values["fields"] = _fields_json(cmd.fields)
    if cmd.supports is not None:
        values["supports"] = sorted(m.value for m in cmd.supports)
    if cmd.timeout_ms is not None:
        values["timeout_ms"] = cmd.timeout_ms
    if cmd.status is not None:
        values["status"] = cmd.status
    values.update(version=cmd.expected_version + 1, updated_at=utcnow())
    result = await uow.session.execute(
        update(ResourceRow)
        .where(ResourceRow.id == row.id, ResourceRow.version == cmd.expected_version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise StaleVersion(row.id)
    await uow.session.refresh(row)
    emit(
        uow,
        settings,
        "resource-updated",
        row.id,
        row.version,
        _resource_event(row, actor, ev.ResourceUpdated),
    )
    return row


async def issue_grant(
    cmd: IssueGrant, *, uow: UnitOfWork, settings: ServiceSettings, actor: dict[str, str]
) -> GrantRow:
    """Issue a grant after checking it against the resource (fields and modes it really offers)."""
    resource_row = await repo.get_resource(uow.session, cmd.resource_id)
    if resource_row is None:
        raise InvalidRequest(f"Resource {cmd.resource_id} does not exist.", code="unknown-resource")
    resource = repo.resource_from_row(resource_row)
    errors: list[dict[str, str]] = []
    unknown = sorted(cmd.allowed_fields - resource.field_names())
    if unknown:
        errors.append(
            {"field": "allowed_fields", "message": f"not offered by the resource: {', '.join(unknown)}"}
        )
    stray = sorted(cmd.masked_fields - cmd.allowed_fields)
    if stray:
        errors.append({"field": "masked_fields", "message": f"not among allowed_fields: {', '.join(stray)}"})
    unsupported = sorted(m.value for m in cmd.modes - resource.supports)
    if unsupported:
        errors.append(
            {"field": "modes", "message": f"not supported by the resource: {', '.join(unsupported)}"}
        )
    if cmd.expires_at <= utcnow():
        errors.append({"field": "expires_at", "message": "must be in the future"})
    if errors:
        raise InvalidRequest("The grant does not fit the resource.", code="invalid-grant", errors=errors)
    row = GrantRow(
        id=new_id(),
        client_id=cmd.client_id,
        resource_id=resource.id,
        items=sorted(cmd.items),
        allowed_fields=sorted(cmd.allowed_fields),
        masked_fields=sorted(cmd.masked_fields),
        modes=sorted(m.value for m in cmd.modes),
        rate_limit_per_minute=cmd.rate_limit_per_minute,
        expires_at=cmd.expires_at,
        statutory_basis=cmd.statutory_basis,
        status=Status.ACTIVE.value,
        version=1,
        created_at=utcnow(),
        created_by=actor["client_id"],
    )
    uow.session.add(row)
    emit(
        uow,
        settings,
        "grant-issued",
        row.id,
        1,
        ev.GrantIssued(
            grant_id=row.id,
            client_id=row.client_id,
            resource_id=row.resource_id,
            items=row.items,
            allowed_fields=row.allowed_fields,
            masked_fields=row.masked_fields,
            modes=row.modes,
            rate_limit_per_minute=row.rate_limit_per_minute,
            expires_at=row.expires_at,
            statutory_basis=row.statutory_basis,
            version=1,
            actor=ev.Actor(**actor),
        ),
    )
    return row


async def revoke_grant(
    cmd: RevokeGrant, *, uow: UnitOfWork, settings: ServiceSettings, actor: dict[str, str]
) -> GrantRow:
    """Revoke a grant (409 when it already is)."""
    row = await uow.session.get(GrantRow, cmd.grant_id)
    if row is None:
        raise NotFound(f"Grant {cmd.grant_id} was not found.")
    if row.status == Status.REVOKED.value:
        raise Conflict(f"Grant {row.id} is already revoked.", code="already-revoked")
    now = utcnow()
    await _bump(uow, GrantRow, row.id, cmd.expected_version, status=Status.REVOKED.value, revoked_at=now)
    await uow.session.refresh(row)
    emit(
        uow,
        settings,
        "grant-revoked",
        row.id,
        row.version,
        ev.GrantRevoked(
            grant_id=row.id,
            client_id=row.client_id,
            resource_id=row.resource_id,
            revoked_at=now,
            version=row.version,
            actor=ev.Actor(**actor),
        ),
    )
    return row


async def give_consent(
    cmd: GiveConsent,
    *,
    uow: UnitOfWork,
    settings: ServiceSettings,
    actor: dict[str, str],
    max_days: int,
) -> ConsentRow:
    """Record a subject's consent for a case (the resources must exist)."""
    resource_ids: list[str] = []
    missing: list[str] = []
    for ref in cmd.resource_ids:
        resource = await repo.get_resource(uow.session, ref)
        if resource is None:
            missing.append(ref)
        elif resource.id not in resource_ids:
            resource_ids.append(resource.id)
    errors: list[dict[str, str]] = []
    if missing:
        errors.append({"field": "resource_ids", "message": f"unknown resources: {', '.join(missing)}"})
    now = utcnow()
    if cmd.until <= now:
        errors.append({"field": "until", "message": "must be in the future"})
    elif (cmd.until - now).days >= max_days:
        errors.append({"field": "until", "message": f"must be within {max_days} days"})
    if errors:
        raise InvalidRequest(
            "The consent cannot be recorded as given.", code="invalid-consent", errors=errors
        )
    row = ConsentRow(
        id=new_id(),
        subject_hash=cmd.subject_hash,
        case_id=cmd.case_id,
        resource_ids=sorted(resource_ids),
        purpose=cmd.purpose,
        until=cmd.until,
        status=Status.ACTIVE.value,
        version=1,
        actor=actor,
        created_at=now,
    )
    uow.session.add(row)
    emit(
        uow,
        settings,
        "consent-given",
        row.id,
        1,
        ev.ConsentGiven(
            consent_id=row.id,
            subject_hash=row.subject_hash,
            case_id=row.case_id,
            resource_ids=row.resource_ids,
            until=row.until,
            version=1,
            actor=ev.Actor(**actor),
        ),
    )
    return row


async def revoke_consent(
    cmd: RevokeConsent, *, uow: UnitOfWork, settings: ServiceSettings, actor: dict[str, str]
) -> ConsentRow:
    """Withdraw a consent; only its subject may."""
    row = await uow.session.get(ConsentRow, cmd.consent_id)
    if row is None or row.subject_hash != cmd.subject_hash:
        raise NotFound(f"Consent {cmd.consent_id} was not found.")
    if row.status == Status.REVOKED.value:
        raise Conflict(f"Consent {row.id} is already revoked.", code="already-revoked")
    now = utcnow()
    await _bump(uow, ConsentRow, row.id, cmd.expected_version, status=Status.REVOKED.value, revoked_at=now)
    await uow.session.refresh(row)
    emit(
        uow,
        settings,
        "consent-revoked",
        row.id,
        row.version,
        ev.ConsentRevoked(
            consent_id=row.id,
            subject_hash=row.subject_hash,
            case_id=row.case_id,
            revoked_at=now,
            version=row.version,
            actor=ev.Actor(**actor),
        ),
    )
    return row


async def _bump(
    uow: UnitOfWork, table: type[GrantRow] | type[ConsentRow], row_id: str, expected: int, **values: Any
) -> None:
    """Conditional update on the version the caller read; a lost race is a stale version."""
    result = await uow.session.execute(
        update(table)
        .where(table.id == row_id, table.version == expected)
        .values(version=expected + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise StaleVersion(row_id)
