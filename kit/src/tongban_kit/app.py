"""One app factory for every service: problems, middleware, health, metrics, tracing, database, Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tongban_kit import idempotency
from tongban_kit.auth import JWKSVerifier
from tongban_kit.db import make_engine, make_session_factory
from tongban_kit.health import health_router
from tongban_kit.inbox import InboxConsumer
from tongban_kit.kafka import KafkaConnector
from tongban_kit.memory import freeze_startup_objects
from tongban_kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from tongban_kit.migrations import upgrade_async
from tongban_kit.observability import MetricsMiddleware, setup_logging, setup_tracing
from tongban_kit.outbox import OutboxRelay, OutboxSignal
from tongban_kit.problems import install_problem_handlers
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork

log = structlog.get_logger("tongban.app")

Hook = Callable[["ServiceRuntime"], Awaitable[None]]
ConsumerFactory = Callable[["ServiceRuntime"], Sequence[InboxConsumer]]


@dataclass
class ServiceRuntime:
    """Everything a running service holds: settings, database, Kafka, relay, verifier, consumers."""

    service: str
    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    signal: OutboxSignal
    kafka: KafkaConnector
    verifier: JWKSVerifier
    relay: OutboxRelay | None = None
    consumers: list[InboxConsumer] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> UnitOfWork:
        """A new unit of work bound to this service's database and relay."""
        return UnitOfWork(self.session_factory, self.signal)

    async def database_ready(self) -> bool:
        """Readiness check of the database."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run a background task that stops with the app."""
        self.tasks.append(asyncio.ensure_future(coro))
        self.tasks[-1].set_name(name)


def runtime_of(request: Request) -> ServiceRuntime:
    """The running service's runtime, seen from a request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


# Dependencies are coroutines: FastAPI runs a plain ``def`` dependency in a worker thread, and the
# hop to and from that thread cost more than everything these functions do.
async def get_runtime(request: Request) -> ServiceRuntime:
    """Dependency: the running service's runtime."""
    return runtime_of(request)


async def get_uow(request: Request) -> UnitOfWork:
    """Dependency: a fresh unit of work."""
    return runtime_of(request).uow()


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]


def create_service_app(
    *,
    service: str,
    title: str,
    description: str,
    settings: ServiceSettings,
    service_root: Path,
    routers: Sequence[APIRouter],
    topics: dict[str, dict[str, str]] | None = None,
    consumers: ConsumerFactory | None = None,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    body_limit_overrides: dict[str, int] | None = None,
    relay: bool = True,
    relay_linger_seconds: float = 0.0,
    version: str = "1.0.0",
) -> FastAPI:
    """Build a service app; its lifespan migrates (dev/test), connects, relays and consumes."""
    setup_logging(service, settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pre_ping=settings.db_pre_ping,
        )
        if settings.should_migrate:
            await upgrade_async(service_root, settings.database_url)
        setup_tracing(service, engine=engine)
        signal = OutboxSignal(engine)
        runtime = ServiceRuntime(
            service=service,
            settings=settings,
            engine=engine,
            session_factory=make_session_factory(engine),
            signal=signal,
            kafka=KafkaConnector(settings, ensure=topics),
            verifier=JWKSVerifier(settings.jwks_url, settings.issuer, f"urn:tongban:{service}"),
        )
        app.state.runtime = runtime
        app.state.verifier = runtime.verifier
        runtime.kafka.on_connect = signal.notify  # events written before the broker answered go out now
        runtime.kafka.start()
        for hook in on_startup:
            await hook(runtime)
        if settings.gc_freeze:
            freeze_startup_objects()
        if relay:
            runtime.relay = OutboxRelay(
                engine,
                runtime.session_factory,
                runtime.kafka,
                signal,
                linger_seconds=relay_linger_seconds,
                retention_seconds=settings.outbox_retention_hours * 3600,
                housekeeping=[idempotency.purge_expired],
            )
            runtime.spawn(runtime.relay.run(), "outbox-relay")
        if consumers is not None:
            runtime.consumers = list(consumers(runtime))
            for consumer in runtime.consumers:
                consumer.start()
        log.info("service started", port=settings.port)
        try:
            yield
        finally:
            for hook in on_shutdown:
                with contextlib.suppress(Exception):
                    await hook(runtime)
            for consumer in runtime.consumers:
                await consumer.stop()
            if runtime.relay is not None:
                runtime.relay.stop()
            for task in runtime.tasks:
                task.cancel()
            for task in runtime.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, 5)
            await runtime.kafka.stop()
            await engine.dispose()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_problem_handlers(app)

    async def db_check() -> bool:
        return await app.state.runtime.database_ready()  # type: ignore[no-any-return]

    async def kafka_check() -> bool:
        return await app.state.runtime.kafka.ready()  # type: ignore[no-any-return]

    app.include_router(health_router({"database": db_check, "kafka": kafka_check}))
    for router in routers:
        app.include_router(router)
    setup_tracing(service, app=app)
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, overrides=body_limit_overrides
    )
    app.add_middleware(MetricsMiddleware, service=service)
    app.add_middleware(RequestContextMiddleware)
    return app
