"""In-process case-svc for API tests: tokens per platform, seeded catalogue, outbox inspection."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
from asgi_lifespan import LifespanManager
from case_factories import (
    BASIC_CODE,
    HANDLING,
    PARTICIPANT_A,
    PARTICIPANT_B,
    RECEIVING,
    item_payload,
    offer_payload,
)
from case_svc.config import Settings
from case_svc.entrypoints.consumers import apply_catalogue_event
from case_svc.main import create_app
from case_svc.openapi import SCHEMA_DIR
from case_svc.service_layer.services import CaseServices
from fastapi import FastAPI
from sqlalchemy import select
from tongban_contracts import EventEnvelope, event_type
from tongban_kit.identifiers import resident_id_check_digit
from tongban_kit.ids import new_id
from tongban_kit.outbox import OutboxMessage
from tongban_kit.testkeys import TokenMinter

PLATFORM_SCOPES = "cases:submit cases:handle cases:read"
ID_NUMBER = "11010119900307" + "447"
ID_NUMBER += resident_id_check_digit(ID_NUMBER)


def catalogue_event(name: str, data: dict[str, Any]) -> EventEnvelope:
    """A catalogue event as catalogue-svc would publish it."""
    return EventEnvelope(
        id=new_id(),
        type=event_type("catalogue", name),
        source="urn:tongban:catalogue",
        subject="x",
        data=data,
    )


@dataclass
class Platform:
    """A provincial platform calling case-svc with its own token."""

    client: httpx.AsyncClient
    token: str
    region: str | None

    def headers(self, etag: str | None = None, **extra: str) -> dict[str, str]:
        out = {"Authorization": f"Bearer {self.token}", **extra}
        if etag:
            out["If-Match"] = etag
        return out

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers(), params=params)

    async def post(
        self, path: str, body: Any = None, etag: str | None = None, **headers: str
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers(etag, **headers))

    async def act(self, case_id: str, action: str, body: Any = None) -> httpx.Response:
        """Read the case for its ETag, then run the action with If-Match."""
        current = await self.get(f"/v1/cases/{case_id}")
        assert current.status_code == 200, current.text
        return await self.post(f"/v1/cases/{case_id}/{action}", body, etag=current.headers["ETag"])


@dataclass
class CaseApp:
    """The running app, its HTTP client and a token minter."""

    app: FastAPI
    client: httpx.AsyncClient
    minter: TokenMinter

    @property
    def services(self) -> CaseServices:
        services: CaseServices = self.app.state.runtime.extras["case"]
        return services

    def platform(self, region: str | None, scopes: str = PLATFORM_SCOPES, **claims: Any) -> Platform:
        client_id = f"platform-{region}" if region else claims.pop("client_id", "ministry-demo")
        token = self.minter.mint(
            scopes, audience="urn:tongban:case", client_id=client_id, region=region, **claims
        )
        return Platform(self.client, token, region)

    async def seed(self, *events: EventEnvelope) -> None:
        """Apply catalogue events through the consumer's handler function."""
        factory = self.app.state.runtime.session_factory
        async with factory() as session:
            for event in events:
                await apply_catalogue_event(session, event)
            await session.commit()
        self.services.items.clear()

    async def outbox(self, case_id: str | None = None) -> list[EventEnvelope]:
        """Events written so far (optionally of one case), in outbox order."""
        factory = self.app.state.runtime.session_factory
        async with factory() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.position)
            if case_id:
                query = query.where(OutboxMessage.key == case_id)
            rows = (await session.execute(query)).scalars().all()
        return [EventEnvelope.model_validate(r.envelope) for r in rows]

    async def check_outbox_against_schemas(self) -> None:
        """Validate every outbox event's data against contracts/schemas/<type>.json."""
        for event in await self.outbox():
            schema = json.loads((SCHEMA_DIR / f"{event.type}.json").read_text(encoding="utf-8"))
            jsonschema.validate(event.data, schema)
            assert event.dataschema == schema["$id"]


def default_catalogue() -> list[EventEnvelope]:
    """The item and the offers of every region the tests use."""
    events = [catalogue_event("item-published", item_payload())]
    for region in (HANDLING, RECEIVING, PARTICIPANT_A, PARTICIPANT_B):
        events.append(catalogue_event("region-implementation-changed", offer_payload(region)))
    return events


def case_body(mode: str = "proxy", **overrides: Any) -> dict[str, Any]:
    """A valid submission body."""
    body: dict[str, Any] = {
        "basic_code": BASIC_CODE,
        "mode": mode,
        "receiving_region": RECEIVING,
        "handling_region": HANDLING,
        "applicant": {"type": "natural_person", "name": "张三", "id_number": ID_NUMBER},
        "materials": [
            {"code": "M01", "licence_id": "LIC-440000-1"},
            {"code": "M02", "file": {"sha256": "a" * 64, "name": "参保证明.pdf"}},
        ],
        "form": {"phone": "13800000000"},
        "delivery": {"method": "post", "address": "广州市天河区体育西路1号"},
    }
    if mode == "joint":
        body["participants"] = {"review": PARTICIPANT_A, "archive": PARTICIPANT_B}
    body.update(overrides)
    return body


@contextlib.asynccontextmanager
async def start_case_app(settings: Settings | None = None, seed: bool = True) -> AsyncIterator[CaseApp]:
    """Start the app in-process with a test key set and (by default) the seeded catalogue."""
    app = create_app(settings or Settings())
    minter = TokenMinter()
    async with LifespanManager(app) as manager:
        app.state.runtime.verifier.set_keys(minter.jwks)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://case.test") as client:
            running = CaseApp(app, client, minter)
            if seed:
                await running.seed(*default_catalogue())
            yield running
