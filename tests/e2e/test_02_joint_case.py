"""多地联办: a household move from Shanghai to Guangdong completes only when both regions did their part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from e2e_support import (
    GUANGDONG,
    LISI,
    SHANGHAI,
    Api,
    Ministry,
    assert_gap_free,
    lifecycle,
    new_key,
    oidc_login,
    pdf_bytes,
    sha256_hex,
)

pytestmark = pytest.mark.mesh

ITEM = "XK00003001"  # 工作调动户口迁移: joint, roles move_in and move_out


def test_joint_case_concludes_only_after_both_tasks(
    running_mesh: Any, guangdong: Api, shanghai: Api, ministry: Ministry, story: dict[str, Any]
) -> None:
    item = guangdong.get(f"/catalogue/v1/items/{ITEM}")
    assert item["modes"] == ["joint"] and set(item["joint_roles"]) == {"move_in", "move_out"}

    form, letter = pdf_bytes("move application"), pdf_bytes("transfer letter")
    body = {
        "basic_code": ITEM,
        "mode": "joint",
        "receiving_region": GUANGDONG,
        "handling_region": GUANGDONG,
        "participants": {"move_in": GUANGDONG, "move_out": SHANGHAI},
        "applicant": {"type": "natural_person", "name": LISI.name, "id_number": LISI.resident_id},
        "materials": [
            {"code": "M01", "exchange_ref": "household-registration"},
            {"code": "M02", "exchange_ref": "household-registration"},
            {"code": "M03", "file": {"sha256": sha256_hex(form), "name": "move-application.pdf"}},
            {"code": "M05", "file": {"sha256": sha256_hex(letter), "name": "transfer-letter.pdf"}},
        ],
        "delivery": {"method": "pickup"},
    }
    # Every problem at once: a joint case needs both roles.
    incomplete = guangdong.call(
        "POST", "/cases/v1/cases", json={**body, "participants": {"move_in": GUANGDONG}}, expect=422
    ).json()
    assert [e["type"] for e in incomplete["errors"]] == ["role-missing"]

    case = guangdong.post("/cases/v1/cases", body, expect=201, idempotency_key=new_key())
    case_id = case["id"]
    guangdong.upload(case_id, "M03", "move-application.pdf", form)
    guangdong.upload(case_id, "M05", "transfer-letter.pdf", letter)
    tasks = {t["role"]: t for t in case["tasks"]}
    assert {r: t["region"] for r, t in tasks.items()} == {"move_in": GUANGDONG, "move_out": SHANGHAI}

    # Shanghai, the move-out region, sees the case in its list as a participant.
    listed = shanghai.get("/cases/v1/cases", params={"region": SHANGHAI, "mode": "joint"})
    assert case_id in [c["id"] for c in listed["items"]]

    accepted = guangdong.command(case_id, "accept")
    assert accepted["status"] == "accepted"
    done = guangdong.command(case_id, f"tasks/{tasks['move_in']['id']}/complete", {"outcome": "准予迁入"})
    assert [t["done"] for t in done["tasks"] if t["role"] == "move_in"] == [True]

    licence = guangdong.post(
        "/eseal/v1/licences",
        {
            "licence_type": "household_register",
            "holder": {"name": LISI.name, "id_number": LISI.resident_id},
            "fields": {"page": "户口登记页", "case_number": case["number"]},
        },
        expect=201,
    )
    conclusion = {"decision": "approved", "result": {"licence_id": licence["id"], "summary": "准予迁入落户"}}
    early = guangdong.command(case_id, "conclude", conclusion, expect=409)
    assert early["code"] == "illegal-transition" and "conclude" not in early["allowed_actions"]
    assert "joint task" in early["detail"]

    # Shanghai checks the applicant's household registration under the applicant's consent (the
    # dev seed grants every platform household data for the 户口迁移 items), then does its task.
    consenting = (
        story.get("lisi_token")
        or (
            oidc_login(
                running_mesh.gateway, "platform-440000", LISI, "openid exchange:query", acr_values="L2"
            )
        ).tokens["access_token"]
    )
    guangdong.post(
        "/exchange/v1/consents",
        {
            "case_id": case_id,
            "resource_ids": ["household-registration"],
            "until": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
            "purpose": "迁出地核验户籍",
        },
        token=consenting,
        expect=201,
    )
    answer = shanghai.post(
        "/exchange/v1/queries",
        {
            "resource_id": "household-registration",
            "subject_id_number": LISI.resident_id,
            "case_id": case_id,
            "item_code": ITEM,
            "mode": "verify",
            "fact": {"birth_date": "1985-06-12", "gender": "女"},
        },
    )
    assert answer["verified"] is True

    wrong_region = shanghai.command(case_id, f"tasks/{tasks['move_in']['id']}/complete", expect=403)
    assert wrong_region["code"] == "wrong-side" and "move_in" in wrong_region["detail"]
    shanghai.command(case_id, f"tasks/{tasks['move_out']['id']}/complete", {"outcome": "已办理迁出"})
    concluded = guangdong.command(case_id, "conclude", conclusion)
    assert concluded["status"] == "concluded" and all(t["done"] for t in concluded["tasks"])
    delivered = guangdong.command(case_id, "deliver", {"proof": {"signed_by": LISI.name}})
    assert delivered["status"] == "delivered"

    events = ministry.wait_for_event(case_id, "delivered")
    assert lifecycle(events) == [
        "submitted",
        "accepted",
        "task-completed",
        "task-completed",
        "concluded",
        "delivered",
    ]
    assert_gap_free(events)
    completed = [e["data"] for e in events if e["type"].endswith("task-completed.v1")]
    assert len(completed) == 2
    story.setdefault("finished_cases", []).append(case_id)
    story["joint_case"] = case_id
