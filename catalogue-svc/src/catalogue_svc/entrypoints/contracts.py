"""Write (or check) the catalogue's contract files: the OpenAPI document and the event JSON Schemas.

``python -m catalogue_svc.entrypoints.contracts`` regenerates ``contracts/openapi/catalogue.json``
and ``contracts/schemas/cn.gov.tongban.catalogue.*.json``; ``--check`` exits 1 when one is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tongban_contracts import dataschema_for, event_type
from tongban_contracts.events.catalogue import EVENT_MODELS, SERVICE

REPO = Path(__file__).resolve().parents[4]
CONTRACTS = REPO / "contracts"
OPENAPI_PATH = CONTRACTS / "openapi" / "catalogue.json"
SCHEMA_DIR = CONTRACTS / "schemas"


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def openapi_text() -> str:
    """The OpenAPI document of the app, as committed."""
    from catalogue_svc.config import Settings
    from catalogue_svc.main import create_app

    app = create_app(Settings(env="test", database_url="sqlite+aiosqlite:///:memory:", load_seed=False))
    return _dump(app.openapi())


def event_schema_texts() -> dict[Path, str]:
    """One JSON Schema per catalogue event type, by file path."""
    out: dict[Path, str] = {}
    for name, model in EVENT_MODELS.items():
        ce_type = event_type(SERVICE, name)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": dataschema_for(ce_type),
            **model.model_json_schema(mode="serialization"),
        }
        out[SCHEMA_DIR / f"{ce_type}.json"] = _dump(schema)
    return out


def expected_files() -> dict[Path, str]:
    """Every contract file this service owns, with its expected content."""
    return {OPENAPI_PATH: openapi_text(), **event_schema_texts()}


def stale_files() -> list[Path]:
    """The files whose committed content differs from what the code generates."""
    return [
        p for p, text in expected_files().items() if not p.exists() or p.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str]) -> int:
    """Write the files, or with --check report the stale ones."""
    if "--check" in argv:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(REPO)}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
