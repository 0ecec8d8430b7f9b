"""Contracts: the committed OpenAPI document and event JSON Schemas are what the code generates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from eseal_svc import openapi
from eseal_svc.schemas import SCHEMA_DIR, render_all
from jsonschema import Draft202012Validator
from tongban_contracts.events.eseal import EVENTS


def test_openapi_document_is_not_stale() -> None:
    committed = openapi.TARGET.read_text(encoding="utf-8")
    assert committed == openapi.render(), "run: .venv/bin/python -m eseal_svc.openapi"


def test_openapi_documents_scopes_problems_and_media_types() -> None:
    doc = json.loads(openapi.TARGET.read_text(encoding="utf-8"))
    paths = doc["paths"]
    assert {"403", "404", "409", "422"} <= set(paths["/v1/signatures"]["post"]["responses"])
    assert (
        "application/problem+json"
        in paths["/v1/seals/{seal_id}/revoke"]["post"]["responses"]["428"]["content"]
    )
    assert "image/png" in paths["/v1/seals/{seal_id}/image"]["get"]["responses"]["200"]["content"]
    assert "application/vc+jwt" in paths["/v1/status-lists/{list_id}"]["get"]["responses"]["200"]["content"]
    assert {"/v1/licences/verify", "/v1/trust", "/v1/trust/anchors", "/v1/trust/issuers"} <= set(paths)


def test_event_schemas_are_not_stale() -> None:
    rendered = render_all()
    assert set(rendered) == {f"cn.gov.tongban.eseal.{name}.v1.json" for name in EVENTS}
    for name, text in rendered.items():
        path = SCHEMA_DIR / name
        assert path.exists(), f"missing {path}; run: .venv/bin/python -m eseal_svc.schemas"
        assert path.read_text(encoding="utf-8") == text, f"stale {path}"
        Draft202012Validator.check_schema(json.loads(text))


def test_a_seal_revoked_event_validates_against_its_schema() -> None:
    schema = json.loads(
        (SCHEMA_DIR / "cn.gov.tongban.eseal.seal-revoked.v1.json").read_text(encoding="utf-8")
    )
    event = {
        "seal_id": "s",
        "es_id": "310000-s",
        "uscc": "11310000MB3100001H",
        "org_name": "上海市政务服务平台",
        "region": "310000",
        "algorithm": "SM2_SM3",
        "revoked_at": datetime(2026, 11, 27, tzinfo=UTC).isoformat(),
        "recorded_at": datetime(2026, 11, 27, tzinfo=UTC).isoformat(),
        "reason": None,
        "version": 2,
        "actor": {"client_id": "admin-dev"},
    }
    Draft202012Validator(schema).validate(event)
    assert list(Draft202012Validator(schema).iter_errors({**event, "algorithm": "RSA"}))
    assert list(Draft202012Validator(schema).iter_errors({**event, "private_key": "x"}))
