"""Emit the hub's events to the exchange audit topic through the outbox."""

from __future__ import annotations

from pydantic import BaseModel
from tongban_contracts import EventEnvelope
from tongban_contracts.topics import EXCHANGE_AUDIT
from tongban_kit.events import new_envelope
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork

SERVICE = "exchange"
LOG_SUBJECT = "exchange-log"


def envelope(name: str, subject: str, sequence: int, data: BaseModel) -> EventEnvelope:
    """The CloudEvent of one of the hub's events."""
    return new_envelope(SERVICE, name, subject=subject, sequence=sequence, data=data.model_dump(mode="json"))


def emit(
    uow: UnitOfWork, settings: ServiceSettings, name: str, subject: str, sequence: int, data: BaseModel
) -> EventEnvelope:
    """Write one event into the outbox in the unit of work's transaction."""
    event = envelope(name, subject, sequence, data)
    uow.emit(settings.topic(EXCHANGE_AUDIT), event)
    return event
