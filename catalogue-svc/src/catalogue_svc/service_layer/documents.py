"""The catalogue's public JSON shapes, built from the domain: the version document and its inverse.

The domain stores content in the national standard's flat form (``requirement``, ``result_type``,
``suspension_allowed`` …). The API and the ``item-published`` event speak the catalogue → case
contract instead (``required``, ``result.type``, ``suspension: {allowed, max_days}`` …). This module
is the one translation between the two, so GET responses and event payloads cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from catalogue_svc.domain.model import (
    FaqEntry,
    ItemContent,
    ItemVersion,
    MaterialRequirement,
    RegionImplementation,
)

# Document fields that are metadata of the version, not content (a diff ignores them).
VERSION_META_FIELDS = (
    "basic_code",
    "version",
    "status",
    "created_at",
    "updated_at",
    "published_at",
    "valid_from",
    "valid_to",
    "retired_at",
)

# Where a domain field lives in the document when its name differs.
_DOMAIN_TO_DOCUMENT_FIELD = {
    "suspension_allowed": "suspension",
    "suspension_max_days": "suspension",
    "extension_allowed": "extension",
    "extension_max_days": "extension",
}
_DOCUMENT_TO_DOMAIN_FIELDS = {
    "suspension": ("suspension_allowed", "suspension_max_days"),
    "extension": ("extension_allowed", "extension_max_days"),
}


def rfc3339(t: datetime) -> str:
    """A UTC instant as RFC 3339 with ``Z``, exactly as the event payloads serialise it."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _iso(t: datetime | None) -> str | None:
    return None if t is None else rfc3339(t)


def document_field(domain_field: str) -> str:
    """The document's name for a domain field path (``suspension_max_days`` → ``suspension.max_days``)."""
    head, _, rest = domain_field.partition(".")
    if head in _DOMAIN_TO_DOCUMENT_FIELD:
        return f"{_DOMAIN_TO_DOCUMENT_FIELD[head]}.{head.split('_', 1)[1]}"
    if head == "result" and rest.startswith("result_type"):
        return "result.type"
    if head == "materials" and rest.endswith(".requirement"):
        return f"materials.{rest.removesuffix('.requirement')}.required"
    return domain_field


def content_document(content: ItemContent) -> dict[str, Any]:
    """The content part of a version document."""
    raw = content.model_dump(mode="json")
    illustrative = sorted({_DOMAIN_TO_DOCUMENT_FIELD.get(n, n) for n in content.illustrative})
    return {
        "name": raw["name"],
        "item_type": raw["item_type"],
        "ministry": raw["ministry"],
        "legal_basis": raw["legal_basis"],
        "audience": raw["audience"],
        "acceptance_conditions": raw["acceptance_conditions"],
        "materials": [
            {
                "code": m["code"],
                "name": m["name"],
                "required": m["requirement"] == MaterialRequirement.REQUIRED.value,
                "condition": m["condition"],
                "originals": m["originals"],
                "copies": m["copies"],
                "licence_types": m["licence_types"],
                "exchange_fetchable": m["exchange_fetchable"],
                "exchange_domain": m["exchange_domain"],
                "description": m["description"],
            }
            for m in raw["materials"]
        ],
        "process_steps": raw["process_steps"],
        "statutory_limit_days": raw["statutory_limit_days"],
        "promised_limit_days": raw["promised_limit_days"],
        "suspension": {"allowed": raw["suspension_allowed"], "max_days": raw["suspension_max_days"]},
        "extension": {"allowed": raw["extension_allowed"], "max_days": raw["extension_max_days"]},
        "result": {
            "type": raw["result"]["result_type"],
            "name": raw["result"]["name"],
            "licence_type": raw["result"]["licence_type"],
        },
        "fees": raw["fees"],
        "modes": raw["modes"],
        "joint_roles": raw["joint_roles"],
        "illustrative": illustrative,
    }


def version_document(version: ItemVersion) -> dict[str, Any]:
    """The whole version as the API returns it and ``item-published`` carries it."""
    return {
        "basic_code": version.basic_code,
        "version": version.number,
        "status": version.state.value,
        **content_document(version.content),
        "created_at": _iso(version.created_at),
        "updated_at": _iso(version.updated_at),
        "published_at": _iso(version.published_at),
        "valid_from": _iso(version.valid_from),
        "valid_to": _iso(version.valid_to),
        "retired_at": _iso(version.retired_at),
    }


def content_changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Translate document-shaped content fields (all or some) into the domain's field names."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _DOCUMENT_TO_DOMAIN_FIELDS:
            allowed_field, max_field = _DOCUMENT_TO_DOMAIN_FIELDS[name]
            value = value or {}
            out[allowed_field] = value.get("allowed", False)
            out[max_field] = value.get("max_days")
        elif name == "materials":
            out[name] = [_material_to_domain(m) for m in value or ()]
        elif name == "result" and isinstance(value, Mapping):
            out[name] = {
                "result_type": value.get("type"),
                "name": value.get("name"),
                "licence_type": value.get("licence_type"),
            }
        elif name == "illustrative":
            out[name] = sorted({d for n in value or () for d in _DOCUMENT_TO_DOMAIN_FIELDS.get(n, (n,))})
        else:
            out[name] = value
    return out


def _material_to_domain(material: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in material.items() if k != "required"}
    required = material.get("required", True)
    data["requirement"] = (
        MaterialRequirement.REQUIRED.value if required else MaterialRequirement.CONDITIONAL.value
    )
    return data


def diff_documents(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Field-by-field difference of two version documents' content, in document field order."""
    return [
        {"field": name, "before": before.get(name), "after": after.get(name)}
        for name in after
        if name not in VERSION_META_FIELDS and before.get(name) != after.get(name)
    ]


def implementation_document(
    impl: RegionImplementation, *, item_version: int, revision: int, updated_at: datetime
) -> dict[str, Any]:
    """A region implementation as the API returns it and ``region-implementation-changed`` carries it."""
    raw = impl.model_dump(mode="json")
    return {
        "basic_code": raw["basic_code"],
        "region": raw["region"],
        "implementation_code": raw["implementation_code"],
        "version": item_version,
        "revision": revision,
        "handling_org": raw["handling_org"],
        "address": raw["address"],
        "hours": raw["hours"],
        "modes": raw["modes"],
        "joint_roles": raw["joint_roles"],
        "promised_limit_days": raw["promised_limit_days"],
        "fees": raw["fees"],
        "illustrative": raw["illustrative"],
        "updated_at": rfc3339(updated_at),
    }


def faq_document(faq_id: str, basic_code: str, faq: FaqEntry, *, created_at: datetime) -> dict[str, Any]:
    """One FAQ entry as the API returns it."""
    return {
        "id": faq_id,
        "basic_code": basic_code,
        "question": faq.question,
        "answer": faq.answer,
        "tags": list(faq.tags),
        "created_at": rfc3339(created_at),
    }
