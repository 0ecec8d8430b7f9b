"""What every service's event payloads share."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """Base of every event payload: immutable, and no field beyond the schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(Payload):
    """Who did it: the client, its region and organisation, and the person it acted for."""

    client_id: str
    region: str | None = None
    org: str | None = None
    on_behalf_of: str | None = None
