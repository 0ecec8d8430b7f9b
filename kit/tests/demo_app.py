"""A tiny service built with the kit's app factory, used by the kit's own tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from tongban_contracts.envelope import EventEnvelope, event_type, source_for
from tongban_kit import idempotency, inbox, outbox  # noqa: F401  (registers the kit tables)
from tongban_kit.app import RuntimeDep, ServiceRuntime, create_service_app
from tongban_kit.auth import Principal, require_scopes
from tongban_kit.db import Base
from tongban_kit.ids import new_id
from tongban_kit.inbox import InboxConsumer
from tongban_kit.settings import ServiceSettings

TOPIC = "tongban.demo.widget.v1"


class Widget(Base):
    """A demo aggregate."""

    __tablename__ = "demo_widgets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(Integer, default=0)


class Counter(Base):
    """Counts how often the demo consumer applied an event."""

    __tablename__ = "demo_counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class WidgetIn(BaseModel):
    """Request body."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class DemoSettings(ServiceSettings):
    """Settings of the demo."""

    model_config = ServiceSettings.model_config | {"env_prefix": "DEMO_"}


router = APIRouter()
WriterDep = Annotated[Principal, Depends(require_scopes("demo:write"))]


@router.post("/v1/widgets", status_code=201)
async def create_widget(body: WidgetIn, runtime: RuntimeDep, principal: WriterDep) -> dict[str, str]:
    """Create a widget and emit its event in the same transaction."""
    widget_id = new_id()
    async with runtime.uow() as uow:
        uow.session.add(Widget(id=widget_id, name=body.name, sequence=1))
        uow.emit(
            runtime.settings.topic(TOPIC),
            EventEnvelope(
                id=new_id(),
                type=event_type("demo", "widget-created"),
                source=source_for("demo"),
                subject=widget_id,
                sequence=1,
                extensions={"region": "440000"},
                data={"name": body.name, "by": principal.client_id},
            ),
        )
        await uow.commit()
    return {"id": widget_id}


@router.get("/v1/widgets/{widget_id}")
async def get_widget(widget_id: str, request: Request, runtime: RuntimeDep) -> dict[str, str]:
    """Read a widget."""
    async with runtime.session_factory() as session:
        widget = await session.get(Widget, widget_id)
    return {"id": widget_id, "name": widget.name if widget else ""}


async def count_event(session: AsyncSession, event: EventEnvelope) -> None:
    """The demo consumer's effect: increment a counter."""
    row = await session.get(Counter, "widgets")
    if row is None:
        session.add(Counter(name="widgets", value=1))
    else:
        row.value += 1


async def create_tables(runtime: ServiceRuntime) -> None:
    """The demo has no Alembic chain: create its tables directly."""
    async with runtime.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def counter_value(runtime: ServiceRuntime) -> int:
    """How many events the consumer applied."""
    async with runtime.session_factory() as session:
        row = (await session.execute(select(Counter.value).where(Counter.name == "widgets"))).scalar()
    return int(row or 0)


def create_app(settings: DemoSettings, *, consume: bool = False) -> object:
    """Build the demo app."""

    def consumers(runtime: ServiceRuntime) -> list[InboxConsumer]:
        if not consume:
            return []
        return [
            InboxConsumer(
                settings,
                runtime.session_factory,
                [TOPIC],
                "demo.counter",
                count_event,
                session_timeout_ms=6000,
            )
        ]

    return create_service_app(
        service="demo",
        title="Demo",
        description="Kit test service",
        settings=settings,
        service_root=Path(__file__).parent,
        routers=[router],
        topics={TOPIC: {}},
        consumers=consumers,
        on_startup=[create_tables],
    )


@router.get("/v1/boom")
async def boom() -> dict[str, str]:
    """Fail the way a bug would."""
    raise RuntimeError("secret internal detail")
