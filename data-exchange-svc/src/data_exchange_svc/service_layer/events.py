"""Emit the hub's events to the exchange audit topic through the outbox."""

from __future__ import annotations

from pydantic import BaseModel
from tongban_contracts import EventEnvelope, dataschema_for, event_type, source_for
from tongban_contracts.topics import EXCHANGE_AUDIT
from tongban_kit.ids import new_id
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork

SERVICE = "exchange"
LOG_SUBJECT = "exchange-log"


def envelope(name: str, subject: str, sequence: int, data: BaseModel) -> EventEnvelope:
    """The CloudEvent of one of the hub's events."""
    ce_type = event_type(SERVICE, name)
    return EventEnvelope(
        id=new_id(),
        type=ce_type,
        source=source_for(SERVICE),
        subject=subject,
        sequence=sequence,
        dataschema=dataschema_for(ce_type),
        data=data.model_dump(mode="json"),
    )


def emit(
    uow: UnitOfWork, settings: ServiceSettings, name: str, subject: str, sequence: int, data: BaseModel
) -> EventEnvelope:
    """Write one event into the outbox in the unit of work's transaction."""
    event = envelope(name, subject, sequence, data)
    uow.emit(settings.topic(EXCHANGE_AUDIT), event)
    return event
