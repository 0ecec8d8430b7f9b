"""The CloudEvents 1.0 envelope every Tongban event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
TYPE_PREFIX = "cn.gov.tongban"
SCHEMA_BASE = "urn:tongban:schema"


def event_type(svc: str, name: str, version: int = 1) -> str:
    """Build an event type such as ``cn.gov.tongban.case.submitted.v1``."""
    return f"{TYPE_PREFIX}.{svc}.{name}.v{version}"


def source_for(svc: str) -> str:
    """Return the CloudEvents source of a service, ``urn:tongban:<svc>``."""
    return f"urn:tongban:{svc}"


def dataschema_for(ce_type: str) -> str:
    """Return the schema URI of an event type (the file under contracts/schemas/)."""
    return f"{SCHEMA_BASE}:{ce_type}"


class EventEnvelope(BaseModel):
    """One event: CloudEvents attributes plus Tongban extensions and the JSON data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: str
    source: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    dataschema: str | None = None
    datacontenttype: str = "application/json"
    sequence: int | None = None
    extensions: dict[str, str] = Field(default_factory=dict)
    traceparent: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The Kafka message key: the aggregate id."""
        return self.subject
