"""Write (or check) contracts/openapi/identity.json from the app: `python -m identity_svc.openapi`."""

from __future__ import annotations

import sys
from typing import Any

from tongban_kit.contract_files import OPENAPI_DIR, render_json, write_files

from identity_svc.config import Settings
from identity_svc.main import create_app

TARGET = OPENAPI_DIR / "identity.json"


def document() -> dict[str, Any]:
    """The OpenAPI document of the identity app (no database or broker needed)."""
    settings = Settings(env="test", database_url="sqlite+aiosqlite:///:memory:")
    return create_app(settings).openapi()


def render() -> str:
    """The committed text form."""
    return render_json(document())


def main(argv: list[str]) -> int:
    """Write the file, or with --check exit 1 if it is stale."""
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale: run python -m identity_svc.openapi", file=sys.stderr)
            return 1
        return 0
    write_files(TARGET.parent, {TARGET.name: text})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
