"""Against real PostgreSQL and the real broker: the three modes end to end at the API, events in order.

The catalogue read model is built by the app's own consumer from events produced to the (per-run)
catalogue topic; a separate Kafka consumer on the case topic checks every event arrives in order with
gap-free sequences.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from case_api import CaseApp, Platform, case_body, catalogue_event, default_catalogue, start_case_app
from case_factories import BASIC_CODE, HANDLING, PARTICIPANT_A, RECEIVING, STRANGER
from case_svc.adapters.readmodel import ItemStore
from case_svc.config import Settings
from case_svc.domain.working_days import WorkingDayCalendar
from tongban_contracts import EventEnvelope, topics
from tongban_kit import testing
from tongban_kit.events import from_kafka, to_kafka

pytestmark = pytest.mark.integration

PREFIX = testing.run_topic_prefix() + "case."


@pytest.fixture(scope="module")
def bootstrap() -> str:
    return testing.ensure_broker()


@pytest.fixture(scope="module")
async def pg_url() -> AsyncIterator[str]:
    url = await testing.create_database("case")
    yield url
    await testing.drop_database(url)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Any:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def settings_for(pg_url: str, bootstrap: str, tmp: str, **extra: str) -> Settings:
    values = {
        "TONGBAN_ENV": "test",
        "TONGBAN_KAFKA_BOOTSTRAP": bootstrap,
        "TONGBAN_TOPIC_PREFIX": PREFIX,
        "CASE_DATABASE_URL": pg_url,
        "CASE_BLOB_DIR": tmp,
        "CASE_DEADLINE_WORKER": "false",
        "CASE_CATALOGUE_URL": "http://127.0.0.1:9",
        **extra,
    }
    with environment(values):
        return Settings()


async def publish_catalogue(bootstrap: str, events: list[EventEnvelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for event in events:
            key, value, headers = to_kafka(event)
            await producer.send_and_wait(
                PREFIX + topics.CATALOGUE_ITEMS, value=value, key=key, headers=headers
            )
    finally:
        await producer.stop()


async def wait_for_read_model(app: CaseApp, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async with app.app.state.runtime.session_factory() as session:
            store = ItemStore(session)
            if await store.current(BASIC_CODE) and await store.offer(BASIC_CODE, PARTICIPANT_A):
                return
        await asyncio.sleep(0.3)
    raise AssertionError("the catalogue consumer did not build the read model")


class CaseTopic:
    """A ministry-style subscriber on the case topic (its own group, from the beginning)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(
            PREFIX + topics.CASE_LIFECYCLE,
            bootstrap_servers=bootstrap,
            group_id=PREFIX + "ministry-test",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.events: list[EventEnvelope] = []

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def until(self, case_id: str, count: int, timeout: float = 60) -> list[EventEnvelope]:
        """Collect until the case has ``count`` events; return them in arrival order."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            mine = [e for e in self.events if e.subject == case_id]
            if len(mine) >= count:
                return mine
            batch = await self.consumer.getmany(timeout_ms=500)
            for records in batch.values():
                self.events.extend(from_kafka(r.key, r.value, r.headers) for r in records)
        return [e for e in self.events if e.subject == case_id]


@pytest.fixture(scope="module")
async def mesh(pg_url: str, bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    tmp = str(tmp_path_factory.mktemp("blobs"))
    await publish_catalogue(bootstrap, default_catalogue())
    subscriber = CaseTopic(bootstrap)
    await subscriber.start()
    async with start_case_app(settings_for(pg_url, bootstrap, tmp), seed=False) as app:
        await wait_for_read_model(app)
        yield app, subscriber
    await subscriber.stop()


def names(events: list[EventEnvelope]) -> list[str]:
    return [e.type.split(".")[-2] for e in events]


def assert_in_order(events: list[EventEnvelope]) -> None:
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    for event in events:
        assert event.extensions["receivingregion"] and event.extensions["handlingregion"]


async def submit(p: Platform, mode: str, **overrides: Any) -> dict[str, Any]:
    resp = await p.post("/v1/cases", case_body(mode, **overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_proxy_case_end_to_end(mesh: Any) -> None:
    app, subscriber = mesh
    a, b = app.platform(RECEIVING), app.platform(HANDLING)
    case = await submit(a, "proxy")
    cid = case["id"]
    assert (await a.act(cid, "transfer", {"method": "electronic"})).status_code == 200
    resp = await b.act(
        cid,
        "request-correction",
        {
            "items": [
                {"material_code": "M02", "problem": "faulty"},
                {"material_code": "M03", "problem": "missing"},
            ]
        },
    )
    assert resp.status_code == 200, resp.text
    resp = await a.act(
        cid,
        "resubmit",
        {"materials": [{"code": "M02", "file": {"sha256": "e" * 64}}, {"code": "M03", "licence_id": "L-3"}]},
    )
    assert resp.status_code == 422  # M03 takes no licence: the resubmission is checked like the submission
    resp = await a.act(
        cid,
        "resubmit",
        {
            "materials": [
                {"code": "M02", "file": {"sha256": "e" * 64}},
                {"code": "M03", "file": {"sha256": "f" * 64}},
            ]
        },
    )
    assert resp.status_code == 200, resp.text
    assert (await b.act(cid, "accept")).status_code == 200
    resp = await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "LIC-110000-1"}})
    assert resp.status_code == 200, resp.text
    assert (await a.act(cid, "deliver", {"proof": {"tracking_number": "EMS123"}})).status_code == 200
    events = await subscriber.until(cid, 7)
    assert names(events) == [
        "submitted",
        "transferred",
        "correction-requested",
        "resubmitted",
        "accepted",
        "concluded",
        "delivered",
    ]
    assert_in_order(events)
    assert events[-2].data["correction_rounds"] == 1
    assert events[0].extensions == {"receivingregion": RECEIVING, "handlingregion": HANDLING}


async def test_online_case_end_to_end(mesh: Any) -> None:
    app, subscriber = mesh
    a, b = app.platform(RECEIVING), app.platform(HANDLING)
    case = await submit(a, "online")
    cid = case["id"]
    assert (await b.act(cid, "accept")).status_code == 200
    assert (await b.act(cid, "suspend", {"reason": "现场核查"})).status_code == 200
    assert (await b.act(cid, "resume")).status_code == 200
    assert (
        await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "L-9"}})
    ).status_code == 200
    assert (
        await a.act(cid, "deliver", {"method": "electronic", "proof": {"receipt_ref": "R-1"}})
    ).status_code == 200
    assert (await a.post(f"/v1/cases/{cid}/rating", {"level": 5})).status_code == 201
    events = await subscriber.until(cid, 7)
    assert names(events) == [
        "submitted",
        "accepted",
        "suspended",
        "resumed",
        "concluded",
        "delivered",
        "rated",
    ]
    assert_in_order(events)


async def test_joint_case_with_two_regions(mesh: Any) -> None:
    app, subscriber = mesh
    a, b, s = app.platform(RECEIVING), app.platform(HANDLING), app.platform(PARTICIPANT_A)
    case = await submit(a, "joint", participants={"review": HANDLING, "archive": PARTICIPANT_A})
    cid = case["id"]
    assert (await b.act(cid, "accept")).status_code == 200
    tasks = {t["region"]: t["id"] for t in (await b.get(f"/v1/cases/{cid}/tasks")).json()["items"]}
    resp = await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "L"}})
    assert resp.status_code == 409
    assert (await b.act(cid, f"tasks/{tasks[HANDLING]}/complete", {"outcome": "审核通过"})).status_code == 200
    assert (
        await s.act(cid, f"tasks/{tasks[PARTICIPANT_A]}/complete", {"outcome": "档案已转"})
    ).status_code == 200
    assert (
        await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "L"}})
    ).status_code == 200
    events = await subscriber.until(cid, 5)
    assert names(events) == ["submitted", "accepted", "task-completed", "task-completed", "concluded"]
    assert_in_order(events)


async def test_retried_submission_with_one_key_creates_one_case(mesh: Any) -> None:
    app, subscriber = mesh
    a = app.platform(RECEIVING)
    body = case_body("online", form={"ref": "retry-test"})
    answers = await asyncio.gather(
        *(a.post("/v1/cases", body, **{"Idempotency-Key": "pg-retry-1"}) for _ in range(5))
    )
    assert {r.status_code for r in answers} == {201}
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 1
    [cid] = ids
    events = await subscriber.until(cid, 1)
    await asyncio.sleep(1.0)  # nothing more may arrive
    assert [e.sequence for e in events] == [1]
    hashed = (await a.get("/v1/cases", mode="online", limit=200)).json()["items"]
    assert sum(1 for c in hashed if c["id"] == cid) == 1


async def test_two_concurrent_accepts_with_one_etag(mesh: Any) -> None:
    app, subscriber = mesh
    a, b = app.platform(RECEIVING), app.platform(HANDLING)
    case = await submit(a, "online")
    etag = f'"{case["id"]}-v1"'
    first, second = await asyncio.gather(
        b.post(f"/v1/cases/{case['id']}/accept", etag=etag),
        b.post(f"/v1/cases/{case['id']}/accept", etag=etag),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    events = await subscriber.until(case["id"], 2)
    assert names(events) == ["submitted", "accepted"]
    assert_in_order(events)


async def test_region_c_cannot_read_or_act(mesh: Any) -> None:
    app, _ = mesh
    a, c = app.platform(RECEIVING), app.platform(STRANGER)
    case = await submit(a, "proxy")
    etag = f'"{case["id"]}-v1"'
    assert (await c.get(f"/v1/cases/{case['id']}")).status_code == 404
    assert (
        await c.post(f"/v1/cases/{case['id']}/transfer", {"method": "electronic"}, etag=etag)
    ).status_code == 404
    assert (await c.post(f"/v1/cases/{case['id']}/accept", etag=etag)).status_code == 404
    assert all(x["id"] != case["id"] for x in (await c.get("/v1/cases", limit=200)).json()["items"])
    assert (await c.get("/v1/cases", region=RECEIVING)).status_code == 403


async def test_deadline_warning_once_with_two_workers(
    mesh: Any, pg_url: str, bootstrap: str, tmp_path: Any
) -> None:
    app, subscriber = mesh
    calendar = WorkingDayCalendar()
    now = datetime.now(UTC)
    today = now.astimezone(calendar_tz()).date()
    # Accept "in the past" so the promised due date (10 working days) is today: warn now.
    accepted_on = today
    while calendar.count(accepted_on, today).days < 10:
        accepted_on -= timedelta(days=1)
    a, b = app.platform(RECEIVING), app.platform(HANDLING)
    case = await submit(a, "online")
    services = app.services
    services.clock = lambda: datetime(accepted_on.year, accepted_on.month, accepted_on.day, 2, tzinfo=UTC)
    try:
        accepted = await b.act(case["id"], "accept")
    finally:
        services.clock = lambda: datetime.now(UTC)
    assert accepted.json()["deadlines"]["promised"]["due_date"] == today.isoformat()
    # Two more replicas with their deadline workers running every 100 ms, racing on the same rows.
    extra = {
        "CASE_DEADLINE_WORKER": "true",
        "CASE_DEADLINE_INTERVAL_SECONDS": "0.1",
        "CASE_CONSUME_CATALOGUE": "false",
    }
    async with (
        start_case_app(settings_for(pg_url, bootstrap, str(tmp_path), **extra), seed=False),
        start_case_app(settings_for(pg_url, bootstrap, str(tmp_path), **extra), seed=False),
    ):
        events = await subscriber.until(case["id"], 3)
        await asyncio.sleep(1.5)  # many more passes of both workers
    events = await subscriber.until(case["id"], 3, timeout=2)
    assert names(events) == ["submitted", "accepted", "deadline-warning"]
    assert_in_order(events)
    assert events[2].data["working_days_left"] == 0 and events[2].data["deadline"] == "promised"
    by_case: dict[str, list[int]] = defaultdict(list)
    for event in subscriber.events:
        by_case[event.subject].append(event.sequence or 0)
    for sequences in by_case.values():
        assert sequences == list(range(1, len(sequences) + 1))


def calendar_tz() -> Any:
    from case_svc.domain.working_days import SHANGHAI

    return SHANGHAI


async def test_statistics_and_list_filters_on_postgresql(mesh: Any) -> None:
    app, _ = mesh
    ministry = app.platform(None, scopes="cases:read cases:monitor")
    resp = await ministry.get("/v1/statistics", group_by="mode,handling_region")
    assert resp.status_code == 200, resp.text
    groups = {(g["group"]["mode"], g["group"]["handling_region"]): g for g in resp.json()["groups"]}
    proxy = groups[("proxy", HANDLING)]
    assert proxy["concluded"] >= 1 and proxy["on_time_rate"] == 1.0
    assert proxy["correction_rounds_per_case"] > 0 and proxy["handling_days_p90"] is not None
    online = groups[("online", HANDLING)]
    assert online["satisfaction_mean"] == 5.0 and online["ratings_by_level"] == {"5": 1}
    b = app.platform(HANDLING)
    concluded = (await b.get("/v1/cases", status="concluded", mode="joint")).json()["items"]
    assert concluded and all(c["status"] == "concluded" and c["mode"] == "joint" for c in concluded)
    assert (await b.get("/v1/cases", overdue="true")).status_code == 200
    first = (await b.get("/v1/cases", limit=1)).json()
    second = (await b.get("/v1/cases", limit=1, cursor=first["next_cursor"])).json()
    assert first["items"][0]["id"] > second["items"][0]["id"]
    applicant = (await b.get(f"/v1/cases/{first['items'][0]['id']}")).json()["applicant"]["subject_hash"]
    assert (await b.get("/v1/cases", applicant_hash=applicant, limit=200)).json()["items"]


async def test_a_replica_that_is_not_the_relay_wakes_the_elected_relay(
    mesh: Any, pg_url: str, bootstrap: str, tmp_path: Any
) -> None:
    _, subscriber = mesh
    extra = {"CASE_CONSUME_CATALOGUE": "false"}
    async with start_case_app(settings_for(pg_url, bootstrap, str(tmp_path), **extra), seed=False) as other:
        assert other.app.state.runtime.relay.is_leader is False
        await asyncio.sleep(0.5)  # let both relays settle into their idle wait
        started = asyncio.get_running_loop().time()
        case = await submit(other.platform(RECEIVING), "online")
        events = await subscriber.until(case["id"], 1, timeout=10)
        waited = asyncio.get_running_loop().time() - started
    assert names(events) == ["submitted"]
    assert waited < 2.0  # the kit's idle poll is 5 s: the NOTIFY woke the elected relay


# Last: it retires the item the other tests file cases under.
async def test_catalogue_http_is_not_needed_when_events_arrived(mesh: Any) -> None:
    app, _ = mesh
    app.services.catalogue._client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: pytest.fail(f"unexpected catalogue call {request.url}"))
    )
    await submit(app.platform(RECEIVING), "online")
    await publish_catalogue(
        app.services.settings.kafka_bootstrap,
        [
            catalogue_event(
                "item-retired", {"basic_code": BASIC_CODE, "version": 3, "retired_at": "2026-11-27"}
            )
        ],
    )
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        resp = await app.platform(RECEIVING).post("/v1/cases", case_body("online"))
        if resp.status_code == 422:
            assert resp.json()["errors"][0]["type"] == "item-retired"
            return
        await asyncio.sleep(0.3)
    raise AssertionError("retirement never reached the read model")
