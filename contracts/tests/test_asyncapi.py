"""The AsyncAPI document matches the event schemas, and every schema is a valid JSON Schema."""

import importlib.util
import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]
TYPE_RE = re.compile(r"^cn\.gov\.tongban\.(catalogue|case|identity|eseal|exchange)\.[a-z0-9-]+\.v[0-9]+$")


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_asyncapi", ROOT / "scripts" / "gen_asyncapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_asyncapi_is_not_stale() -> None:
    gen = _generator()
    assert (ROOT / "asyncapi.yaml").read_text() == gen.render(), (
        "run: python contracts/scripts/gen_asyncapi.py"
    )


def test_every_schema_is_valid_and_named_by_its_event_type() -> None:
    for path in (ROOT / "schemas").glob("*.json"):
        assert TYPE_RE.match(path.stem), f"{path.name} is not named after an event type"
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_every_schema_has_a_message_in_asyncapi() -> None:
    doc = _generator().build()
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {p.stem for p in (ROOT / "schemas").glob("*.json")}
