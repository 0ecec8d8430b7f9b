"""Domain events → CloudEvents envelopes on the catalogue topic, payloads checked by the contract models."""

from __future__ import annotations

from typing import Any

from tongban_contracts import EventEnvelope
from tongban_contracts.events.catalogue import EVENT_MODELS, SERVICE
from tongban_kit.events import new_envelope

from catalogue_svc.domain.events import DomainEvent, ItemPublished, ItemRetired, RegionImplementationChanged
from catalogue_svc.service_layer.documents import implementation_document, version_document


def event_payload(event: DomainEvent, *, sequence: int) -> dict[str, Any]:
    """The event's data as the contract defines it (validated, JSON-compatible)."""
    data: dict[str, Any]
    if isinstance(event, ItemPublished):
        data = version_document(event.version)
    elif isinstance(event, ItemRetired):
        assert event.version.retired_at is not None
        data = {
            "basic_code": event.version.basic_code,
            "version": event.version.number,
            "retired_at": event.version.retired_at.isoformat(),
        }
    elif isinstance(event, RegionImplementationChanged):
        data = implementation_document(
            event.implementation,
            item_version=event.item_version,
            revision=sequence,
            updated_at=event.occurred_at,
        )
    else:  # pragma: no cover - the union is exhaustive
        raise TypeError(f"unknown event {event!r}")
    return EVENT_MODELS[event.event_name].model_validate(data).model_dump(mode="json")


def to_envelope(event: DomainEvent, *, sequence: int) -> EventEnvelope:
    """Wrap a domain event: key and subject are the aggregate key, sequence its revision."""
    return new_envelope(
        SERVICE,
        event.event_name,
        subject=event.key,
        time=event.occurred_at,
        sequence=sequence,
        data=event_payload(event, sequence=sequence),
    )
