"""On PostgreSQL and the real broker: the seed's events reach the compacted topic with ce_ headers and keys."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from catalogue_support import Catalogue, running_catalogue
from catalogue_svc.seed import load_seed
from tongban_contracts import topics
from tongban_contracts.events.catalogue import ItemPublished, RegionImplementationChanged
from tongban_kit import testing
from tongban_kit.outbox import pending_count

pytestmark = pytest.mark.integration

PUBLISHED = "cn.gov.tongban.catalogue.item-published.v1"
REGION = "cn.gov.tongban.catalogue.region-implementation-changed.v1"
CE_HEADERS = {
    "ce_specversion",
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_subject",
    "ce_time",
    "ce_dataschema",
    "ce_sequence",
}


@pytest.fixture(scope="module")
def bootstrap() -> str:
    return testing.ensure_broker()


@pytest.fixture(scope="module")
async def broker_catalogue(bootstrap: str) -> AsyncIterator[tuple[Catalogue, str]]:
    """The app on a fresh PostgreSQL database, publishing to a topic prefix of its own."""
    prefix = f"{testing.run_topic_prefix()}cat{secrets.token_hex(3)}."
    url = await testing.create_database("catalogue_broker")
    try:
        async with running_catalogue(url, kafka_bootstrap=bootstrap, topic_prefix=prefix) as running:
            yield running, prefix + topics.CATALOGUE_ITEMS
    finally:
        await testing.drop_database(url)


async def drained(c: Catalogue, timeout: float = 90) -> None:
    """Wait until the relay has sent every outbox row."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with c.runtime.session_factory() as session:
            if await pending_count(session) == 0:
                return
        await asyncio.sleep(0.25)
    raise AssertionError("the outbox was not drained")


async def consume(bootstrap: str, topic: str, count: int, timeout: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_seed_events_reach_the_topic_with_ce_headers_and_keys(
    broker_catalogue: tuple[Catalogue, str], bootstrap: str
) -> None:
    catalogue, topic = broker_catalogue
    seed = load_seed()
    expected = len(seed.items) + sum(len(i.implementations) for i in seed.items)
    await drained(catalogue)
    records = await consume(bootstrap, topic, expected)
    assert len(records) == expected
    by_type: dict[str, list[Any]] = {}
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        assert set(headers) >= CE_HEADERS
        assert headers["ce_source"] == "urn:tongban:catalogue"
        assert headers["ce_dataschema"] == f"urn:tongban:schema:{headers['ce_type']}"
        assert headers["ce_sequence"] == "1"
        assert headers["content-type"].startswith("application/json")
        assert record.key.decode() == headers["ce_subject"]
        by_type.setdefault(headers["ce_type"], []).append(record)
    item_keys = sorted(r.key.decode() for r in by_type[PUBLISHED])
    assert item_keys == sorted(i.basic_code for i in seed.items)
    region_keys = {r.key.decode() for r in by_type[REGION]}
    assert region_keys == {f"{i.basic_code}/{impl.region}" for i in seed.items for impl in i.implementations}
    for record in by_type[PUBLISHED]:
        data = ItemPublished.model_validate(json.loads(record.value))
        assert (data.basic_code, data.version, data.status) == (record.key.decode(), 1, "published")
    for record in by_type[REGION]:
        data = RegionImplementationChanged.model_validate(json.loads(record.value))
        assert f"{data.basic_code}/{data.region}" == record.key.decode()
    one = next(r for r in by_type[PUBLISHED] if r.key == b"XK00003000")
    api = (await catalogue.client.get("/v1/items/XK00003000/versions/1")).json()
    assert json.loads(one.value) == api


async def test_the_catalogue_topic_is_compacted(
    broker_catalogue: tuple[Catalogue, str], bootstrap: str
) -> None:
    _, topic = broker_catalogue
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = {
        entry[0]: entry[1]
        for response in described
        for resource in response.resources
        for entry in resource[4]
    }
    assert entries["cleanup.policy"] == "compact"


async def test_a_publish_reaches_the_topic_keyed_by_basic_code(
    broker_catalogue: tuple[Catalogue, str], bootstrap: str
) -> None:
    from catalogue_support import item_body

    catalogue, topic = broker_catalogue
    c = catalogue.client
    r = await c.post("/v1/items", json=item_body("XK00095000"), headers=catalogue.writer())
    r = await c.post("/v1/items/XK00095000/draft/publish", headers=catalogue.writer(r.headers["etag"]))
    assert r.status_code == 200
    await drained(catalogue)
    records = [rec for rec in await consume(bootstrap, topic, 10_000, timeout=10) if rec.key == b"XK00095000"]
    assert len(records) == 1
    headers = dict(records[0].headers)
    assert (headers["ce_type"].decode(), headers["ce_sequence"]) == (
        PUBLISHED,
        b"1",
    )  # the draft had no event: the first event is 1
