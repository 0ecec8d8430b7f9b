"""Regenerate the eseal event JSON Schemas in contracts/schemas (``python -m eseal_svc.schemas``)."""

from __future__ import annotations

import json
from pathlib import Path

from tongban_contracts import dataschema_for, event_type
from tongban_contracts.events.eseal import EVENTS, SERVICE

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "contracts" / "schemas"


def render_all() -> dict[str, str]:
    """File name to JSON text of each event type's schema."""
    out: dict[str, str] = {}
    for name, model in EVENTS.items():
        ce_type = event_type(SERVICE, name)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": dataschema_for(ce_type),
            "title": ce_type,
            **model.model_json_schema(),
        }
        out[f"{ce_type}.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def main() -> None:
    """Write every schema."""
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")


if __name__ == "__main__":
    main()
