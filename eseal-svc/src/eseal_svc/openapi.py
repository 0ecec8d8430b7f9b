"""Regenerate ``contracts/openapi/eseal.json`` (``python -m eseal_svc.openapi``)."""

from __future__ import annotations

from typing import Any

from tongban_kit.contract_files import OPENAPI_DIR, app_openapi, render_json, write_files

TARGET = OPENAPI_DIR / "eseal.json"


def document() -> dict[str, Any]:
    """The OpenAPI document of the app (built without starting it)."""
    from eseal_svc.config import Settings
    from eseal_svc.main import create_app

    return app_openapi(lambda: create_app(Settings()))


def render() -> str:
    """The document as committed."""
    return render_json(document())


def main() -> None:
    """Write the document."""
    write_files(TARGET.parent, {TARGET.name: render()})


if __name__ == "__main__":
    main()
