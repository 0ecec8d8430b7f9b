"""Every event the services emitted in this session is in contracts/asyncapi.yaml and valid by its schemas.

Runs after the scenario and the API fuzzing, so it sees what real traffic produced on all five topics.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import yaml
from e2e_support import ALL_TOPICS, REPO, read_topic_sync
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.mesh

CONTRACTS = REPO / "contracts"

# What the scenario certainly caused; the fuzzing may add more.
EXPECTED = {
    "cn.gov.tongban.catalogue.item-published.v1",
    "cn.gov.tongban.catalogue.region-implementation-changed.v1",
    "cn.gov.tongban.identity.login-succeeded.v1",
    "cn.gov.tongban.identity.token-issued.v1",
    "cn.gov.tongban.eseal.licence-issued.v1",
    "cn.gov.tongban.exchange.resource-registered.v1",
    "cn.gov.tongban.exchange.grant-issued.v1",
    "cn.gov.tongban.exchange.consent-given.v1",
    "cn.gov.tongban.exchange.query-logged.v1",
    *(
        f"cn.gov.tongban.case.{name}.v1"
        for name in (
            "submitted",
            "transferred",
            "accepted",
            "correction-requested",
            "resubmitted",
            "task-completed",
            "concluded",
            "delivered",
            "rejected",
        )
    ),
}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_every_emitted_event_is_described_and_validates(running_mesh: Any) -> None:
    doc = yaml.safe_load((CONTRACTS / "asyncapi.yaml").read_text())
    messages = doc["components"]["messages"]
    channels = {
        channel["address"]: {
            messages[ref["$ref"].split("/")[-1]]["name"] for ref in channel["messages"].values()
        }
        for channel in doc["channels"].values()
    }
    assert set(channels) == set(ALL_TOPICS)
    by_type = {m["name"]: m for m in messages.values()}
    payloads: dict[str, Draft202012Validator] = {}

    seen: Counter[str] = Counter()
    problems: list[str] = []
    for topic in ALL_TOPICS:
        for record in read_topic_sync(running_mesh.bootstrap, running_mesh.topic(topic)):
            ce_type = record.headers.get("ce_type", "<no ce_type>")
            seen[ce_type] += 1
            where = f"{topic}@{record.partition}:{record.offset} {ce_type}"
            if ce_type not in channels[topic]:
                problems.append(f"{where}: not a message of channel {topic} in asyncapi.yaml")
                continue
            message = by_type[ce_type]
            for error in _validator(message["headers"]).iter_errors(record.headers):
                problems.append(f"{where}: header {list(error.absolute_path)}: {error.message}")
            datetime.fromisoformat(record.headers["ce_time"].replace("Z", "+00:00"))
            if record.key is not None and record.key.decode() != record.headers["ce_subject"]:
                problems.append(f"{where}: key {record.key!r} is not ce_subject")
            if not record.headers.get("ce_dataschema", "").endswith(ce_type):
                problems.append(f"{where}: ce_dataschema {record.headers.get('ce_dataschema')!r}")
            schema_file = CONTRACTS / message["payload"]["$ref"]
            if ce_type not in payloads:
                payloads[ce_type] = _validator(json.loads(schema_file.read_text()))
            for error in payloads[ce_type].iter_errors(json.loads(record.value)):
                problems.append(f"{where}: payload {list(error.absolute_path)}: {error.message[:300]}")

    assert problems == [], "\n".join(problems[:50]) + f"\n({len(problems)} problems)"
    assert set(seen) >= EXPECTED, sorted(EXPECTED - set(seen))
    print("event types seen:", json.dumps(dict(sorted(seen.items())), indent=1))
