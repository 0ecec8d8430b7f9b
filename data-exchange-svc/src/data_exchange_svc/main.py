"""Data exchange service: the app factory (`uvicorn --factory data_exchange_svc.main:create_app`)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI
from tongban_contracts import topics
from tongban_kit.app import ServiceRuntime, create_service_app
from tongban_kit.crypto import FieldCipher
from tongban_kit.ratelimit import Limiter, LocalLimiter, RedisBuckets
from tongban_kit.tokens import ServiceTokenProvider

from data_exchange_svc.adapters.case_client import HttpCaseDirectory
from data_exchange_svc.adapters.providers import HttpProviderGateway
from data_exchange_svc.adapters.repository import PolicyReader
from data_exchange_svc.adapters.signing import HubSigner, key_from_jwk, load_or_create_key
from data_exchange_svc.api import audit, consents, grants, keys, queries, resources
from data_exchange_svc.api.deps import install_error_handlers
from data_exchange_svc.config import Settings, get_settings
from data_exchange_svc.entrypoints.seed import seed_dev
from data_exchange_svc.service_layer.audit_log import AuditLog
from data_exchange_svc.service_layer.ports import CaseDirectory
from data_exchange_svc.service_layer.queries import Hub

SERVICE_ROOT = Path(__file__).resolve().parents[2]
CASE_SCOPE = "cases:read"


def create_app(
    settings: Settings | None = None,
    *,
    case_directory: CaseDirectory | None = None,
    provider_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the exchange service app; tests may pass a fake case directory and an in-process transport."""
    settings = settings or get_settings()

    async def start(runtime: ServiceRuntime) -> None:
        cipher = FieldCipher(settings.field_key, settings.field_cipher)
        if settings.signing_key:
            key = key_from_jwk(settings.signing_key)
        else:
            key = await load_or_create_key(runtime.session_factory, cipher)
        signer = HubSigner(key)
        limits = httpx.Limits(
            max_connections=settings.provider_max_connections,
            max_keepalive_connections=settings.provider_max_connections,
        )
        provider_client = httpx.AsyncClient(transport=provider_transport, limits=limits, timeout=10.0)
        case_client = httpx.AsyncClient(timeout=settings.case_timeout_seconds)
        cases = case_directory or HttpCaseDirectory(
            settings.case_url,
            ServiceTokenProvider(
                settings.token_url, "svc-exchange", settings.client_secret, CASE_SCOPE, client=case_client
            ),
            case_client,
            cache_seconds=settings.case_cache_seconds,
        )
        providers = HttpProviderGateway(
            provider_client,
            signer,
            breaker_failures=settings.breaker_failures,
            breaker_reset_seconds=settings.breaker_reset_seconds,
        )
        # Shared through Redis, a grant's limit holds across replicas; else each process has its own.
        limiter: Limiter = (
            RedisBuckets(settings.redis_url, settings.redis_key_prefix, settings.redis_timeout)
            if settings.redis_url
            else LocalLimiter()
        )
        runtime.extras.update(
            signer=signer,
            limiter=limiter,
            providers=providers,
            http_clients=[provider_client, case_client],
            hub=Hub(
                settings=settings,
                uow_factory=runtime.uow,
                store=PolicyReader(runtime.engine),
                cases=cases,
                providers=providers,
                signer=signer,
                audit=AuditLog(runtime.uow, settings, engine=runtime.engine, signal=runtime.signal),
                limiter=limiter,
                inactive_statuses=frozenset(s.lower() for s in settings.case_inactive_statuses),
            ),
        )
        if settings.is_dev and settings.seed:
            await seed_dev(runtime.uow, settings)

    async def stop(runtime: ServiceRuntime) -> None:
        for client in runtime.extras.get("http_clients", []):
            await client.aclose()
        limiter = runtime.extras.get("limiter")
        if isinstance(limiter, RedisBuckets):
            await limiter.close()

    app = create_service_app(
        service="exchange",
        title="Data exchange service",
        description=(
            "The data-sharing hub: data resources, purpose-bound grants, consents, signed minimal "
            "queries to provider systems, and a hash-chained exchange log."
        ),
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[resources.router, grants.router, consents.router, queries.router, audit.router, keys.router],
        topics=topics.ALL_TOPICS,
        on_startup=[start],
        on_shutdown=[stop],
        # A busy hub writes one log event per query: a short linger sends them in batches.
        relay_linger_seconds=settings.relay_linger_seconds,
    )
    install_error_handlers(app)
    return app
