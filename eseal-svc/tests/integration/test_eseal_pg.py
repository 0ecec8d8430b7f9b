"""eseal-svc on real PostgreSQL and Kafka: licence events reach the topic; concurrent writers stay consistent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from asgi_lifespan import LifespanManager
from eseal_svc.config import Settings, platform_org
from eseal_svc.domain.status_list import Bitstring
from eseal_svc.main import create_app
from eseal_svc.schemas import SCHEMA_DIR
from jsonschema import Draft202012Validator
from tongban_contracts.topics import ESEAL_LICENCES
from tongban_kit.testing import create_database, drop_database, ensure_broker, run_topic_prefix
from tongban_kit.testkeys import TokenMinter

pytestmark = pytest.mark.integration

AUD = "urn:tongban:eseal"
SHANGHAI = "310000"
LISI = "310104198506123025"
PREFIX = run_topic_prefix() + "eseal."


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    url = await create_database("eseal")
    try:
        yield url
    finally:
        await drop_database(url)


class Service:
    """The running service and its tokens."""

    def __init__(self, client: httpx.AsyncClient, minter: TokenMinter, settings: Settings) -> None:
        self.client = client
        self.minter = minter
        self.settings = settings

    def platform(self, region: str = SHANGHAI) -> dict[str, str]:
        token = self.minter.mint(
            "eseal:sign eseal:verify",
            audience=[AUD],
            client_id=f"platform-{region}",
            region=region,
            org=platform_org(region),
        )
        return {"Authorization": f"Bearer {token}"}

    def admin(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.minter.mint('eseal:admin', audience=[AUD], client_id='admin-dev')}"
        }

    async def issue(self, name: str = "李四") -> dict[str, Any]:
        r = await self.client.post(
            "/v1/licences",
            json={
                "licence_type": "residence_permit",
                "holder": {"name": name, "id_number": LISI},
                "fields": {"residence": "上海市浦东新区"},
            },
            headers=self.platform(),
        )
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture(scope="module")
async def service(database: str) -> AsyncIterator[Service]:
    minter = TokenMinter()
    settings = Settings(
        env="test",
        database_url=database,
        kafka_bootstrap=ensure_broker(),
        topic_prefix=PREFIX,
        region=SHANGHAI,
    )
    app = create_app(settings)
    async with (
        LifespanManager(app, startup_timeout=120) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://eseal") as client,
    ):
        app.state.runtime.verifier.set_keys(minter.jwks)
        yield Service(client, minter, settings)


async def _records(settings: Settings, wanted: set[str], timeout: float = 60.0) -> dict[str, list[Any]]:
    """Licence-topic records keyed by message key, until every wanted key was seen."""
    consumer = AIOKafkaConsumer(
        settings.topic(ESEAL_LICENCES),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[str, list[Any]] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not wanted <= set(found):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    found.setdefault(record.key.decode(), []).append(record)
    finally:
        await consumer.stop()
    return found


async def test_a_licence_issued_event_reaches_the_topic(service: Service) -> None:
    licence = await service.issue()
    r = await service.client.post(
        f"/v1/licences/{licence['id']}/revoke",
        json={"reason": "离沪"},
        headers={**service.platform(), "If-Match": f'"{licence["id"]}-v1"'},
    )
    assert r.status_code == 200, r.text
    records = (await _records(service.settings, {licence["id"]}))[licence["id"]]
    deadline = time.monotonic() + 30
    while len(records) < 2 and time.monotonic() < deadline:
        records = (await _records(service.settings, {licence["id"]}, timeout=5))[licence["id"]]
    headers = [dict(r.headers) for r in records]
    assert [h["ce_type"] for h in headers] == [
        b"cn.gov.tongban.eseal.licence-issued.v1",
        b"cn.gov.tongban.eseal.licence-revoked.v1",
    ]
    assert [h["ce_sequence"] for h in headers] == [b"1", b"2"]
    assert (
        headers[0]["ce_subject"] == licence["id"].encode() and headers[0]["ce_source"] == b"urn:tongban:eseal"
    )
    data = json.loads(records[0].value)
    schema = json.loads(
        (SCHEMA_DIR / "cn.gov.tongban.eseal.licence-issued.v1.json").read_text(encoding="utf-8")
    )
    Draft202012Validator(schema).validate(data)
    assert data["licence_id"] == licence["id"] and data["issuer"]["uscc"] == platform_org(SHANGHAI)
    assert LISI not in records[0].value.decode() and "浦东新区" not in records[0].value.decode()


async def test_concurrent_issuance_hands_out_distinct_entries(service: Service) -> None:
    licences = await asyncio.gather(*(service.issue(f"持证人{i}") for i in range(12)))
    entries = {(e["status_list"], e["index"]) for lic in licences for e in lic["credential_status"]}
    assert len(entries) == 24
    # Revoke half of them concurrently: every bit lands in the signed list.
    revoked = licences[::2]
    results = await asyncio.gather(
        *(
            service.client.post(
                f"/v1/licences/{lic['id']}/revoke", json={}, headers={**service.platform(), "If-Match": "*"}
            )
            for lic in revoked
        )
    )
    assert [r.status_code for r in results] == [200] * len(revoked)
    url = revoked[0]["credential_status"][0]["status_list"]
    r = await service.client.get(url[url.index("/v1/") :], headers={"Accept": "application/json"})
    bits = Bitstring.decode(r.json()["credential"]["credentialSubject"]["encodedList"])
    for lic in licences:
        entry = lic["credential_status"][0]
        assert bits.get(entry["index"]) == (lic in revoked)


async def test_concurrent_revocations_of_one_seal_let_exactly_one_win(service: Service) -> None:
    seal = (
        await service.client.get("/v1/seals", params={"org": platform_org(SHANGHAI)}, headers=service.admin())
    ).json()
    seal_id = seal["items"][0]["id"]
    etag = f'"{seal_id}-v1"'
    results = await asyncio.gather(
        *(
            service.client.post(
                f"/v1/seals/{seal_id}/revoke",
                json={"reason": f"r{i}"},
                headers={**service.admin(), "If-Match": etag},
            )
            for i in range(4)
        )
    )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1 and all(c in (409, 412) for c in codes if c != 200), codes
    found = await _records(service.settings, {seal_id})
    assert [dict(r.headers)["ce_type"] for r in found[seal_id]] == [b"cn.gov.tongban.eseal.seal-revoked.v1"]
