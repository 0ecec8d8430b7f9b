"""Gateway settings (``GATEWAY_*``): upstreams, limits, timeouts, retries, breaker, CORS."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from tongban_kit.settings import ServiceSettings

MIB = 1_048_576


def _upstream(default: str, *names: str) -> str:
    """A URL list read from the first of the environment variables given."""
    result: str = Field(default, validation_alias=AliasChoices(*names))
    return result


class Settings(ServiceSettings):
    """Everything the gateway reads from the environment; it owns no database (database_url unused)."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    port: int = 8000

    # Upstreams: a comma-separated list of base URLs each; several URLs are balanced round robin.
    upstream_catalogue: str = _upstream("http://127.0.0.1:8001", "GATEWAY_UPSTREAM_CATALOGUE")
    upstream_case: str = _upstream("http://127.0.0.1:8002", "GATEWAY_UPSTREAM_CASE", "GATEWAY_UPSTREAM_CASES")
    upstream_identity: str = _upstream("http://127.0.0.1:8003", "GATEWAY_UPSTREAM_IDENTITY")
    upstream_eseal: str = _upstream("http://127.0.0.1:8004", "GATEWAY_UPSTREAM_ESEAL")
    upstream_exchange: str = _upstream("http://127.0.0.1:8005", "GATEWAY_UPSTREAM_EXCHANGE")

    # Upstream HTTP client: the bench picked aiohttp; the others stay selectable for re-measuring.
    http_client: Literal["aiohttp", "httpx", "httpx-aiohttp"] = "aiohttp"
    pool_size: int = Field(100, ge=1, description="connections kept per upstream instance")
    connect_timeout: float = Field(2.0, gt=0)

    # Per-route timeouts (seconds, route name -> timeout) covering the request and the response head.
    timeout: float = Field(10.0, gt=0)
    route_timeouts: dict[str, float] = Field(default_factory=lambda: {"eseal": 30.0, "cases": 30.0})

    # More paths that need no token at the gateway, by route: ["/consent*", "GET /v1/public/**"].
    anonymous_extra: dict[str, list[str]] = Field(default_factory=dict)

    # Request-size limit; routes that take uploads (scanned materials, PDFs) get their own.
    max_body_bytes: int = MIB
    route_body_limits: dict[str, int] = Field(default_factory=lambda: {"cases": 25 * MIB, "eseal": 25 * MIB})

    # Retries: idempotent methods only, at most retry_attempts tries, within a budget.
    retry_attempts: int = Field(2, ge=1, description="tries per request, the first included")
    retry_budget_ratio: float = Field(0.2, ge=0, description="retries allowed per request on average")
    retry_budget_min_per_second: float = Field(5.0, ge=0)
    retry_backoff_ms: float = Field(10.0, ge=0)

    # Circuit breaker per upstream instance.
    breaker_failures: int = Field(5, ge=1, description="consecutive failures that open the circuit")
    breaker_cooldown: float = Field(10.0, gt=0, description="seconds open before one trial request")

    # Token-bucket rate limits: rate (tokens per second) and burst (bucket size); rate 0 disables.
    rate_limit_client_rate: float = Field(100.0, ge=0)
    rate_limit_client_burst: int = Field(200, ge=1)
    rate_limit_ip_rate: float = Field(50.0, ge=0)
    rate_limit_ip_burst: int = Field(100, ge=1)
    redis_url: str | None = None
    redis_timeout: float = Field(0.25, gt=0)
    redis_key_prefix: str = "tongban:gw:rl:"

    # CORS (comma-separated origins; "*" allows any origin without credentials).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_credentials: bool = False
    cors_max_age: int = 600

    # Peers whose X-Forwarded-* headers are believed (ingress controllers, load balancers).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    access_log: bool = True
    # Spans cost CPU on every request; "auto" makes them only when an exporter is configured
    # (OTEL_EXPORTER_OTLP_ENDPOINT or TONGBAN_TRACE_LOG). Without spans the caller's traceparent
    # is passed on unchanged, so the trace still continues into the services.
    tracing: Literal["auto", "on", "off"] = "auto"
    token_cache_size: int = Field(10_000, ge=0)
    jwks_refresh_seconds: float = Field(300.0, gt=0)
    openapi_refresh_seconds: float = Field(60.0, gt=0)
    readiness_timeout: float = Field(2.0, gt=0)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Accept a comma-separated string as well as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def spans_enabled(self) -> bool:
        """Whether the gateway records its own spans."""
        if self.tracing == "auto":
            return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("TONGBAN_TRACE_LOG"))
        return self.tracing == "on"

    def upstream_urls(self, service: str) -> list[str]:
        """The base URLs of one upstream service (``catalogue``, ``case`` …)."""
        raw: str = getattr(self, f"upstream_{service}")
        urls = [part.strip().rstrip("/") for part in raw.split(",") if part.strip()]
        if not urls:
            raise ValueError(f"GATEWAY_UPSTREAM_{service.upper()} names no URL")
        return urls

    def route_timeout(self, route: str) -> float:
        """Timeout of one route (falls back to GATEWAY_TIMEOUT)."""
        return self.route_timeouts.get(route, self.timeout)

    def route_body_limit(self, route: str) -> int:
        """Body limit of one route (falls back to GATEWAY_MAX_BODY_BYTES)."""
        return self.route_body_limits.get(route, self.max_body_bytes)


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once."""
    return Settings()
