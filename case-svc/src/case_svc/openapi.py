"""Regenerate case-svc's contract files: ``python -m case_svc.openapi`` (run from the repository root).

Writes contracts/openapi/case.json and one JSON Schema per case event type under contracts/schemas/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tongban_contracts import dataschema_for, event_type
from tongban_contracts.events.case import EVENT_MODELS, SERVICE

REPO = Path(__file__).resolve().parents[3]
OPENAPI_PATH = REPO / "contracts" / "openapi" / "case.json"
SCHEMA_DIR = REPO / "contracts" / "schemas"


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built without starting the app."""
    os.environ.setdefault("TONGBAN_ENV", "dev")
    from case_svc.config import Settings
    from case_svc.main import create_app

    return create_app(Settings()).openapi()


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema of each case event's data."""
    out = {}
    for name, model in EVENT_MODELS.items():
        ce_type = event_type(SERVICE, name)
        schema = model.model_json_schema()
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": dataschema_for(ce_type),
            **schema,
        }
        out[f"{ce_type}.json"] = schema
    return out


def render(doc: dict[str, Any]) -> str:
    """Stable JSON text of a document."""
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write the files."""
    OPENAPI_PATH.parent.mkdir(parents=True, exist_ok=True)
    OPENAPI_PATH.write_text(render(openapi_document()), encoding="utf-8")
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for file_name, schema in event_schemas().items():
        (SCHEMA_DIR / file_name).write_text(render(schema), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH.relative_to(REPO)} and {len(EVENT_MODELS)} schemas")


if __name__ == "__main__":
    main()
