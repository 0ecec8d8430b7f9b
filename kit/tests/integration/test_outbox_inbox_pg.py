"""Against the real broker and PostgreSQL: outbox atomicity, outage survival, once-only consumption."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from tongban_contracts.envelope import EventEnvelope
from tongban_kit import testing
from tongban_kit.db import make_engine, make_session_factory
from tongban_kit.events import from_kafka, to_kafka
from tongban_kit.inbox import InboxMessage
from tongban_kit.outbox import OutboxMessage, OutboxRelay, OutboxSignal, Publisher
from tongban_kit.testkeys import TokenMinter

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _load_demo() -> Any:
    if "kit_demo_app" in sys.modules:  # both test modules share one copy (one set of tables)
        return sys.modules["kit_demo_app"]
    path = Path(__file__).parents[1] / "demo_app.py"
    spec = importlib.util.spec_from_file_location("kit_demo_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["kit_demo_app"] = module
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


@pytest.fixture(scope="module")
def bootstrap() -> str:
    return testing.ensure_broker()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await testing.create_database("kit")
    yield url
    await testing.drop_database(url)


def _settings(url: str, bootstrap: str, prefix: str) -> Any:
    return demo.DemoSettings(
        env="test", database_url=url, migrate_on_start=False, kafka_bootstrap=bootstrap, topic_prefix=prefix
    )


async def _consume(bootstrap: str, topic: str, count: int, timeout: float = 60) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < count and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def _post_widget(c: httpx.AsyncClient, token: str, name: str, traceparent: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    if traceparent:
        headers["traceparent"] = traceparent
    r = await c.post("/v1/widgets", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_event_reaches_kafka_with_headers_and_trace(bootstrap: str, pg_url: str) -> None:
    prefix = testing.run_topic_prefix() + "a."
    settings = _settings(pg_url, bootstrap, prefix)
    minter = TokenMinter()
    app = demo.create_app(settings)
    async with LifespanManager(app) as m:
        app.state.runtime.verifier.set_keys(minter.jwks)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=m.app), base_url="http://d") as c:
            token = minter.mint("demo:write", audience=["urn:tongban:demo"])
            widget = await _post_widget(c, token, "a", f"00-{TRACE_ID}-00f067aa0ba902b7-01")
            records = await _consume(bootstrap, settings.topic(demo.TOPIC), 1)
    assert len(records) == 1
    rec = records[0]
    headers = dict(rec.headers)
    assert rec.key == widget.encode()
    assert headers["ce_type"] == b"cn.gov.tongban.demo.widget-created.v1"
    assert headers["ce_subject"] == widget.encode()
    assert headers["ce_sequence"] == b"1"
    assert headers["ce_specversion"] == b"1.0"
    assert TRACE_ID in headers["traceparent"].decode()
    assert from_kafka(rec.key, rec.value, rec.headers).data["name"] == "a"


async def test_state_change_commits_while_broker_is_down_and_event_follows(
    bootstrap: str, pg_url: str
) -> None:
    if testing.broker_is_external():
        pytest.fail("this test stops the local broker; run it against the local broker")
    prefix = testing.run_topic_prefix() + "b."
    settings = _settings(pg_url, bootstrap, prefix)
    minter = TokenMinter()
    app = demo.create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as m:
        runtime = app.state.runtime
        runtime.verifier.set_keys(minter.jwks)
        assert await runtime.kafka.wait_connected(30)
        token = minter.mint("demo:write", audience=["urn:tongban:demo"])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=m.app), base_url="http://d") as c:
            testing.broker_stop()
            try:
                widget = await _post_widget(c, token, "during-outage")
                got = await c.get(f"/v1/widgets/{widget}")
                assert got.json()["name"] == "during-outage"  # the state change committed
                await asyncio.sleep(2)
                async with runtime.session_factory() as s:
                    unsent = (
                        await s.execute(select(func.count()).where(OutboxMessage.sent_at.is_(None)))
                    ).scalar_one()
                assert unsent == 1
            finally:
                testing.broker_start()
            records = await _consume(bootstrap, settings.topic(demo.TOPIC), 1, timeout=120)
    assert [r.key for r in records] == [widget.encode()]


async def test_redelivered_event_is_applied_once(bootstrap: str, pg_url: str) -> None:
    prefix = testing.run_topic_prefix() + "c."
    settings = _settings(pg_url, bootstrap, prefix)
    app = demo.create_app(settings, consume=True)
    event = EventEnvelope(
        id="evt-dup-1", type="t", source="urn:tongban:test", subject="w1", sequence=1, data={}
    )
    async with LifespanManager(app, startup_timeout=60):
        runtime = app.state.runtime
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
        await producer.start()
        try:
            key, value, headers = to_kafka(event)
            for _ in range(2):  # the same event delivered twice
                await producer.send_and_wait(
                    settings.topic(demo.TOPIC), value=value, key=key, headers=headers
                )
            marker = EventEnvelope(
                id="evt-marker", type="t", source="urn:tongban:test", subject="w2", data={}
            )
            k2, v2, h2 = to_kafka(marker)
            await producer.send_and_wait(settings.topic(demo.TOPIC), value=v2, key=k2, headers=h2)
        finally:
            await producer.stop()
        for _ in range(120):
            async with runtime.session_factory() as s:
                seen = (await s.execute(select(func.count()).select_from(InboxMessage))).scalar_one()
            if seen >= 2:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1)
        assert await demo.counter_value(runtime) == 2  # the duplicate had no second effect


class _NullPublisher(Publisher):
    async def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        return None


async def test_one_relay_is_elected_per_database(pg_url: str) -> None:
    engine_a, engine_b = make_engine(pg_url), make_engine(pg_url)
    relays = [
        OutboxRelay(e, make_session_factory(e), _NullPublisher(), OutboxSignal(), idle_poll_seconds=0.2)
        for e in (engine_a, engine_b)
    ]
    async with engine_a.begin() as conn:
        await conn.run_sync(demo.Base.metadata.create_all)
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await asyncio.sleep(2)
        assert sorted(r.is_leader for r in relays) == [False, True]
        leader = next(i for i, r in enumerate(relays) if r.is_leader)
        relays[leader].stop()
        await asyncio.wait_for(tasks[leader], 10)
        await asyncio.sleep(1.5)
        assert relays[1 - leader].is_leader  # the standby took over
    finally:
        for r in relays:
            r.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await engine_a.dispose()
        await engine_b.dispose()


class _RecordingPublisher(Publisher):
    def __init__(self) -> None:
        self.keys: list[bytes] = []

    async def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        self.keys.append(key)


async def test_a_commit_in_another_replica_wakes_the_elected_relay(pg_url: str) -> None:
    from tongban_kit.uow import UnitOfWork

    leader_engine, other_engine = make_engine(pg_url), make_engine(pg_url)
    async with leader_engine.begin() as conn:
        await conn.run_sync(demo.Base.metadata.create_all)
    publisher = _RecordingPublisher()
    # A long idle poll: only the NOTIFY from the other replica's commit can wake it in time.
    relay = OutboxRelay(
        leader_engine, make_session_factory(leader_engine), publisher, OutboxSignal(), idle_poll_seconds=60
    )
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(50):
            if relay.is_leader:
                break
            await asyncio.sleep(0.1)
        assert relay.is_leader
        await asyncio.sleep(0.5)  # the relay is now waiting on its signal
        # The other replica's signal NOTIFYs after the commit; a unit of work without one NOTIFYs with it.
        for n, signal in enumerate([OutboxSignal(other_engine), None], start=1):
            uow = UnitOfWork(make_session_factory(other_engine), signal)
            async with uow:
                uow.emit(
                    "t", EventEnvelope(id=f"n-{n}", type="t", source="s", subject=f"agg-{n}", sequence=1)
                )
                await uow.commit()
            for _ in range(50):
                if len(publisher.keys) == n:
                    break
                await asyncio.sleep(0.1)
        assert publisher.keys == [b"agg-1", b"agg-2"]
    finally:
        relay.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await leader_engine.dispose()
        await other_engine.dispose()


async def test_nul_in_text_is_a_422_problem_on_postgresql(pg_url: str) -> None:
    settings = _settings(pg_url, "127.0.0.1:1", testing.run_topic_prefix() + "nul.")
    minter = TokenMinter()
    app = demo.create_app(settings)
    async with LifespanManager(app) as m:
        app.state.runtime.verifier.set_keys(minter.jwks)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=m.app), base_url="http://d") as c:
            token = minter.mint("demo:write", audience=["urn:tongban:demo"])
            r = await c.post(
                "/v1/widgets", json={"name": "a\u0000b"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 422
            assert r.json()["code"] == "invalid-text"
            ok = await c.post(
                "/v1/widgets", json={"name": "fine"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert ok.status_code == 201


async def test_sent_rows_past_the_retention_are_purged_on_postgresql(pg_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update
    from tongban_kit.outbox import insert_outbox, outbox_values

    engine = make_engine(pg_url)
    factory = make_session_factory(engine)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(demo.Base.metadata.create_all)
        async with factory() as s:
            events = [EventEnvelope(id=f"p-{i}", type="t", source="s", subject=f"p{i}") for i in range(5)]
            await insert_outbox(s, [outbox_values("t", e) for e in events])
            old = datetime.now(UTC) - timedelta(days=5)
            await s.execute(
                update(OutboxMessage).where(OutboxMessage.key.in_(["p0", "p1", "p2"])).values(sent_at=old)
            )
            await s.execute(
                update(OutboxMessage).where(OutboxMessage.key == "p3").values(sent_at=datetime.now(UTC))
            )
            await s.commit()
        relay = OutboxRelay(engine, factory, _NullPublisher(), OutboxSignal(), purge_batch=2)
        assert await relay.purge_sent() == 3
        async with factory() as s:
            left = (await s.execute(select(OutboxMessage.key).order_by(OutboxMessage.key))).scalars().all()
        assert left == ["p3", "p4"]  # sent recently, and unsent
    finally:
        await engine.dispose()
