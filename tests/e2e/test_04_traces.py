"""One trace id follows a submission from the gateway through case-svc into the event's traceparent."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest
from e2e_support import (
    BEIJING,
    CASE_TOPIC,
    GUANGDONG,
    ZHANGSAN,
    Api,
    Ministry,
    case_type,
    new_key,
    read_topic_sync,
)

pytestmark = pytest.mark.mesh


def _spans(log: str, trace_id: str) -> list[dict[str, Any]]:
    """The span lines (TONGBAN_TRACE_LOG) of one trace in an app's JSON log."""
    found = []
    for line in log.splitlines():
        if trace_id in line and line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "span" and entry.get("trace_id") == trace_id:
                found.append(entry)
    return found


def test_a_submissions_trace_reaches_case_svc_and_the_event(
    running_mesh: Any, guangdong: Api, ministry: Ministry, story: dict[str, Any]
) -> None:
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    body = {
        "basic_code": "GG00004000",
        "mode": "proxy",
        "receiving_region": GUANGDONG,
        "handling_region": BEIJING,
        "applicant": {"type": "natural_person", "name": ZHANGSAN.name, "id_number": ZHANGSAN.resident_id},
        "materials": [
            {"code": "M01", "exchange_ref": "household-registration"},
            {"code": "M02", "file": {"sha256": "cd" * 32}},
        ],
        "delivery": {"method": "electronic"},
    }
    response = guangdong.call(
        "POST",
        "/cases/v1/cases",
        json=body,
        headers={"traceparent": traceparent},
        idempotency_key=new_key(),
        expect=201,
    )
    case_id = response.json()["id"]
    story["traced_case"] = case_id
    ministry.wait_for_event(case_id, "submitted")

    # The gateway's server span and case-svc's spans (HTTP server, database) carry the caller's trace id.
    deadline = time.monotonic() + 15
    while not (_spans(running_mesh.log("case"), trace_id) and _spans(running_mesh.log("gateway"), trace_id)):
        assert time.monotonic() < deadline, "no span of the trace in the case-svc or gateway log"
        time.sleep(0.2)
    names = {s["span_name"] for s in _spans(running_mesh.log("case"), trace_id)}
    assert any("/v1/cases" in n for n in names), names  # the request's server span
    assert any(n.split()[0] in ("INSERT", "UPDATE", "SELECT") for n in names), names  # its SQL

    records = read_topic_sync(running_mesh.bootstrap, running_mesh.topic(CASE_TOPIC))
    submitted = [
        r
        for r in records
        if r.headers.get("ce_subject") == case_id and r.headers.get("ce_type") == case_type("submitted")
    ]
    assert len(submitted) == 1
    header = submitted[0].headers["traceparent"]
    version, event_trace, _, _ = header.split("-")
    assert version == "00" and event_trace == trace_id
    assert submitted[0].key == case_id.encode()
