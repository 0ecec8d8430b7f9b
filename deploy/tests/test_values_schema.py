"""values.schema.json describes every value, and its enumerations follow the code."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from deploy_chart import CHART, COMPONENTS, PRODUCTION_EXAMPLE

SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
VALUES = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))


def walk(values: dict[str, Any], schema: dict[str, Any], path: str = "") -> list[str]:
    """Paths of values.yaml that the schema does not describe (with a description)."""
    undocumented = []
    for key, value in values.items():
        here = f"{path}.{key}" if path else key
        props = schema.get("properties", {})
        if key in props:
            node = props[key]
        elif isinstance(schema.get("additionalProperties"), dict):
            node = schema["additionalProperties"]
        else:
            undocumented.append(here)
            continue
        if "description" not in node and "$ref" not in node:
            undocumented.append(here)
        if isinstance(value, dict) and node.get("properties"):
            undocumented += walk(value, node, here)
    return undocumented


def test_every_value_is_described() -> None:
    assert walk(VALUES, SCHEMA) == []


def test_schema_covers_no_value_that_does_not_exist() -> None:
    def stale(schema: dict[str, Any], values: dict[str, Any], path: str = "") -> list[str]:
        found = []
        for key, node in schema.get("properties", {}).items():
            here = f"{path}.{key}" if path else key
            if key not in values:
                found.append(here)
            elif node.get("properties") and isinstance(values[key], dict):
                found += stale(node, values[key], here)
        return found

    assert stale(SCHEMA, VALUES) == []


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", PRODUCTION_EXAMPLE])
def test_values_files_satisfy_the_schema(values_file) -> None:
    values = yaml.safe_load(values_file.read_text(encoding="utf-8"))
    jsonschema.validate(values, SCHEMA)


def test_a_typo_is_refused() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**VALUES, "case": {**VALUES["case"], "replicas": 3}}, SCHEMA)


def test_topic_names_follow_the_contracts() -> None:
    from tongban_contracts.topics import ALL_TOPICS

    overrides = SCHEMA["properties"]["kafka"]["properties"]["topics"]["properties"]["overrides"]
    assert set(overrides["propertyNames"]["enum"]) == set(ALL_TOPICS)
    assert set(VALUES["kafka"]["topics"]["overrides"]) <= set(ALL_TOPICS)


def test_components_are_the_mesh() -> None:
    assert set(COMPONENTS) <= set(SCHEMA["properties"])
    for name in COMPONENTS:
        allow = SCHEMA["properties"][name]["properties"]["allowFrom"]["items"]["enum"]
        assert allow == list(COMPONENTS)
    assert "databaseUrl" not in SCHEMA["properties"]["gateway"]["properties"]
