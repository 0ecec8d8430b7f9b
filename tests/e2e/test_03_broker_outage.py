"""The broker stops in the middle of the scenario: cases go on, and every event arrives exactly once."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import httpx
import pytest
from e2e_support import BEIJING, GUANGDONG, ZHANGSAN, Api, Ministry, assert_gap_free, lifecycle, new_key
from tongban_kit import testing

pytestmark = pytest.mark.mesh

ITEM = "GG00004000"


def _proxy_case(guangdong: Api) -> dict[str, Any]:
    """A proxy case for Beijing whose ID card comes from the data-exchange hub."""
    body = {
        "basic_code": ITEM,
        "mode": "proxy",
        "receiving_region": GUANGDONG,
        "handling_region": BEIJING,
        "applicant": {"type": "natural_person", "name": ZHANGSAN.name, "id_number": ZHANGSAN.resident_id},
        "materials": [
            {"code": "M01", "exchange_ref": "household-registration"},
            {"code": "M02", "file": {"sha256": "ab" * 32, "name": "form.pdf"}},
        ],
        "delivery": {"method": "post", "address": "广东省广州市天河区某路1号"},
    }
    case: dict[str, Any] = guangdong.post("/cases/v1/cases", body, expect=201, idempotency_key=new_key())
    return case


def test_cases_go_on_while_the_broker_is_down_and_no_event_is_lost_or_repeated(
    running_mesh: Any, guangdong: Api, beijing: Api, ministry: Ministry, story: dict[str, Any]
) -> None:
    before = _proxy_case(guangdong)["id"]
    ministry.wait_for_event(before, "submitted")

    started = time.monotonic()
    testing.broker_stop()
    try:
        time.sleep(3)  # producers and the subscriber notice the broker is gone
        # Everything below commits to the services' databases; the outboxes hold the events.
        guangdong.command(before, "transfer", {"method": "electronic"})
        beijing.command(before, "accept")
        proof = beijing.post(
            "/eseal/v1/licences",
            {
                "licence_type": "household_registration_proof",
                "holder": {"name": ZHANGSAN.name, "id_number": ZHANGSAN.resident_id},
                "fields": {"proof": "户籍证明"},
            },
            expect=201,
        )
        beijing.command(before, "conclude", {"decision": "approved", "result": {"licence_id": proof["id"]}})
        guangdong.command(before, "deliver", {"proof": {"tracking_number": "SF1234567890"}})

        during = _proxy_case(guangdong)["id"]
        guangdong.command(during, "transfer", {"method": "post", "tracking_number": "EMS0001"})
        beijing.command(during, "reject", {"reason": "申请人户籍不在本市"})
        outage = time.monotonic() - started
        # The outage was real: case-svc's readiness names the broker (an operator's view, not a platform's).
        ready = httpx.get(running_mesh.url("case") + "/readyz", timeout=10)
        assert ready.status_code == 503 and "kafka" in ready.text, ready.text
    finally:
        testing.broker_start()

    after_a = ministry.wait_for_event(before, "delivered", timeout=120)
    after_b = ministry.wait_for_event(during, "rejected", timeout=120)
    assert lifecycle(after_a) == ["submitted", "transferred", "accepted", "concluded", "delivered"]
    assert lifecycle(after_b) == ["submitted", "transferred", "rejected"]
    assert_gap_free(after_a)
    assert_gap_free(after_b)

    follower = ministry.follower
    applied = Counter((e["case"], e["sequence"]) for e in follower.events)
    assert [k for k, n in applied.items() if n > 1] == []  # a redelivery never had a second effect
    assert len({e["id"] for e in follower.events}) == len(follower.events)
    assert follower.problems == []
    print(f"broker outage: {outage:.1f} s of commands, {follower.duplicates} redeliveries ignored")

    story.setdefault("finished_cases", []).extend([before, during])
    story["outage_cases"] = {"concluded": before, "rejected": during}
