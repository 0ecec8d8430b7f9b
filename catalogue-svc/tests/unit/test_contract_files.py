"""The committed OpenAPI document and event schemas are what the code generates, and they are sound."""

from __future__ import annotations

import json

from catalogue_svc.entrypoints import contracts
from jsonschema import Draft202012Validator


def test_openapi_document_is_not_stale() -> None:
    committed = contracts.OPENAPI_PATH.read_text(encoding="utf-8")
    assert committed == contracts.openapi_text(), "run: python -m catalogue_svc.entrypoints.contracts"


def test_event_schemas_are_not_stale() -> None:
    for path, text in contracts.event_schema_texts().items():
        assert path.exists(), f"missing {path.name}: run python -m catalogue_svc.entrypoints.contracts"
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale"


def test_every_event_schema_is_a_valid_json_schema_named_after_its_type() -> None:
    names = set()
    for path in contracts.event_schema_texts():
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == f"urn:tongban:schema:{path.stem}"
        assert schema["title"] == path.stem
        names.add(path.stem)
    assert names == {
        "cn.gov.tongban.catalogue.item-published.v1",
        "cn.gov.tongban.catalogue.item-retired.v1",
        "cn.gov.tongban.catalogue.region-implementation-changed.v1",
    }


def test_openapi_lists_every_route_of_issue_3() -> None:
    paths = json.loads(contracts.OPENAPI_PATH.read_text(encoding="utf-8"))["paths"]
    expected = {
        "/v1/items": {"get", "post"},
        "/v1/items/{basic_code}": {"get"},
        "/v1/items/{basic_code}/versions": {"get"},
        "/v1/items/{basic_code}/versions/{number}": {"get"},
        "/v1/items/{basic_code}/diff": {"get"},
        "/v1/items/{basic_code}/draft": {"get", "post", "patch"},
        "/v1/items/{basic_code}/draft/publish": {"post"},
        "/v1/items/{basic_code}/retire": {"post"},
        "/v1/items/{basic_code}/regions/{region}": {"get", "put"},
        "/v1/items/{basic_code}/faqs": {"get", "post"},
        "/v1/faqs": {"get"},
        "/v1/items/{basic_code}/guide": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path


def test_published_documents_validate_against_the_event_schema() -> None:
    from datetime import UTC, datetime

    from catalogue_svc.seed import load_seed
    from catalogue_svc.service_layer.documents import version_document

    schema = json.loads(
        (contracts.SCHEMA_DIR / "cn.gov.tongban.catalogue.item-published.v1.json").read_text(encoding="utf-8")
    )
    validator = Draft202012Validator(schema)
    for seed_item in load_seed().items:
        item, _ = seed_item.materialise(now=datetime(2026, 1, 1, tzinfo=UTC))
        assert item.current is not None
        errors = list(validator.iter_errors(version_document(item.current)))
        assert errors == [], seed_item.basic_code
