"""Dependencies, scopes and error mapping shared by the eseal routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from tongban_kit.app import runtime_of
from tongban_kit.auth import Principal, require_scopes
from tongban_kit.problems import Problem, ProblemDoc, problem_response

from eseal_svc.domain.errors import (
    DomainError,
    LicenceAlreadyRevoked,
    LicenceAlreadySuspended,
    LicenceNotSuspended,
    SealAlreadyRevoked,
    SealExpired,
    SealNotOwned,
    SealNotYetValid,
    SealRevoked,
)
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import ServiceError

ADMIN = "eseal:admin"
SIGN = "eseal:sign"
VERIFY = "eseal:verify"

Admin = Annotated[Principal, Depends(require_scopes(ADMIN))]
Signer = Annotated[Principal, Depends(require_scopes(SIGN))]
Verifier = Annotated[Principal, Depends(require_scopes(VERIFY))]
AnyEseal = Annotated[Principal, Depends(require_scopes(ADMIN, SIGN, VERIFY, any_of=True))]
SignerOrAdmin = Annotated[Principal, Depends(require_scopes(ADMIN, SIGN, any_of=True))]

_CONFLICTS = (
    SealRevoked,
    SealExpired,
    SealNotYetValid,
    SealAlreadyRevoked,
    LicenceAlreadyRevoked,
    LicenceAlreadySuspended,
    LicenceNotSuspended,
)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route may give."""
    return {s: {"model": ProblemDoc, "content": {"application/problem+json": {}}} for s in statuses}


async def get_context(request: Request) -> EsealContext:
    """The service's handler context."""
    ctx: EsealContext = runtime_of(request).extras["eseal"]
    return ctx


ContextDep = Annotated[EsealContext, Depends(get_context)]


def actor_of(principal: Principal) -> dict[str, Any]:
    """What rows and events record about who acted."""
    record: dict[str, Any] = {"client_id": principal.client_id}
    if principal.region:
        record["region"] = principal.region
    if principal.org:
        record["org"] = principal.org
    if principal.actor:
        record["on_behalf_of"] = principal.subject
    return record


def is_admin(principal: Principal) -> bool:
    """Whether the caller administers seals and trust."""
    return ADMIN in principal.scopes


def domain_problem(exc: DomainError) -> Problem:
    """The problem document of a broken domain rule."""
    status = 403 if isinstance(exc, SealNotOwned) else 409 if isinstance(exc, _CONFLICTS) else 422
    return Problem(status, exc.code.replace("_", "-"), exc.detail)


def install_error_handlers(app: FastAPI) -> None:
    """Domain and service errors become problem responses."""

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(domain_problem(exc), request.url.path)

    async def on_service(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return problem_response(Problem(exc.status, exc.code, exc.detail), request.url.path)

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(ServiceError, on_service)
