"""Regenerate case-svc's contract files: ``python -m case_svc.openapi``.

Writes contracts/openapi/case.json and one JSON Schema per case event type under contracts/schemas/.
"""

from __future__ import annotations

from typing import Any

from tongban_contracts.events.case import EVENT_MODELS, SERVICE
from tongban_kit.contract_files import (
    OPENAPI_DIR,
    SCHEMA_DIR,
    app_openapi,
    event_schema_files,
    render_json,
    write_files,
)

__all__ = ["OPENAPI_PATH", "SCHEMA_DIR", "event_schemas", "main", "openapi_document", "render"]

OPENAPI_PATH = OPENAPI_DIR / "case.json"


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built without starting the app."""
    from case_svc.config import Settings
    from case_svc.main import create_app

    return app_openapi(lambda: create_app(Settings()))


def event_schemas() -> dict[str, str]:
    """File name -> JSON text of each case event's schema, as committed."""
    return event_schema_files(SERVICE, EVENT_MODELS)


def render(document: dict[str, Any]) -> str:
    """A document as committed."""
    return render_json(document)


def main() -> None:
    """Write the files."""
    write_files(OPENAPI_DIR, {OPENAPI_PATH.name: render(openapi_document())})
    write_files(SCHEMA_DIR, event_schemas())


if __name__ == "__main__":
    main()
