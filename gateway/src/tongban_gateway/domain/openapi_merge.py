"""Merge the services' OpenAPI documents into one under the gateway's path prefixes."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

COMPONENT_KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
)
_REF = re.compile(r"^#/components/([A-Za-z]+)/(.+)$")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def component_name(service: str, name: str) -> str:
    """``catalogue`` + ``Item`` -> ``catalogue.Item`` (a valid component key, unique per service)."""
    return f"{service}.{_NAME_UNSAFE.sub('_', name)}"


def _rewrite(node: Any, service: str) -> Any:
    """Copy a document fragment with every local ``$ref`` renamed into the service's namespace."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                match = _REF.match(value)
                out[key] = (
                    f"#/components/{match.group(1)}/{component_name(service, match.group(2))}"
                    if match
                    else value
                )
            else:
                out[key] = _rewrite(value, service)
        return out
    if isinstance(node, list):
        return [_rewrite(item, service) for item in node]
    return node


def _rename_security(requirements: Any, service: str) -> Any:
    """Security requirements name schemes by key, not by $ref, so they are renamed here."""
    if not isinstance(requirements, list):
        return requirements
    return [
        {component_name(service, name): scopes for name, scopes in req.items()}
        for req in requirements
        if isinstance(req, dict)
    ]


def merge_documents(
    base: Mapping[str, Any], services: Mapping[str, tuple[str, Mapping[str, Any]]]
) -> dict[str, Any]:
    """``base`` (the gateway's own document) plus each service's (name -> (prefix, document))."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, Any] = merged.setdefault("components", {})
    tags: list[dict[str, Any]] = merged.setdefault("tags", [])
    for service, (prefix, doc) in sorted(services.items()):
        doc = _rewrite(doc, service)
        global_security = _rename_security(doc.get("security"), service)
        tags.append({"name": service, "description": (doc.get("info") or {}).get("title", service)})
        for path, item in (doc.get("paths") or {}).items():
            if not isinstance(item, dict):
                continue
            new_item: dict[str, Any] = {}
            for method, operation in item.items():
                if isinstance(operation, dict) and method in _METHODS:
                    operation = dict(operation)
                    if "operationId" in operation:
                        operation["operationId"] = f"{service}.{operation['operationId']}"
                    operation["tags"] = [service, *(operation.get("tags") or [])]
                    if "security" in operation:
                        operation["security"] = _rename_security(operation["security"], service)
                    elif global_security:
                        operation["security"] = global_security
                new_item[method] = operation
            paths[prefix.rstrip("/") + path] = new_item
        for kind in COMPONENT_KINDS:
            entries = (doc.get("components") or {}).get(kind) or {}
            target = components.setdefault(kind, {})
            for name, value in entries.items():
                target[component_name(service, name)] = value
    merged["components"] = {kind: value for kind, value in components.items() if value}
    return merged


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
