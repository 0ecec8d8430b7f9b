"""In-process identity app on a temporary SQLite database, with a browser-like client."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager
from identity_svc.adapters import totp
from identity_svc.config import Settings
from identity_svc.main import create_app
from identity_svc.service_layer import dev_realm
from identity_svc.service_layer.context import IdentityContext
from sqlalchemy import select
from tongban_kit.outbox import OutboxMessage

REDIRECT = dev_realm.REDIRECT_URI
PLATFORM = "platform-440000"
PLATFORM_SECRET = dev_realm.PLATFORM_SECRET
ADMIN = ("admin-dev", dev_realm.ADMIN_SECRET)
_FIELD_RE = re.compile(r'name="(request_id|csrf_token)" value="([^"]+)"')


def pkce_pair() -> tuple[str, str]:
    """A fresh verifier and its S256 challenge (computed here independently of the service)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


class Harness:
    """The running app, a cookie-keeping client, and shortcuts for the flows tests need."""

    def __init__(self, app: Any, client: httpx.AsyncClient, settings: Settings) -> None:
        self.app = app
        self.client = client
        self.settings = settings

    @property
    def ctx(self) -> IdentityContext:
        ctx: IdentityContext = self.app.state.identity
        return ctx

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> httpx.Response:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        return await self.client.post("/oauth2/token", data=data, auth=(client_id, secret))

    async def access_token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        response = await self.token(client_id, secret, scope)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.access_token(*ADMIN)}"}

    async def authorize(
        self,
        *,
        client_id: str = PLATFORM,
        redirect_uri: str = REDIRECT,
        scope: str = "openid profile cases:submit",
        challenge: str | None = None,
        **extra: str,
    ) -> httpx.Response:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": "st-" + secrets.token_hex(4),
            "nonce": "n-" + secrets.token_hex(4),
            "code_challenge_method": "S256",
        }
        if challenge is not None:
            params["code_challenge"] = challenge
        params.update(extra)
        params = {k: v for k, v in params.items() if v != ""}
        return await self.client.get("/oauth2/authorize", params=params)

    @staticmethod
    def form_fields(html: str) -> dict[str, str]:
        return dict(_FIELD_RE.findall(html))

    async def post_login(
        self, page: httpx.Response, username: str, password: str, **extra: str
    ) -> httpx.Response:
        fields = self.form_fields(page.text)
        return await self.client.post(
            "/oauth2/login", data={**fields, "username": username, "password": password, **extra}
        )

    async def post_otp(self, page: httpx.Response, code: str) -> httpx.Response:
        fields = self.form_fields(page.text)
        return await self.client.post("/oauth2/login/otp", data={**fields, "otp": code})

    def lisi_code(self) -> str:
        return totp.current_code(dev_realm.LISI_TOTP_SECRET, self.ctx.clock())

    async def code_flow(
        self,
        username: str = "zhangsan",
        password: str = dev_realm.DEMO_PASSWORD,
        *,
        scope: str = "openid profile cases:submit",
        client_id: str = PLATFORM,
        **extra: str,
    ) -> dict[str, Any]:
        """Log in through the pages and redeem the code; returns the token response."""
        self.client.cookies.clear()
        verifier, challenge = pkce_pair()
        page = await self.authorize(challenge=challenge, scope=scope, client_id=client_id, **extra)
        assert page.status_code == 200, page.text
        response = await self.post_login(page, username, password)
        if response.status_code == 200 and 'name="otp"' in response.text:
            response = await self.post_otp(response, self.lisi_code())
        assert response.status_code == 303, response.text
        code = callback_params(response)["code"]
        token = await self.client.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
            auth=(client_id, PLATFORM_SECRET),
        )
        assert token.status_code == 200, token.text
        body: dict[str, Any] = token.json()
        return body

    async def events(self, ce_type_suffix: str | None = None) -> list[dict[str, Any]]:
        """Envelopes written to the outbox (the audit trail), oldest first."""
        runtime = self.app.state.runtime
        async with runtime.uow() as uow:
            rows = (await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.position))).all()
        envelopes = [dict(r.envelope) for r in rows]
        if ce_type_suffix is not None:
            envelopes = [e for e in envelopes if str(e["type"]).endswith(ce_type_suffix)]
        return envelopes


def callback_params(response: httpx.Response) -> dict[str, str]:
    """Query parameters of a redirect to the client's callback."""
    location = response.headers["location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def app_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for an in-process app: temp SQLite, cheap Argon2, no delays, a short lockout."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'identity.db'}",
        "kafka_bootstrap": "127.0.0.1:1",
        "topic_prefix": "t-identity-unit.",
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        "throttle_base_delay": 0.0,
        "lockout_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(**values)


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    """Start apps with setting overrides; all stop at the end of the test."""
    managers: list[LifespanManager] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(**overrides: Any) -> Harness:
        settings = app_settings(tmp_path / str(len(managers)), **overrides)
        (tmp_path / str(len(managers))).mkdir(exist_ok=True)
        app = create_app(settings)
        manager = LifespanManager(app, startup_timeout=60)
        await manager.__aenter__()
        managers.append(manager)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        )
        clients.append(client)
        return Harness(app, client, settings)

    yield factory
    for client in clients:
        await client.aclose()
    for manager in reversed(managers):
        await manager.__aexit__(None, None, None)


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    """An app with the default test settings."""
    return await make_harness()


@pytest.fixture
def helpers() -> Any:
    """Module-level helpers for tests (importlib mode keeps conftest out of imports)."""

    class _Helpers:
        pkce_pair = staticmethod(pkce_pair)
        callback_params = staticmethod(callback_params)
        REDIRECT = REDIRECT
        PLATFORM = PLATFORM
        PLATFORM_SECRET = PLATFORM_SECRET
        ADMIN = ADMIN

    return _Helpers
