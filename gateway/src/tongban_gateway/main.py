"""``uvicorn --factory tongban_gateway.main:create_app`` (port 8000)."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from starlette.types import ASGIApp
from tongban_kit.observability import setup_logging, setup_tracing
from tongban_kit.ratelimit import Limit, Limiter, LocalLimiter, RedisBuckets

from tongban_gateway.adapters.openapi_source import OpenAPISource
from tongban_gateway.adapters.tokens import GatewayVerifier
from tongban_gateway.adapters.upstream import make_client
from tongban_gateway.config import Settings, get_settings
from tongban_gateway.domain.balancer import Balancer
from tongban_gateway.domain.breaker import CircuitBreaker
from tongban_gateway.domain.retry import RetryBudget
from tongban_gateway.domain.routes import ANONYMOUS, SERVICES, Route, RouteTable, parse_rule
from tongban_gateway.entrypoints.accesslog import AccessLog
from tongban_gateway.entrypoints.app import GatewayApp
from tongban_gateway.entrypoints.cors import CORSMiddleware
from tongban_gateway.entrypoints.forwarding import TrustedProxies
from tongban_gateway.entrypoints.proxy import Proxy, Upstream
from tongban_gateway.entrypoints.requestid import RequestIdMiddleware
from tongban_gateway.openapi import gateway_document

SERVICE = "gateway"


def build_routes(settings: Settings) -> RouteTable:
    """The route table from the fixed prefixes and the configured timeouts, limits and extra rules."""
    unknown = set(settings.anonymous_extra) - set(SERVICES)
    if unknown:
        raise ValueError(f"GATEWAY_ANONYMOUS_EXTRA names unknown routes: {', '.join(sorted(unknown))}")
    return RouteTable(
        Route(
            name=name,
            upstream=service,
            audience=audience,
            anonymous=(
                *ANONYMOUS.get(name, ()),
                *(parse_rule(rule) for rule in settings.anonymous_extra.get(name, [])),
            ),
            timeout=settings.route_timeout(name),
            max_body_bytes=settings.route_body_limit(name),
        )
        for name, (service, audience) in SERVICES.items()
    )


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The gateway: request id -> CORS (if configured) -> GatewayApp (its own paths, else the proxy)."""
    settings = settings or get_settings()
    setup_logging(SERVICE, settings.log_level)
    tracer = None
    if settings.spans_enabled:
        setup_tracing(SERVICE)
        tracer = trace.get_tracer("tongban.gateway")

    routes = build_routes(settings)
    upstreams: dict[str, Upstream] = {}
    for route in routes.routes:
        upstreams[route.name] = Upstream(
            name=route.upstream,
            balancer=Balancer(
                settings.upstream_urls(route.upstream),
                lambda: CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown),
            ),
            client=make_client(settings.http_client, settings.pool_size, settings.connect_timeout),
            budget=RetryBudget(settings.retry_budget_ratio, settings.retry_budget_min_per_second),
        )

    verifier_client = httpx.AsyncClient(timeout=5.0)
    verifier = GatewayVerifier(
        settings.jwks_url,
        settings.issuer,
        (audience for _, audience in SERVICES.values()),
        client=verifier_client,
        cache_seconds=settings.jwks_refresh_seconds,
        cache_size=settings.token_cache_size,
    )

    client_limit = (
        Limit(settings.rate_limit_client_rate, settings.rate_limit_client_burst)
        if settings.rate_limit_client_rate > 0
        else None
    )
    ip_limit = (
        Limit(settings.rate_limit_ip_rate, settings.rate_limit_ip_burst)
        if settings.rate_limit_ip_rate > 0
        else None
    )
    redis = (
        RedisBuckets(settings.redis_url, settings.redis_key_prefix, settings.redis_timeout)
        if settings.redis_url
        else None
    )
    limiter: Limiter | None = None
    if client_limit is not None or ip_limit is not None:
        limiter = redis if redis is not None else LocalLimiter()

    access_log = AccessLog(SERVICE) if settings.access_log else None
    proxy = Proxy(
        routes=routes,
        upstreams=upstreams,
        verifier=verifier,
        limiter=limiter,
        client_limit=client_limit,
        ip_limit=ip_limit,
        trusted=TrustedProxies(settings.trusted_proxies),
        max_attempts=settings.retry_attempts,
        backoff_seconds=settings.retry_backoff_ms / 1000.0,
        tracer=tracer,
        access_log=access_log,
    )
    openapi = OpenAPISource(
        gateway_document(),
        {
            name: (routes.routes[i].prefix, settings.upstream_urls(up.name), up.client)
            for i, (name, up) in enumerate(upstreams.items())
        },
        settings.openapi_refresh_seconds,
    )
    app: ASGIApp = GatewayApp(
        proxy=proxy,
        upstreams=upstreams,
        verifier=verifier,
        verifier_client=verifier_client,
        openapi=openapi,
        redis=redis,
        readiness_timeout=settings.readiness_timeout,
        jwks_refresh_seconds=settings.jwks_refresh_seconds,
        access_log=access_log,
        gc_freeze=settings.gc_freeze,
    )
    if settings.cors_origins:
        app = CORSMiddleware(
            app, settings.cors_origins, settings.cors_allow_credentials, settings.cors_max_age
        )
    return RequestIdMiddleware(app)
