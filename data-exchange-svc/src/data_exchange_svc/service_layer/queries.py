"""The query handler: check grant, case, consent and rate limit; call the provider; log; sign."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from tongban_kit.crypto import subject_hash
from tongban_kit.db import utcnow
from tongban_kit.identifiers import InvalidIdentifier, validate_resident_id
from tongban_kit.ids import new_id
from tongban_kit.ratelimit import Limit, Limiter, LocalLimiter
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork

from data_exchange_svc.domain import policy
from data_exchange_svc.domain.audit import wire_time
from data_exchange_svc.domain.commands import RunQuery
from data_exchange_svc.domain.errors import (
    ExchangeError,
    InvalidRequest,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from data_exchange_svc.domain.masking import project
from data_exchange_svc.domain.model import Caller, Grant, Mode, Query, Resource, Status
from data_exchange_svc.service_layer.audit_log import AuditLog
from data_exchange_svc.service_layer.ports import CaseDirectory, PolicyStore, ProviderGateway, ProviderRequest

ALLOWED, REFUSED, FAILED = "allowed", "refused", "failed"


class UowFactory(Protocol):
    """Makes a fresh unit of work."""

    def __call__(self) -> UnitOfWork:
        """A unit of work not yet entered."""
        ...


class ResultSigner(Protocol):
    """Signs the document the caller receives."""

    def sign_result(self, document: dict[str, Any]) -> str:
        """A compact JWS over the document."""
        ...


@dataclass
class Hub:
    """What the query handler needs, built once at start."""

    settings: ServiceSettings
    uow_factory: UowFactory
    store: PolicyStore
    cases: CaseDirectory
    providers: ProviderGateway
    signer: ResultSigner
    audit: AuditLog
    limiter: Limiter = field(default_factory=LocalLimiter)
    inactive_statuses: frozenset[str] = policy.DEFAULT_INACTIVE_STATUSES


def grant_limit(grant: Grant) -> Limit:
    """The grant's bucket: holds its per-minute figure and refills that many every 60 seconds."""
    return Limit(rate=grant.rate_limit_per_minute / 60.0, burst=grant.rate_limit_per_minute)


@dataclass
class _Context:
    """What is known about a query so far, for its log entry."""

    caller: Caller
    entry_id: str
    started: float
    resource_id: str | None = None
    subject_hash: str | None = None
    fields: list[str] = field(default_factory=list)
    grant_id: str | None = None
    basis: str | None = None


async def _log(hub: Hub, ctx: _Context, cmd: RunQuery, outcome: str, reason: str | None) -> dict[str, Any]:
    """Append the query's exchange-log entry (and its event)."""
    return await hub.audit.append(
        {
            "id": ctx.entry_id,
            "at": utcnow(),
            "client_id": ctx.caller.client_id,
            "actor": ctx.caller.record(),
            "resource_id": ctx.resource_id or cmd.resource_id[:64],
            "subject_hash": ctx.subject_hash,
            "case_id": cmd.case_id,
            "item_code": cmd.item_code,
            "mode": cmd.mode.value,
            "fields": ctx.fields,
            "outcome": outcome,
            "reason": reason,
            "grant_id": ctx.grant_id,
            "basis": ctx.basis,
            "latency_ms": int((time.monotonic() - ctx.started) * 1000),
        }
    )


async def run_query(cmd: RunQuery, *, hub: Hub) -> dict[str, Any]:
    """Answer a query or refuse it; every outcome is logged in the hash chain."""
    ctx = _Context(
        caller=cmd.caller, entry_id=new_id(), started=time.monotonic(), fields=sorted(cmd.field_names)
    )
    try:
        document = await _answer(cmd, hub=hub, ctx=ctx)
    except ExchangeError as exc:
        outcome = FAILED if isinstance(exc, ProviderError) or exc.status >= 500 else REFUSED
        await _log(hub, ctx, cmd, outcome, exc.code)
        raise
    row = await _log(hub, ctx, cmd, ALLOWED, None)
    document = {"query_id": row["id"], "audit_seq": row["seq"], **document}
    return {**document, "signature": hub.signer.sign_result(document)}


async def _answer(cmd: RunQuery, *, hub: Hub, ctx: _Context) -> dict[str, Any]:
    try:
        id_number = validate_resident_id(cmd.subject_id_number)
    except InvalidIdentifier as exc:
        raise InvalidRequest(
            f"subject_id_number is not a valid resident identity number: {exc}",
            code="invalid-subject",
            errors=[{"field": "subject_id_number", "message": str(exc)}],
        ) from exc
    ctx.subject_hash = subject_hash(id_number, hub.settings.subject_hash_key)

    # Consents are read with the grants (one round trip) though checked after the case.
    resource, grants, consents = await hub.store.policy_inputs(
        cmd.resource_id, cmd.caller.client_id, ctx.subject_hash, cmd.case_id
    )
    if resource is None:
        raise NotFound(f"Resource {cmd.resource_id} was not found.", code="unknown-resource")
    ctx.resource_id = resource.id
    _check_request_fits(cmd, resource)

    now = utcnow()
    query = Query(
        caller=cmd.caller,
        resource_id=resource.id,
        subject_hash=ctx.subject_hash,
        case_id=cmd.case_id,
        item_code=cmd.item_code,
        mode=cmd.mode,
        fields=cmd.field_names,
    )
    grant = policy.select_grant(grants, query, now)
    policy.check_case(await hub.cases.get_case(cmd.case_id), query, hub.inactive_statuses)
    ctx.grant_id = grant.id
    consent = policy.check_consent(consents, grant, query, now)
    ctx.basis = f"consent:{consent.id}" if consent else f"statutory:{grant.statutory_basis}"[:600]
    decision = await hub.limiter.take([(grant.id, grant_limit(grant))], time.monotonic())
    if not decision.allowed:
        raise RateLimited(
            f"The grant allows {grant.rate_limit_per_minute} queries a minute; "
            f"retry in {decision.retry_after} s.",
            retry_after=decision.retry_after,
        )
    if resource.status is not Status.ACTIVE:
        raise ProviderUnavailable(
            f"Provider {resource.label} is {resource.status.value}.",
            provider=resource.code,
            code="resource-suspended",
        )

    answer = await hub.providers.call(
        resource,
        ProviderRequest(
            request_id=ctx.entry_id,
            mode=cmd.mode.value,
            subject_id_number=id_number,
            case_id=cmd.case_id,
            item_code=cmd.item_code,
            client_id=cmd.caller.client_id,
            fields=sorted(cmd.fields),
            fact=dict(cmd.fact),
        ),
    )
    document: dict[str, Any] = {
        "issuer": "urn:tongban:exchange",
        "issued_at": wire_time(utcnow()),
        "client_id": cmd.caller.client_id,
        "resource": {"id": resource.id, "code": resource.code, "provider": resource.provider_name},
        "case_id": cmd.case_id,
        "item_code": cmd.item_code,
        "subject_hash": ctx.subject_hash,
        "mode": cmd.mode.value,
    }
    if cmd.mode is Mode.VERIFY:
        # Only yes or no: nothing the provider sent besides its answer reaches the caller.
        document["verified"] = bool(answer.found and answer.match)
        document["fact_fields"] = sorted(cmd.fact)
    else:
        data, masked = project(answer.record, resource, cmd.fields, grant.allowed_fields, grant.masked_fields)
        document.update(found=answer.found, data=data, masked_fields=masked)
    return document


def _check_request_fits(cmd: RunQuery, resource: Resource) -> None:
    """The mode and fields must exist at the provider at all (a 422, before any policy check)."""
    if cmd.mode not in resource.supports:
        raise InvalidRequest(
            f"Resource {resource.code} does not support the {cmd.mode.value} mode.", code="mode-not-supported"
        )
    unknown = sorted(cmd.field_names - resource.field_names())
    if unknown:
        raise InvalidRequest(
            f"Resource {resource.code} offers no field {', '.join(unknown)}.",
            code="unknown-field",
            errors=[
                {
                    "field": "fields" if cmd.mode is Mode.SHARE else "fact",
                    "message": f"unknown: {', '.join(unknown)}",
                }
            ],
        )
