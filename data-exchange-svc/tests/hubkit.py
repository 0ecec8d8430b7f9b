"""Test helpers: a hub app in-process on SQLite with the sandbox behind an ASGI transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from data_exchange_svc.config import Settings
from data_exchange_svc.domain.model import CaseView
from data_exchange_svc.main import create_app
from data_exchange_svc.sandbox import SandboxSettings
from data_exchange_svc.sandbox import create_app as create_sandbox
from data_exchange_svc.sandbox.records import population
from fastapi import FastAPI
from tongban_kit.crypto import subject_hash
from tongban_kit.ids import new_id
from tongban_kit.settings import DEV_SUBJECT_HASH_KEY
from tongban_kit.testkeys import TokenMinter

AUD = "urn:tongban:exchange"
ITEM = "XK00003001"  # a seeded 户口迁移 sub-item
OTHER_ITEM = "XK00009001"
SUBJECTS = population(40)
ORG = "91440000MA5D0LBB2A"


class FakeCases:
    """The case directory of unit-level tests: cases are whatever the test puts in."""

    def __init__(self) -> None:
        self.cases: dict[str, CaseView] = {}
        self.lookups = 0

    async def get_case(self, case_id: str) -> CaseView | None:
        self.lookups += 1
        return self.cases.get(case_id)

    def add(
        self,
        *,
        item_code: str = ITEM,
        status: str = "accepted",
        receiving: str = "440000",
        handling: str = "110000",
        participants: frozenset[str] = frozenset(),
    ) -> str:
        case_id = new_id()
        self.cases[case_id] = CaseView(
            id=case_id,
            status=status,
            item_code=item_code,
            receiving_region=receiving,
            handling_region=handling,
            participant_regions=participants,
        )
        return case_id


def hash_of(id_number: str) -> str:
    """The subject hash the hub computes in tests (dev key)."""
    return subject_hash(id_number, DEV_SUBJECT_HASH_KEY)


@dataclass
class Hub:
    """A running hub, its sandbox, tokens and fake cases."""

    client: httpx.AsyncClient
    app: FastAPI
    sandbox: FastAPI
    sandbox_client: httpx.AsyncClient
    cases: FakeCases
    minter: TokenMinter
    subjects: list[str] = field(default_factory=lambda: list(SUBJECTS))

    def platform(
        self, region: str = "440000", scopes: str = "exchange:query", **claims: Any
    ) -> dict[str, str]:
        token = self.minter.mint(
            scopes, audience=[AUD], client_id=f"platform-{region}", region=region, org=ORG, **claims
        )
        return {"Authorization": f"Bearer {token}"}

    def admin(self) -> dict[str, str]:
        token = self.minter.mint(
            "exchange:admin cases:read", audience=[AUD, "urn:tongban:case"], client_id="admin-dev"
        )
        return {"Authorization": f"Bearer {token}"}

    def citizen(self, id_number: str, *, via_exchange: bool = False) -> dict[str, str]:
        claims: dict[str, Any] = {"subject_hash": hash_of(id_number)}
        if via_exchange:  # RFC 8693: the platform acts for the person
            claims["act"] = {"sub": "platform-440000"}
        token = self.minter.mint(
            "exchange:query",
            audience=[AUD],
            client_id="platform-440000",
            subject=f"person-{hash_of(id_number)[:12]}",
            region="440000",
            **claims,
        )
        return {"Authorization": f"Bearer {token}"}

    def subject(self) -> str:
        """A fresh adult synthetic subject (so each test has its own consents and log rows)."""
        while self.subjects:
            rid = self.subjects.pop()
            if int(rid[6:10]) <= 2000:
                return rid
        raise RuntimeError("out of synthetic subjects")

    async def consent(self, id_number: str, case_id: str, resources: list[str], **kw: Any) -> dict[str, Any]:
        body = {
            "case_id": case_id,
            "resource_ids": resources,
            "until": (datetime.now(UTC) + timedelta(days=kw.pop("days", 30))).isoformat(),
            **kw,
        }
        r = await self.client.post("/v1/consents", json=body, headers=self.citizen(id_number))
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def query(
        self, id_number: str, case_id: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "resource_id": kw.pop("resource", "household-registration"),
            "subject_id_number": id_number,
            "case_id": case_id,
            "item_code": kw.pop("item", ITEM),
            "mode": kw.pop("mode", "share"),
        }
        if body["mode"] == "share":
            body["fields"] = kw.pop("fields", ["name", "birth_date"])
        else:
            body["fact"] = kw.pop("fact")
        body.update(kw)
        return await self.client.post("/v1/queries", json=body, headers=headers or self.platform())

    async def resource(self, code: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/resources/{code}", headers=self.admin())
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def grant(self, **body: Any) -> dict[str, Any]:
        body.setdefault("client_id", "platform-440000")
        body.setdefault("items", [ITEM])
        body.setdefault("modes", ["share", "verify"])
        body.setdefault("expires_at", (datetime.now(UTC) + timedelta(days=30)).isoformat())
        r = await self.client.post("/v1/grants", json=body, headers=self.admin())
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def audit(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.client.get("/v1/audit", params=params, headers=self.admin())
        assert r.status_code == 200, r.text
        return list(r.json()["items"])


def hub_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": f"sqlite+aiosqlite:///{tmp}/exchange.db",
        "kafka_bootstrap": "127.0.0.1:1",  # nothing listens: events stay in the outbox
        "topic_prefix": f"t{new_id()[-8:]}.",
        "sandbox_url": "http://sandbox",
        "breaker_failures": 3,
        "breaker_reset_seconds": 60,
        "provider_timeout_ms": 2000,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def running_hub(tmp: Path, **overrides: Any) -> AsyncIterator[Hub]:
    """Start the hub and the sandbox in-process; the sandbox trusts the hub's published key."""
    minter = TokenMinter()
    cases = FakeCases()
    sandbox = create_sandbox(SandboxSettings(env="test", hub_jwks_url="http://hub.invalid/jwks"))
    transport = httpx.ASGITransport(app=sandbox)
    app = create_app(hub_settings(tmp, **overrides), case_directory=cases, provider_transport=transport)
    async with LifespanManager(app) as manager:
        app.state.runtime.verifier.set_keys(minter.jwks)
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://hub"
            ) as client,
            httpx.AsyncClient(transport=transport, base_url="http://sandbox") as sandbox_client,
        ):
            jwks = (await client.get("/.well-known/jwks.json")).json()
            sandbox.state.hub_keys.set(jwks)
            yield Hub(client, app, sandbox, sandbox_client, cases, minter)
