#!/usr/bin/env python3
"""Generate contracts/asyncapi.yaml from the topic names and the event JSON Schemas under schemas/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from tongban_contracts import topics

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
OUTPUT = ROOT / "asyncapi.yaml"

TOPIC_OF_SERVICE = {
    "catalogue": topics.CATALOGUE_ITEMS,
    "case": topics.CASE_LIFECYCLE,
    "identity": topics.IDENTITY_AUDIT,
    "eseal": topics.ESEAL_LICENCES,
    "exchange": topics.EXCHANGE_AUDIT,
}
TOPIC_TEXT = {
    topics.CATALOGUE_ITEMS: "Published item versions, retirements and region implementations. Compacted; "
    "the key is the basic code (region implementations: basic_code/region).",
    topics.CASE_LIFECYCLE: "Every status change of every case; the key is the case id, so one case's events "
    "keep their order, and ce_sequence is gap-free per case.",
    topics.IDENTITY_AUDIT: "Audit events of identity-svc: logins, tokens, keys and clients.",
    topics.ESEAL_LICENCES: "Electronic licences issued, revoked or suspended, and seals revoked.",
    topics.EXCHANGE_AUDIT: "Every data-sharing query, allowed or refused.",
}


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def headers_schema(service: str, ce_type: str) -> dict[str, Any]:
    """The Kafka headers of one event type in CloudEvents binary mode."""
    props: dict[str, Any] = {
        "ce_specversion": _string("CloudEvents version", const="1.0"),
        "ce_id": _string("unique event id (UUIDv7); consumers deduplicate on it"),
        "ce_type": _string("event type", const=ce_type),
        "ce_source": _string("producing service", const=f"urn:tongban:{service}"),
        "ce_subject": _string("aggregate id, equal to the message key"),
        "ce_time": _string("when it happened (RFC 3339, UTC)", format="date-time"),
        "ce_dataschema": _string("URI of the payload's JSON Schema"),
        "ce_sequence": _string("per-aggregate sequence number, gap-free, as decimal text"),
        "content-type": _string("payload media type", const="application/json"),
        "traceparent": _string("W3C trace context of the request that caused the event"),
    }
    required = ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "content-type"]
    if service == "case":
        props["ce_receivingregion"] = _string("GB/T 2260 code of the receiving region", pattern="^[0-9]{6}$")
        props["ce_handlingregion"] = _string("GB/T 2260 code of the handling region", pattern="^[0-9]{6}$")
        required += ["ce_sequence", "ce_receivingregion", "ce_handlingregion"]
    return {"type": "object", "properties": props, "required": required}


def message_name(ce_type: str) -> str:
    """A readable message key, e.g. case.submitted.v1."""
    return ce_type.removeprefix("cn.gov.tongban.")


def build() -> dict[str, Any]:
    """The AsyncAPI 3 document."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    by_topic: dict[str, list[str]] = {t: [] for t in topics.ALL_TOPICS}
    for path in sorted(SCHEMAS.glob("cn.gov.tongban.*.json")):
        ce_type = path.stem
        service = ce_type.split(".")[3]
        topic = TOPIC_OF_SERVICE.get(service)
        if topic is None:
            continue
        schema = json.loads(path.read_text())
        name = message_name(ce_type)
        messages[name] = {
            "name": ce_type,
            "title": schema.get("title", name),
            "summary": schema.get("description", ""),
            "contentType": "application/json",
            "headers": headers_schema(service, ce_type),
            "payload": {"$ref": f"./schemas/{path.name}"},
        }
        by_topic[topic].append(name)
    for topic, names in by_topic.items():
        key = topic.replace(".", "-")
        channels[key] = {
            "address": topic,
            "description": TOPIC_TEXT[topic],
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        }
        operations[f"receive-{key}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Subscribe to {topic} (topic names carry the deployment's TONGBAN_TOPIC_PREFIX).",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tongban events",
            "version": "1.0.0",
            "description": "Kafka topics of the Tongban mesh. Every message is a CloudEvents 1.0 "
            "event in the Kafka binding's binary mode: the value is the JSON data, attributes travel as "
            "ce_ headers.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    """The document as YAML text."""
    return yaml.safe_dump(build(), sort_keys=False, allow_unicode=True, width=110)


def main() -> int:
    """Write asyncapi.yaml (or, with --check, fail when it is stale)."""
    text = render()
    if "--check" in sys.argv:
        return 0 if OUTPUT.exists() and OUTPUT.read_text() == text else 1
    OUTPUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
