"""Generating the committed contract files: OpenAPI documents and event JSON Schemas."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from tongban_contracts.envelope import dataschema_for, event_type

# kit/src/tongban_kit/ -> the repository root, where contracts/ lives beside the services.
CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
OPENAPI_DIR = CONTRACTS_DIR / "openapi"
SCHEMA_DIR = CONTRACTS_DIR / "schemas"


def render_json(document: Any) -> str:
    """A document as committed: indented, keys in their order, UTF-8, trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def event_schema_files(
    service: str,
    models: Mapping[str, type[BaseModel]],
    *,
    mode: Literal["validation", "serialization"] = "validation",
) -> dict[str, str]:
    """File name to JSON text of each event type's JSON Schema (draft 2020-12)."""
    out: dict[str, str] = {}
    for name, model in models.items():
        ce_type = event_type(service, name)
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": dataschema_for(ce_type),
            "title": ce_type,
            **model.model_json_schema(mode=mode),
        }
        out[f"{ce_type}.json"] = render_json(schema)
    return out


def app_openapi(build_app: Callable[[], Any]) -> dict[str, Any]:
    """The OpenAPI document of an app built (not started) by ``build_app``, in dev mode."""
    os.environ.setdefault("TONGBAN_ENV", "dev")
    document: dict[str, Any] = build_app().openapi()
    return document


def write_files(directory: Path, files: Mapping[str, str]) -> None:
    """Write generated files and say so."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        print(f"wrote {directory / name}")
