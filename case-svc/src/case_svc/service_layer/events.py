"""Domain events -> CloudEvents envelopes with the case's sequence and region extensions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tongban_contracts import EventEnvelope
from tongban_contracts.events.case import EVENT_MODELS, SERVICE
from tongban_kit.events import new_envelope


def case_facts(
    *,
    case_id: str,
    number: str,
    basic_code: str,
    item_version: int,
    mode: str,
    receiving_region: str,
    handling_region: str,
    status: str,
) -> dict[str, Any]:
    """The fields every case event carries."""
    return {
        "case_id": case_id,
        "case_number": number,
        "basic_code": basic_code,
        "item_version": item_version,
        "mode": mode,
        "receiving_region": receiving_region,
        "handling_region": handling_region,
        "status": status,
    }


def build_envelope(
    name: str,
    facts: Mapping[str, Any],
    *,
    sequence: int,
    occurred_at: datetime,
    actor: Mapping[str, Any] | None,
    details: Mapping[str, Any],
) -> EventEnvelope:
    """Validate the payload against its contract model and wrap it (key = case id)."""
    model = EVENT_MODELS[name]
    payload = model.model_validate(
        {**details, **facts, "occurred_at": occurred_at, "actor": dict(actor) if actor else None}
    )
    return new_envelope(
        SERVICE,
        name,
        subject=str(facts["case_id"]),
        time=occurred_at,
        sequence=sequence,
        extensions={
            "receivingregion": str(facts["receiving_region"]),
            "handlingregion": str(facts["handling_region"]),
        },
        data=payload.model_dump(mode="json"),
    )
