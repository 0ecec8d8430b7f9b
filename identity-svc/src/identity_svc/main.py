"""Identity service: the app factory (`uvicorn --factory identity_svc.main:create_app`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tongban_contracts import topics
from tongban_kit.app import create_service_app
from tongban_kit.problems import Problem, problem_response

from identity_svc.adapters.verifier import LocalVerifier
from identity_svc.api import admin, login, oauth, persons
from identity_svc.config import Settings, get_settings
from identity_svc.domain.errors import DomainError
from identity_svc.entrypoints.asgi import IssuerPathMiddleware
from identity_svc.entrypoints.startup import startup_hook
from identity_svc.service_layer.context import build_context

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the identity service app."""
    settings = settings or get_settings()
    ctx = build_context(settings)
    app = create_service_app(
        service="identity",
        title="Identity service",
        description=(
            "Unified identity of the Tongban mesh: an OAuth 2.0 / OpenID Connect provider for "
            "citizens, companies, provincial platforms, ministries and the mesh's services."
        ),
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[oauth.router, login.router, admin.router, persons.router],
        topics=topics.ALL_TOPICS,
        on_startup=[startup_hook(ctx)],
    )

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(Problem(exc.status, exc.code, exc.detail), request.url.path)

    app.add_exception_handler(DomainError, on_domain_error)

    # identity verifies tokens for its own API from its key store, not by calling itself.
    kit_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with kit_lifespan(app_):
            verifier = LocalVerifier(ctx.keys, settings.issuer, "urn:tongban:identity")
            app_.state.verifier = verifier
            app_.state.runtime.verifier = verifier
            yield

    app.router.lifespan_context = lifespan
    app.state.identity = ctx
    app.add_middleware(IssuerPathMiddleware, prefix=urlsplit(settings.issuer).path)
    return app
