"""Dependencies and error mapping shared by the exchange routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from tongban_kit.app import runtime_of
from tongban_kit.auth import Principal, get_principal, require_scopes
from tongban_kit.problems import Problem, problem_response

from data_exchange_svc.adapters.signing import HubSigner
from data_exchange_svc.config import Settings
from data_exchange_svc.domain.errors import ExchangeError, ProviderError, RateLimited
from data_exchange_svc.domain.model import Caller
from data_exchange_svc.service_layer.handlers import StaleVersion
from data_exchange_svc.service_layer.queries import Hub

ADMIN = "exchange:admin"
QUERY = "exchange:query"

Admin = Annotated[Principal, Depends(require_scopes(ADMIN))]
AdminOrQuery = Annotated[Principal, Depends(require_scopes(ADMIN, QUERY, any_of=True))]
Querier = Annotated[Principal, Depends(require_scopes(QUERY))]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route may give."""
    from data_exchange_svc.api.schemas import ProblemDoc

    return {s: {"model": ProblemDoc, "content": {"application/problem+json": {}}} for s in statuses}


async def get_hub(request: Request) -> Hub:
    """The running hub."""
    hub: Hub = runtime_of(request).extras["hub"]
    return hub


async def get_signer(request: Request) -> HubSigner:
    """The hub's signing key."""
    signer: HubSigner = runtime_of(request).extras["signer"]
    return signer


async def get_settings_dep(request: Request) -> Settings:
    """The service settings."""
    settings: Settings = runtime_of(request).settings  # type: ignore[assignment]
    return settings


HubDep = Annotated[Hub, Depends(get_hub)]
SignerDep = Annotated[HubSigner, Depends(get_signer)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def is_admin(principal: Principal) -> bool:
    """Whether the caller administers the hub."""
    return ADMIN in principal.scopes


def caller_of(principal: Principal) -> Caller:
    """The policy's view of the caller."""
    on_behalf_of = principal.subject if principal.actor else None
    return Caller(
        client_id=principal.client_id,
        region=principal.region,
        is_service=principal.is_service,
        org=principal.org,
        on_behalf_of=on_behalf_of,
    )


def actor_of(principal: Principal) -> dict[str, str]:
    """What events and rows record about who acted."""
    return caller_of(principal).record()


async def citizen(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """The caller must be a person (a token carrying ``subject_hash``), directly or via ``act``."""
    if not principal.subject_hash:
        raise Problem(
            403,
            "citizen-token-required",
            "This request needs a logged-in person's token (one carrying subject_hash).",
        )
    return principal


Citizen = Annotated[Principal, Depends(citizen)]


def exchange_problem(exc: ExchangeError) -> Problem:
    """Turn a domain error into a problem document."""
    extra: dict[str, Any] = {}
    errors = exc.extra.get("errors")
    if isinstance(exc, ProviderError):
        extra["provider"] = exc.provider
    if "fields" in exc.extra:
        extra["fields"] = exc.extra["fields"]
    headers: dict[str, str] = {}
    retry = exc.retry_after if isinstance(exc, RateLimited) else exc.extra.get("retry_after")
    if isinstance(retry, int | float):
        headers["Retry-After"] = str(max(1, int(retry + 0.999)))
    return Problem(
        exc.status,
        exc.code,
        exc.detail,
        errors=errors if isinstance(errors, list) else None,
        headers=headers,
        extra=extra,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors and lost version races become problem responses."""

    async def on_exchange(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ExchangeError)
        return problem_response(exchange_problem(exc), request.url.path)

    async def on_stale(request: Request, exc: Exception) -> JSONResponse:
        problem = Problem(
            412, "stale-etag", "The resource changed since you read it; read it again and retry."
        )
        return problem_response(problem, request.url.path)

    app.add_exception_handler(ExchangeError, on_exchange)
    app.add_exception_handler(StaleVersion, on_stale)
