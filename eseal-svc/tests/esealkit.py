"""Test helpers: the eseal app in-process on SQLite (dev seed on), tokens, and common requests."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from eseal_svc.adapters.crypto import sm
from eseal_svc.config import Settings, platform_org
from eseal_svc.main import create_app
from eseal_svc.service_layer.context import EsealContext
from fastapi import FastAPI
from tongban_kit.ids import new_id
from tongban_kit.testkeys import TokenMinter

AUD = "urn:tongban:eseal"
BEIJING, SHANGHAI, GUANGDONG = "110000", "310000", "440000"
ORGS = {region: platform_org(region) for region in (BEIJING, SHANGHAI, GUANGDONG)}
# A credit code no trust-registry entry names (GB 32100's own example).
OUTSIDER = "91350100M000100Y43"
ZHANGSAN = "110101199003074477"
LISI = "310104198506123025"


def sm3_hex(data: bytes) -> str:
    """SM3 of data, hex."""
    return sm.sm3(data).hex()


def sha256_hex(data: bytes) -> str:
    """SHA-256 of data, hex."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class Eseal:
    """A running eseal app, its client and token minter."""

    client: httpx.AsyncClient
    app: FastAPI
    minter: TokenMinter
    settings: Settings

    @property
    def ctx(self) -> EsealContext:
        ctx: EsealContext = self.app.state.runtime.extras["eseal"]
        return ctx

    def token(self, scopes: str, **claims: Any) -> dict[str, str]:
        claims.setdefault("client_id", "test-client")
        return {"Authorization": f"Bearer {self.minter.mint(scopes, audience=[AUD], **claims)}"}

    def platform(self, region: str, scopes: str = "eseal:sign eseal:verify", **claims: Any) -> dict[str, str]:
        """A provincial platform's token, carrying that platform's organisation."""
        claims.setdefault("org", ORGS.get(region))
        return self.token(scopes, client_id=f"platform-{region}", region=region, **claims)

    def admin(self) -> dict[str, str]:
        return self.token("eseal:admin", client_id="admin-dev")

    def verifier(self) -> dict[str, str]:
        return self.token("eseal:verify", client_id="ministry-demo")

    async def seal_of(self, region: str) -> dict[str, Any]:
        """The dev seed seal of a region's platform organisation."""
        r = await self.client.get(
            "/v1/seals", params={"org": ORGS[region], "region": region}, headers=self.admin()
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert items, f"no seed seal for {region}"
        return dict(items[0])

    async def create_seal(self, **body: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        body.setdefault("org_name", "测试单位")
        body.setdefault("uscc", ORGS[BEIJING])
        body.setdefault("region", BEIJING)
        body.setdefault("valid_from", now.isoformat())
        body.setdefault("valid_to", (now + timedelta(days=365)).isoformat())
        r = await self.client.post("/v1/seals", json=body, headers=self.admin())
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def sign_digest(
        self, seal_id: str, document: bytes, region: str, algorithm: str = "sm3", **claims: Any
    ) -> httpx.Response:
        value = sm3_hex(document) if algorithm == "sm3" else sha256_hex(document)
        return await self.client.post(
            "/v1/signatures",
            json={"seal_id": seal_id, "digest": {"algorithm": algorithm, "value": value}},
            headers=self.platform(region, **claims),
        )

    async def verify(self, signature: str, document: bytes) -> dict[str, Any]:
        r = await self.client.post(
            "/v1/signatures/verify",
            json={"signature": signature, "document": base64.b64encode(document).decode()},
            headers=self.verifier(),
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def issue(self, region: str, **body: Any) -> httpx.Response:
        body.setdefault("licence_type", "household_registration_proof")
        body.setdefault("holder", {"name": "李四", "id_type": "resident_id", "id_number": LISI})
        body.setdefault("fields", {"address": "上海市徐汇区某路1号", "household_type": "非农业"})
        headers = body.pop("headers", None) or self.platform(region)
        return await self.client.post("/v1/licences", json=body, headers=headers)

    async def verify_licence(self, **body: Any) -> dict[str, Any]:
        r = await self.client.post("/v1/licences/verify", json=body, headers=self.verifier())
        assert r.status_code == 200, r.text
        return dict(r.json())


def settings_for(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp}/eseal.db",
        "kafka_bootstrap": "127.0.0.1:1",  # nothing listens: events stay in the outbox
        "topic_prefix": f"t{new_id()[-8:]}.",
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_eseal(
    tmp: Path, *, http: httpx.AsyncClient | None = None, **overrides: Any
) -> AsyncIterator[Eseal]:
    """Start eseal-svc in-process with a fresh database; tokens come from a local minter."""
    settings = settings_for(tmp, **overrides)
    minter = TokenMinter(issuer=settings.issuer)
    app = create_app(settings, http=http)
    async with LifespanManager(app) as manager:
        app.state.runtime.verifier.set_keys(minter.jwks)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://eseal"
        ) as client:
            yield Eseal(client, app, minter, settings)
