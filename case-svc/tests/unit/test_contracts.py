"""The committed contract files are what the code generates (run `python -m case_svc.openapi` to update)."""

from __future__ import annotations

import json

import jsonschema
from case_svc.openapi import OPENAPI_PATH, SCHEMA_DIR, event_schemas, openapi_document, render
from tongban_contracts import event_type
from tongban_contracts.events.case import EVENT_MODELS


def test_openapi_document_is_not_stale() -> None:
    committed = OPENAPI_PATH.read_text(encoding="utf-8")
    assert committed == render(openapi_document()), (
        "contracts/openapi/case.json is stale: python -m case_svc.openapi"
    )


def test_event_schemas_are_not_stale_and_cover_every_event_type() -> None:
    generated = event_schemas()
    assert set(generated) == {f"{event_type('case', name)}.json" for name in EVENT_MODELS}
    for file_name, text in generated.items():
        path = SCHEMA_DIR / file_name
        assert path.read_text(encoding="utf-8") == text, f"{file_name} is stale"
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_openapi_documents_the_conventions() -> None:
    doc = openapi_document()
    accept = doc["paths"]["/v1/cases/{case_id}/accept"]["post"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in accept["parameters"])
    assert {"409", "412", "428"} <= set(accept["responses"])
    assert "ETag" in doc["paths"]["/v1/cases/{case_id}"]["get"]["responses"]["200"]["headers"]
    assert doc["paths"]["/v1/cases"]["post"]["summary"]
