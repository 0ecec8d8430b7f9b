"""Process fixtures: a JWKS server, two echo upstreams, and three gateways (two share Redis)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tongban_kit.testing import AppProcess, ensure_redis, free_port, start_app
from tongban_kit.testkeys import TokenMinter

SUPPORT = Path(__file__).parent / "support"

# Settings of the main gateway that the tests rely on.
BREAKER_FAILURES = 3
BREAKER_COOLDOWN = 1.5
EXCHANGE_TIMEOUT = 0.5
CASES_BODY_LIMIT = 100_000
CLIENT_BURST = 20
SHARED_CLIENT_BURST = 5
SHARED_IP_BURST = 3
ALLOWED_ORIGIN = "https://platform.example.gov.cn"


class Mesh:
    """The processes of one test session."""

    def __init__(self, minter: TokenMinter) -> None:
        self.minter = minter
        self.apps: list[AppProcess] = []
        self.ports: set[int] = set()

    def port(self) -> int:
        """A free port not handed out before in this session (nothing is bound until the app starts)."""
        port = free_port()
        while port in self.ports:
            port = free_port()
        self.ports.add(port)
        return port

    def start(self, factory: str, env: dict[str, str], name: str) -> AppProcess:
        base = {"PYTHONPATH": str(SUPPORT), "TONGBAN_ENV": "test", "TONGBAN_LOG_LEVEL": "INFO"}
        app = start_app(factory, {**base, **env}, self.port(), name)
        self.apps.append(app)
        return app

    def stop(self) -> None:
        for app in reversed(self.apps):
            app.stop()


def gateway_env(jwks: AppProcess, upstreams: dict[str, str], **extra: Any) -> dict[str, str]:
    env = {
        "TONGBAN_IDENTITY_URL": jwks.base_url,
        "TONGBAN_PUBLIC_URL": "http://127.0.0.1:8000",
        "GATEWAY_RETRY_BACKOFF_MS": "1",
        # The gateway interprets X-Forwarded-* itself (GATEWAY_TRUSTED_PROXIES); uvicorn must not.
        "UVICORN_PROXY_HEADERS": "false",
    }
    env.update({f"GATEWAY_UPSTREAM_{name.upper()}": url for name, url in upstreams.items()})
    env.update({key: value if isinstance(value, str) else json.dumps(value) for key, value in extra.items()})
    return env


class Config:
    """The main gateway's settings that tests rely on."""

    BREAKER_FAILURES = BREAKER_FAILURES
    BREAKER_COOLDOWN = BREAKER_COOLDOWN
    EXCHANGE_TIMEOUT = EXCHANGE_TIMEOUT
    ACCESS_LOG_WAIT = 5.0
    CASES_BODY_LIMIT = CASES_BODY_LIMIT
    CLIENT_BURST = CLIENT_BURST
    SHARED_CLIENT_BURST = SHARED_CLIENT_BURST
    SHARED_IP_BURST = SHARED_IP_BURST
    ALLOWED_ORIGIN = ALLOWED_ORIGIN


@pytest.fixture(scope="session")
def cfg() -> type[Config]:
    return Config


@pytest.fixture(scope="session")
def minter() -> TokenMinter:
    return TokenMinter()


@pytest.fixture(scope="session")
def mesh(minter: TokenMinter) -> Iterator[dict[str, AppProcess]]:
    redis_url = ensure_redis()
    m = Mesh(minter)
    try:
        common = {"TEST_JWKS": json.dumps(minter.jwks)}
        jwks = m.start("upstream_apps:create_jwks", common, "jwks")
        echo_a = m.start("upstream_apps:create_echo", {"ECHO_NAME": "a"}, "echo-a")
        echo_b = m.start("upstream_apps:create_echo", {"ECHO_NAME": "b"}, "echo-b")
        dead = f"http://127.0.0.1:{m.port()}"
        main = m.start(
            "tongban_gateway.main:create_app",
            gateway_env(
                jwks,
                {
                    "catalogue": f"{echo_a.base_url},{echo_b.base_url}",
                    "case": echo_a.base_url,
                    "identity": dead,
                    "eseal": echo_a.base_url,
                    "exchange": f"{echo_a.base_url},{dead}",
                },
                GATEWAY_BREAKER_FAILURES=str(BREAKER_FAILURES),
                GATEWAY_BREAKER_COOLDOWN=str(BREAKER_COOLDOWN),
                GATEWAY_ROUTE_TIMEOUTS={"exchange": EXCHANGE_TIMEOUT},
                GATEWAY_ROUTE_BODY_LIMITS={"cases": CASES_BODY_LIMIT},
                GATEWAY_RATE_LIMIT_CLIENT_RATE="0.01",
                GATEWAY_RATE_LIMIT_CLIENT_BURST=str(CLIENT_BURST),
                GATEWAY_RATE_LIMIT_IP_RATE="10000",
                GATEWAY_RATE_LIMIT_IP_BURST="10000",
                GATEWAY_CORS_ORIGINS=f"{ALLOWED_ORIGIN},https://other.example.gov.cn",
                GATEWAY_TRACING="on",
            ),
            "gateway-main",
        )
        prefix = f"tongban:test:{uuid.uuid4().hex[:12]}:"
        shared_env = gateway_env(
            jwks,
            {name: echo_b.base_url for name in ("catalogue", "case", "identity", "eseal", "exchange")},
            GATEWAY_REDIS_URL=redis_url,
            GATEWAY_REDIS_KEY_PREFIX=prefix,
            GATEWAY_TRUSTED_PROXIES="127.0.0.1",
            GATEWAY_RATE_LIMIT_CLIENT_RATE="0.01",
            GATEWAY_RATE_LIMIT_CLIENT_BURST=str(SHARED_CLIENT_BURST),
            GATEWAY_RATE_LIMIT_IP_RATE="0.01",
            GATEWAY_RATE_LIMIT_IP_BURST=str(SHARED_IP_BURST),
        )
        shared_a = m.start("tongban_gateway.main:create_app", shared_env, "gateway-shared-a")
        shared_b = m.start("tongban_gateway.main:create_app", shared_env, "gateway-shared-b")
        apps = {
            "jwks": jwks,
            "echo_a": echo_a,
            "echo_b": echo_b,
            "main": main,
            "shared_a": shared_a,
            "shared_b": shared_b,
        }
        for app in apps.values():
            app.wait_ready("/healthz", timeout=60)
        yield apps
    finally:
        m.stop()


@pytest.fixture(scope="session")
def gw(mesh: dict[str, AppProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mesh["main"].base_url, timeout=10.0) as client:
        yield client


def _hits(echo: AppProcess, marker: str) -> list[dict[str, Any]]:
    seen = httpx.get(f"{echo.base_url}/_hits", timeout=5.0).json()
    return [hit for hit in seen if marker in hit["path"]]


@pytest.fixture
def hits() -> Any:
    """hits(echo, marker): the requests an echo upstream saw whose path contains ``marker``."""
    return _hits


@pytest.fixture
def mark() -> str:
    """A path segment unique to one test."""
    return "m" + uuid.uuid4().hex[:12]
