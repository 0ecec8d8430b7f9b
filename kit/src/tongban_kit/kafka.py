"""Kafka connection that never blocks startup: connects in the background and reports readiness."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from opentelemetry import context as otel_context
from opentelemetry import propagate

from tongban_kit.outbox import Publisher
from tongban_kit.settings import ServiceSettings

log = structlog.get_logger("tongban.kafka")


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and admin clients (SASL/TLS when configured)."""
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        opts.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        opts["ssl_context"] = create_ssl_context()
    return opts


async def ensure_topics(
    settings: ServiceSettings, topics: dict[str, dict[str, str]], partitions: int = 3
) -> None:
    """Create topics that do not exist yet (dev and tests; the Helm chart has its own job)."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(name), num_partitions=partitions, replication_factor=1, topic_configs=cfg
            )
            for name, cfg in topics.items()
            if settings.topic(name) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


def _producer_instrumented() -> bool:
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor

    return bool(AIOKafkaInstrumentor().is_instrumented_by_opentelemetry)


class KafkaConnector(Publisher):
    """Owns the idempotent producer; starts it in the background and retries until the broker answers."""

    def __init__(self, settings: ServiceSettings, *, ensure: dict[str, dict[str, str]] | None = None) -> None:
        self.settings = settings
        self.ensure = ensure or {}
        self.producer: AIOKafkaProducer | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_connect: Callable[[], None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the producer has connected once (aiokafka reconnects by itself after that)."""
        return self.producer is not None

    def start(self) -> None:
        """Begin connecting in the background."""
        self._task = asyncio.create_task(self._connect_forever(), name="kafka-connect")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            producer = AIOKafkaProducer(
                **client_options(self.settings),
                enable_idempotence=True,
                acks="all",
                linger_ms=2,
                request_timeout_ms=15000,
            )
            try:
                await producer.start()
                if self.ensure and self.settings.is_dev:
                    await ensure_topics(self.settings, self.ensure)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            except Exception as exc:
                log.info("kafka not reachable yet", error=str(exc))
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.producer = producer
            self._connected.set()
            if self.on_connect is not None:
                self.on_connect()
            log.info("kafka connected", bootstrap=self.settings.kafka_bootstrap)
            return

    async def wait_connected(self, timeout: float | None = None) -> bool:
        """Wait for the first connection."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def send(self, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        """Send one message and wait for the broker's acknowledgement."""
        if self.producer is None:
            raise ConnectionError("kafka producer is not connected yet")
        traceparent = next((v for k, v in headers if k == "traceparent"), None)
        if traceparent is None or not _producer_instrumented():
            await self.producer.send_and_wait(topic, value=value, key=key, headers=headers)
            return
        # The aiokafka instrumentation appends its own traceparent; send inside the event's trace so
        # that header continues the request's trace instead of starting a new one.
        rest = [(k, v) for k, v in headers if k != "traceparent"]
        token = otel_context.attach(propagate.extract({"traceparent": traceparent.decode()}))
        try:
            await self.producer.send_and_wait(topic, value=value, key=key, headers=rest)
        finally:
            otel_context.detach(token)

    async def ready(self) -> bool:
        """Readiness: connected and the cluster answers a metadata request."""
        if self.producer is None:
            return False
        try:
            client = self.producer.client
            return bool(await asyncio.wait_for(client.fetch_all_metadata(), 2.0))
        except Exception:
            return False

    async def stop(self) -> None:
        """Stop connecting and close the producer."""
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.producer.stop(), 5)
