"""Write (or check) the JSON Schemas of the audit events: `python -m identity_svc.event_schemas`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tongban_contracts import dataschema_for, event_type
from tongban_contracts.events.identity import EVENTS, SERVICE

from identity_svc.main import SERVICE_ROOT

SCHEMA_DIR = SERVICE_ROOT.parent / "contracts" / "schemas"


def schemas() -> dict[Path, str]:
    """File path -> JSON text of each audit event type's payload schema."""
    out: dict[Path, str] = {}
    for name, model in EVENTS.items():
        ce_type = event_type(SERVICE, name)
        schema: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": dataschema_for(ce_type),
            **model.model_json_schema(),
        }
        schema["title"] = ce_type
        out[SCHEMA_DIR / f"{ce_type}.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str]) -> int:
    """Write the files, or with --check exit 1 if one is stale."""
    stale = 0
    for path, text in schemas().items():
        if "--check" in argv:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path} is stale", file=sys.stderr)
                stale += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
