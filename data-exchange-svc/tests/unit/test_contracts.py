"""Contracts: the committed OpenAPI document and event JSON Schemas are what the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from data_exchange_svc import openapi
from data_exchange_svc.schemas import SCHEMA_DIR, render_all
from jsonschema import Draft202012Validator
from tongban_contracts.events.exchange import EVENTS


def test_openapi_document_is_not_stale() -> None:
    committed = openapi.TARGET.read_text(encoding="utf-8")
    assert committed == openapi.render(), "run: .venv/bin/python -m data_exchange_svc.openapi"


def test_openapi_documents_the_problem_responses() -> None:
    doc = json.loads(openapi.TARGET.read_text(encoding="utf-8"))
    query = doc["paths"]["/v1/queries"]["post"]
    assert {"403", "429", "503", "504"} <= set(query["responses"])
    assert "application/problem+json" in query["responses"]["504"]["content"]


def test_event_schemas_are_not_stale() -> None:
    rendered = render_all()
    assert set(rendered) == {f"cn.gov.tongban.exchange.{name}.v1.json" for name in EVENTS}
    for name, text in rendered.items():
        path: Path = SCHEMA_DIR / name
        assert path.exists(), f"missing {path}; run: .venv/bin/python -m data_exchange_svc.schemas"
        assert path.read_text(encoding="utf-8") == text, f"stale {path}"
        Draft202012Validator.check_schema(json.loads(text))


def test_a_query_logged_event_validates_against_its_schema() -> None:
    schema = json.loads(
        (SCHEMA_DIR / "cn.gov.tongban.exchange.query-logged.v1.json").read_text(encoding="utf-8")
    )
    event = {
        "entry_id": "e",
        "seq": 1,
        "at": "2026-11-27T08:00:00Z",
        "client_id": "platform-440000",
        "actor": {"client_id": "platform-440000", "region": "440000"},
        "resource_id": "r",
        "subject_hash": "h",
        "case_id": "c",
        "item_code": "XK00003001",
        "mode": "share",
        "fields": ["name"],
        "outcome": "allowed",
        "reason": None,
        "latency_ms": 3,
        "prev_hash": "0" * 64,
        "hash": "1" * 64,
    }
    Draft202012Validator(schema).validate(event)
    bad = {**event, "outcome": "maybe"}
    assert list(Draft202012Validator(schema).iter_errors(bad))
