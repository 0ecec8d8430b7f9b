"""Regenerate ``contracts/openapi/eseal.json`` (``python -m eseal_svc.openapi``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
TARGET = REPO_ROOT / "contracts" / "openapi" / "eseal.json"


def document() -> dict[str, Any]:
    """The OpenAPI document of the app (built without starting it)."""
    os.environ.setdefault("TONGBAN_ENV", "dev")
    from eseal_svc.config import Settings
    from eseal_svc.main import create_app

    spec: dict[str, Any] = create_app(Settings()).openapi()
    return spec


def render() -> str:
    """The document as committed: indented, keys in order, UTF-8, trailing newline."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Write the document."""
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
