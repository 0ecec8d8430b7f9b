"""Write (or check) the catalogue's contract files: the OpenAPI document and the event JSON Schemas.

``python -m catalogue_svc.entrypoints.contracts`` regenerates ``contracts/openapi/catalogue.json``
and ``contracts/schemas/cn.gov.tongban.catalogue.*.json``; ``--check`` exits 1 when one is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tongban_contracts.events.catalogue import EVENT_MODELS, SERVICE
from tongban_kit.contract_files import OPENAPI_DIR, SCHEMA_DIR, app_openapi, event_schema_files, render_json

REPO = OPENAPI_DIR.parents[1]
OPENAPI_PATH = OPENAPI_DIR / "catalogue.json"


def openapi_text() -> str:
    """The OpenAPI document of the app, as committed."""
    from catalogue_svc.config import Settings
    from catalogue_svc.main import create_app

    settings = Settings(env="test", database_url="sqlite+aiosqlite:///:memory:", load_seed=False)
    return render_json(app_openapi(lambda: create_app(settings)))


def event_schema_texts() -> dict[Path, str]:
    """One JSON Schema per catalogue event type, by file path."""
    files = event_schema_files(SERVICE, EVENT_MODELS, mode="serialization")
    return {SCHEMA_DIR / name: text for name, text in files.items()}


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
