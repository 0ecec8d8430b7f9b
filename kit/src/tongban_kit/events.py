"""CloudEvents binary mode for Kafka, through the CloudEvents SDK, plus the W3C traceparent header."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from tongban_contracts.envelope import EventEnvelope, dataschema_for, event_type, source_for

from tongban_kit.ids import new_id

_FORMAT = JSONFormat()
_CORE = {"id", "type", "source", "subject", "time", "dataschema", "datacontenttype", "specversion"}


def new_envelope(
    service: str,
    name: str,
    *,
    subject: str,
    data: Mapping[str, Any],
    sequence: int | None = None,
    time: datetime | None = None,
    extensions: Mapping[str, str] | None = None,
) -> EventEnvelope:
    """A new event of one of a service's types: a fresh id, its CloudEvents type, source and dataschema."""
    ce_type = event_type(service, name)
    return EventEnvelope(
        id=new_id(),
        type=ce_type,
        source=source_for(service),
        subject=subject,
        dataschema=dataschema_for(ce_type),
        sequence=sequence,
        extensions=dict(extensions or {}),
        data=dict(data),
        **({"time": time} if time is not None else {}),
    )


def to_cloudevent(envelope: EventEnvelope) -> CloudEvent:
    """Build the SDK's CloudEvent from our envelope."""
    attributes: dict[str, Any] = {
        "id": envelope.id,
        "type": envelope.type,
        "source": envelope.source,
        "subject": envelope.subject,
        "time": envelope.time,
        "datacontenttype": envelope.datacontenttype,
        "specversion": "1.0",
    }
    if envelope.dataschema:
        attributes["dataschema"] = envelope.dataschema
    if envelope.sequence is not None:
        attributes["sequence"] = str(envelope.sequence)
    attributes.update(envelope.extensions)
    return CloudEvent(attributes, envelope.data)


def to_kafka(envelope: EventEnvelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Encode an envelope as (key, value, headers) in the Kafka binding's binary mode."""
    message = to_binary(to_cloudevent(envelope), _FORMAT, key_mapper=lambda ev: ev.get_subject())
    headers = list(message.headers.items())
    if envelope.traceparent:
        headers.append(("traceparent", envelope.traceparent.encode()))
    key = message.key if isinstance(message.key, bytes) else (message.key or "").encode()
    return key, message.value, headers


def from_kafka(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]] | Iterable[tuple[str, bytes]]
) -> EventEnvelope:
    """Decode a binary-mode Kafka record into an envelope."""
    header_map = {k: v for k, v in headers}
    traceparent = header_map.pop("traceparent", None)
    event = from_binary(KafkaMessage(headers=header_map, key=None, value=value or b"{}"), _FORMAT)
    attrs = event.get_attributes()
    extensions = {k: str(v) for k, v in attrs.items() if k not in _CORE and k != "sequence"}
    sequence = attrs.get("sequence")
    data = event.get_data()
    return EventEnvelope(
        id=event.get_id(),
        type=event.get_type(),
        source=event.get_source(),
        subject=event.get_subject() or (key or b"").decode(),
        time=event.get_time() or attrs.get("time"),
        dataschema=event.get_dataschema(),
        datacontenttype=event.get_datacontenttype() or "application/json",
        sequence=int(sequence) if sequence is not None else None,
        extensions=extensions,
        traceparent=traceparent.decode() if traceparent else None,
        data=data if isinstance(data, dict) else {},
    )
