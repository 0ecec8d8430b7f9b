"""Smoke test of aiokafka against the pinned local broker: topics, idempotent produce, group commits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from tongban_kit.testing import ensure_broker, run_topic_prefix

pytestmark = pytest.mark.integration

PARTITIONS = 3
TOPIC_ALREADY_EXISTS = 36


@pytest.fixture(scope="module")
def bootstrap() -> str:
    return ensure_broker()


@pytest.fixture
async def admin(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def topic(admin: AIOKafkaAdminClient, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    name = f"{run_topic_prefix()}smoke.{request.node.name}.v1"
    response = await admin.create_topics([NewTopic(name, num_partitions=PARTITIONS, replication_factor=1)])
    assert [error[1] for error in response.topic_errors] == [0], response.topic_errors
    try:
        yield name
    finally:
        await admin.delete_topics([name])


def _consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )


async def _drain(consumer: AIOKafkaConsumer, count: int, within: float = 30.0) -> list[ConsumerRecord]:
    records: list[ConsumerRecord] = []
    async with asyncio.timeout(within):
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records.extend(batch)
    # A short extra poll proves nothing beyond `count` was waiting.
    extra = await consumer.getmany(timeout_ms=1000)
    records.extend(r for batch in extra.values() for r in batch)
    return records


async def _produce(bootstrap: str, topic: str, keys: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        # The broker handed out a producer id, so sends carry sequence numbers (idempotence is on).
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0
        for key in keys:
            meta = await producer.send_and_wait(
                topic,
                key=key.encode(),
                value=f'{{"key": "{key}"}}'.encode(),
                headers=[
                    ("ce_id", f"id-{key}".encode()),
                    ("ce_type", b"cn.gov.tongban.test.smoke.v1"),
                    ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
                ],
            )
            assert meta.topic == topic
            assert meta.offset >= 0
    finally:
        await producer.stop()


async def test_topic_is_created_with_three_partitions(
    admin: AIOKafkaAdminClient, topic: str, bootstrap: str
) -> None:
    described = await admin.describe_topics([topic])
    assert len(described) == 1
    assert described[0]["error_code"] == 0
    assert len(described[0]["partitions"]) == PARTITIONS

    again = await admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
    assert [error[1] for error in again.topic_errors] == [TOPIC_ALREADY_EXISTS]


async def test_idempotent_produce_and_group_resume_after_manual_commit(topic: str, bootstrap: str) -> None:
    group = f"{run_topic_prefix()}smoke-group"
    first = [f"a{i}" for i in range(6)]
    second = [f"b{i}" for i in range(6)]
    await _produce(bootstrap, topic, first)

    consumer = _consumer(bootstrap, topic, group)
    await consumer.start()
    try:
        records = await _drain(consumer, len(first))
        assert sorted(r.key for r in records) == sorted(k.encode() for k in first)
        headers = dict(records[0].headers)
        assert headers["ce_id"] == b"id-" + records[0].key
        assert headers["ce_type"] == b"cn.gov.tongban.test.smoke.v1"
        assert headers["traceparent"].startswith(b"00-0af7651916cd43dd8448eb211c80319c-")
        # Keys map to partitions deterministically, so the events of one aggregate keep their order.
        assert len({r.partition for r in records}) > 1
        await consumer.commit()
        committed = {p: await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        await consumer.stop()
    assert sum(offset or 0 for offset in committed.values()) == len(first)

    await _produce(bootstrap, topic, second)
    resumed = _consumer(bootstrap, topic, group)
    await resumed.start()
    try:
        records = await _drain(resumed, len(second))
    finally:
        await resumed.stop()
    assert sorted(r.key for r in records) == sorted(k.encode() for k in second)


async def test_uncommitted_records_are_redelivered_to_the_group(topic: str, bootstrap: str) -> None:
    group = f"{run_topic_prefix()}smoke-redelivery"
    keys = [f"c{i}" for i in range(3)]
    await _produce(bootstrap, topic, keys)

    consumer = _consumer(bootstrap, topic, group)
    await consumer.start()
    try:
        assert len(await _drain(consumer, len(keys))) == len(keys)
    finally:
        await consumer.stop()  # no commit: the group has not consumed anything

    again = _consumer(bootstrap, topic, group)
    await again.start()
    try:
        records = await _drain(again, len(keys))
    finally:
        await again.stop()
    assert sorted(r.key for r in records) == sorted(k.encode() for k in keys)
