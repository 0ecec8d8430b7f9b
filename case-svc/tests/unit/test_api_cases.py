"""The case API in-process on SQLite: submission, reading, roles and regions, commands, If-Match."""

from __future__ import annotations

import asyncio
import json
import re

from case_api import ID_NUMBER, CaseApp, case_body
from case_factories import HANDLING, PARTICIPANT_A, PARTICIPANT_B, RECEIVING, STRANGER
from sqlalchemy import select
from tongban_kit.idempotency import IdempotencyRecord


async def submit(app: CaseApp, mode: str = "proxy", **overrides: object) -> dict:
    resp = await app.platform(RECEIVING).post("/v1/cases", case_body(mode, **overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_submit_returns_the_case_with_etag_location_and_number(case_app: CaseApp) -> None:
    resp = await case_app.platform(RECEIVING).post("/v1/cases", case_body())
    assert resp.status_code == 201, resp.text
    case = resp.json()
    assert resp.headers["ETag"] == f'"{case["id"]}-v1"'
    assert resp.headers["Location"] == f"/v1/cases/{case['id']}"
    assert re.fullmatch(rf"{HANDLING}-\d{{8}}-\d{{6}}", case["number"])
    assert case["status"] == "submitted" and case["item_version"] == 3
    # The submission's answer (also kept as the idempotent replay) holds no personal data; a read does.
    assert case["applicant"]["id_number"] is None and case["delivery"]["address"] is None
    read = (await case_app.platform(RECEIVING).get(f"/v1/cases/{case['id']}")).json()
    assert read["applicant"]["id_number"] == ID_NUMBER and read["form"] == {"phone": "13800000000"}
    assert case["applicant"]["masked_id"] == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
    assert case["allowed_actions"] == ["transfer", "withdraw"]
    [event] = await case_app.outbox(case["id"])
    assert event.type == "cn.gov.tongban.case.submitted.v1"
    assert event.sequence == 1 and event.subject == case["id"]
    assert event.extensions == {"receivingregion": RECEIVING, "handlingregion": HANDLING}
    assert event.data["case_number"] == case["number"]
    raw = json.dumps(event.model_dump(mode="json"), ensure_ascii=False)
    assert ID_NUMBER not in raw and "张三" not in raw and "体育西路" not in raw and "13800000000" not in raw
    assert event.data["applicant"]["subject_hash"] == case["applicant"]["subject_hash"]


async def test_free_text_with_a_nul_is_refused_before_it_reaches_the_database(case_app: CaseApp) -> None:
    # PostgreSQL's text and jsonb cannot hold a NUL: a note, reason or message with one is a 422.
    case = await submit(case_app)
    a = case_app.platform(RECEIVING)
    note = await a.act(case["id"], "transfer", {"method": "electronic", "note": "材料\x00"})
    assert note.status_code == 422 and note.json()["errors"][0]["field"] == "body.note", note.text
    reason = await a.act(case["id"], "withdraw", {"reason": "\x00"})
    assert reason.status_code == 422
    message = await a.post(f"/v1/cases/{case['id']}/messages", {"body": "hi\x00"})
    assert message.status_code == 422
    assert (await a.act(case["id"], "transfer", {"method": "electronic", "note": "材料"})).status_code == 200


async def test_case_numbers_are_unique_and_sequential_per_handling_region(case_app: CaseApp) -> None:
    numbers = [(await submit(case_app))["number"] for _ in range(3)]
    seqs = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert len(set(numbers)) == 3 and seqs == sorted(seqs)


async def test_submission_problems_are_listed_all_at_once(case_app: CaseApp) -> None:
    body = case_body(
        "proxy",
        handling_region=STRANGER,  # does not implement the item
        materials=[{"code": "M99", "licence_id": "X"}],
        delivery={"method": "post"},
    )
    resp = await case_app.platform(RECEIVING).post("/v1/cases", body)
    assert resp.status_code == 422
    problem = resp.json()
    assert resp.headers["content-type"].startswith("application/problem+json")
    codes = {e["type"] for e in problem["errors"]}
    assert codes == {"region-not-implementing", "unknown-material", "material-missing", "address-required"}
    assert await case_app.outbox() == []


async def test_invalid_identity_number_unknown_field_and_foreign_receiving_region(case_app: CaseApp) -> None:
    platform = case_app.platform(RECEIVING)
    bad_id = case_body(
        applicant={"type": "natural_person", "name": "张三", "id_number": ID_NUMBER[:-1] + "0"}
    )
    if bad_id["applicant"]["id_number"] == ID_NUMBER:
        bad_id["applicant"]["id_number"] = ID_NUMBER[:-1] + "1"
    resp = await platform.post("/v1/cases", bad_id)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body.applicant.id_number"
    resp = await platform.post("/v1/cases", {**case_body(), "priority": "high"})
    assert resp.status_code == 422
    resp = await platform.post("/v1/cases", case_body(receiving_region=PARTICIPANT_A))
    assert resp.status_code == 403 and resp.json()["code"] == "wrong-region"
    resp = await case_app.platform(RECEIVING, scopes="cases:read").post("/v1/cases", case_body())
    assert resp.status_code == 403 and resp.json()["code"] == "insufficient-scope"
    resp = await case_app.client.post("/v1/cases", json=case_body())
    assert resp.status_code == 401


async def test_idempotency_key_replays_the_first_response_and_refuses_another_body(case_app: CaseApp) -> None:
    platform = case_app.platform(RECEIVING)
    first = await platform.post("/v1/cases", case_body(), **{"Idempotency-Key": "req-1"})
    again = await platform.post("/v1/cases", case_body(), **{"Idempotency-Key": "req-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    other = await platform.post("/v1/cases", case_body("online"), **{"Idempotency-Key": "req-1"})
    assert other.status_code == 409 and other.json()["code"] == "idempotency-key-reused"
    listed = (await platform.get("/v1/cases")).json()["items"]
    assert [c["id"] for c in listed] == [first.json()["id"]]
    assert len(await case_app.outbox()) == 1
    async with case_app.app.state.runtime.session_factory() as session:
        stored = (await session.execute(select(IdempotencyRecord))).scalars().all()
    assert len(stored) == 1
    assert ID_NUMBER not in json.dumps(stored[0].body) and "体育西路" not in json.dumps(stored[0].body)


async def test_concurrent_retries_with_one_key_create_one_case(case_app: CaseApp) -> None:
    platform = case_app.platform(RECEIVING)
    answers = await asyncio.gather(
        *(platform.post("/v1/cases", case_body(), **{"Idempotency-Key": "burst"}) for _ in range(4))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await case_app.outbox()) == 1


async def test_proxy_case_walks_every_step_with_gap_free_events(case_app: CaseApp) -> None:
    a, b = case_app.platform(RECEIVING), case_app.platform(HANDLING)
    case = await submit(case_app)
    cid = case["id"]
    resp = await b.act(cid, "accept")
    assert resp.status_code == 409 and resp.json()["allowed_actions"] == []
    resp = await a.act(cid, "transfer", {"method": "post", "tracking_number": "SF1234567890"})
    assert resp.status_code == 200 and resp.json()["status"] == "transferred"
    assert resp.headers["ETag"] == f'"{cid}-v2"'
    # The handling side sees the applicant too (it decides), with allowed actions of its own.
    seen = (await b.get(f"/v1/cases/{cid}")).json()
    assert seen["applicant"]["name"] == "张三"
    assert seen["allowed_actions"] == ["accept", "reject", "request-correction"]
    resp = await b.act(
        cid,
        "request-correction",
        {
            "items": [
                {"material_code": "M02", "problem": "faulty", "note": "模糊"},
                {"material_code": "M03", "problem": "missing"},
            ]
        },
    )
    assert resp.status_code == 200 and resp.json()["correction_rounds"] == 1
    assert resp.json()["corrections"][0]["clock_stopped"] is False
    resp = await a.act(cid, "resubmit", {"materials": [{"code": "M02", "file": {"sha256": "b" * 64}}]})
    assert resp.status_code == 422 and resp.json()["errors"][0]["type"] == "correction-incomplete"
    resp = await a.act(
        cid,
        "resubmit",
        {
            "materials": [
                {"code": "M02", "file": {"sha256": "b" * 64}},
                {"code": "M03", "file": {"sha256": "c" * 64}},
            ]
        },
    )
    assert resp.status_code == 200 and resp.json()["status"] == "transferred"
    resp = await b.act(cid, "accept")
    assert resp.status_code == 200
    accepted = resp.json()
    assert set(accepted["deadlines"]) == {"promised", "statutory"} and accepted["clock_running"]
    resp = await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "LIC-110000-9"}})
    assert resp.status_code == 200 and resp.json()["on_time"] is True
    resp = await a.act(cid, "deliver", {"proof": {"tracking_number": "EMS9"}})
    assert resp.status_code == 200 and resp.json()["status"] == "delivered"
    resp = await a.post(f"/v1/cases/{cid}/rating", {"level": 5, "comment": "很快"})
    assert resp.status_code == 201 and resp.json()["rating"] == 5
    resp = await a.post(f"/v1/cases/{cid}/rating", {"level": 1})
    assert resp.status_code == 409 and "already rated" in resp.json()["detail"]
    events = await case_app.outbox(cid)
    assert [e.type.split(".")[-2] for e in events] == [
        "submitted",
        "transferred",
        "correction-requested",
        "resubmitted",
        "accepted",
        "concluded",
        "delivered",
        "rated",
    ]
    assert [e.sequence for e in events] == list(range(1, 9))
    assert "很快" not in json.dumps([e.data for e in events], ensure_ascii=False)
    history = (await a.get(f"/v1/cases/{cid}/history")).json()["items"]
    assert [h["action"] for h in history] == [
        "submit",
        "transfer",
        "request-correction",
        "resubmit",
        "accept",
        "conclude",
        "deliver",
        "rate",
    ]
    assert history[1]["actor"] == {"client_id": f"platform-{RECEIVING}", "region": RECEIVING}
    assert history[2]["actor"]["region"] == HANDLING


async def test_if_match_is_required_and_must_be_current(case_app: CaseApp) -> None:
    a = case_app.platform(RECEIVING)
    case = await submit(case_app)
    path = f"/v1/cases/{case['id']}/transfer"
    resp = await a.post(path, {"method": "electronic"})
    assert resp.status_code == 428 and resp.json()["code"] == "if-match-required"
    resp = await a.post(path, {"method": "electronic"}, etag=f'"{case["id"]}-v7"')
    assert resp.status_code == 412 and resp.json()["current_etag"] == f'"{case["id"]}-v1"'
    resp = await a.post(path, {"method": "electronic"}, etag=f'"{case["id"]}-v1"')
    assert resp.status_code == 200


async def test_two_concurrent_accepts_with_the_same_etag_one_wins(case_app: CaseApp) -> None:
    b = case_app.platform(HANDLING)
    case = await submit(case_app, "online")
    path = f"/v1/cases/{case['id']}/accept"
    first, second = await asyncio.gather(
        b.post(path, etag=case_etag(case)), b.post(path, etag=case_etag(case))
    )
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    assert [e.sequence for e in await case_app.outbox(case["id"])] == [1, 2]


def case_etag(case: dict) -> str:
    return f'"{case["id"]}-v{case["version"]}"'


async def test_sides_and_regions_are_enforced(case_app: CaseApp) -> None:
    a, b, c = case_app.platform(RECEIVING), case_app.platform(HANDLING), case_app.platform(STRANGER)
    case = await submit(case_app)
    cid = case["id"]
    resp = await b.act(cid, "transfer", {"method": "electronic"})
    assert (
        resp.status_code == 403 and resp.json()["code"] == "wrong-side" and resp.json()["side"] == "receiving"
    )
    assert resp.json()["allowed_actions"] == []
    # Province C: neither reads nor acts, nor finds it in lists.
    assert (await c.get(f"/v1/cases/{cid}")).status_code == 404
    assert (
        await c.post(f"/v1/cases/{cid}/withdraw", {"reason": "x"}, etag=case_etag(case))
    ).status_code == 404
    assert (await c.get(f"/v1/cases/{cid}/history")).status_code == 404
    assert (await c.get(f"/v1/cases/{cid}/messages")).status_code == 404
    assert (await c.get("/v1/cases")).json()["items"] == []
    resp = await c.get("/v1/cases", region=RECEIVING)
    assert resp.status_code == 403
    # A platform of A with only read scope cannot act even on its own case.
    resp = await case_app.platform(RECEIVING, scopes="cases:read").post(
        f"/v1/cases/{cid}/transfer", {"method": "electronic"}, etag=case_etag(case)
    )
    assert resp.status_code == 403
    # Ministry monitor reads across regions without personal data.
    ministry = case_app.platform(None, scopes="cases:read cases:monitor")
    seen = (await ministry.get(f"/v1/cases/{cid}")).json()
    assert seen["applicant"]["id_number"] is None and seen["applicant"]["name"] is None
    assert seen["delivery"]["address"] is None and seen["form"] is None and seen["allowed_actions"] == []
    assert (await a.act(cid, "withdraw", {"reason": "搬家"})).json()["status"] == "withdrawn"


async def test_online_case_is_decided_without_transfer(case_app: CaseApp) -> None:
    a, b = case_app.platform(RECEIVING), case_app.platform(HANDLING)
    case = await submit(case_app, "online")
    resp = await a.act(case["id"], "transfer", {"method": "electronic"})
    assert resp.status_code == 409 and "not part of online handling" in resp.json()["detail"]
    assert (await b.act(case["id"], "accept")).status_code == 200
    resp = await b.act(case["id"], "suspend", {"reason": "专家评审"})
    assert resp.json()["status"] == "suspended" and resp.json()["clock_running"] is False
    resp = await b.act(case["id"], "resume")
    assert resp.json()["status"] == "accepted"
    resp = await b.act(case["id"], "extend", {"days": 20, "reason": "复杂"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["type"] == "extension-too-long"
    resp = await b.act(case["id"], "extend", {"days": 5, "reason": "复杂"})
    assert resp.status_code == 200 and resp.json()["extension_days"] == 5
    resp = await b.act(case["id"], "conclude", {"decision": "denied", "reason": "不符合条件"})
    assert resp.json()["decision"] == "denied"


async def test_joint_case_tasks_per_region_and_conclusion_after_all(case_app: CaseApp) -> None:
    b = case_app.platform(HANDLING)
    pa, pb = case_app.platform(PARTICIPANT_A), case_app.platform(PARTICIPANT_B)
    case = await submit(case_app, "joint")
    cid = case["id"]
    assert (await b.act(cid, "accept")).status_code == 200
    tasks = await pa.get(f"/v1/cases/{cid}/tasks")
    assert tasks.status_code == 200
    by_region = {t["region"]: t for t in tasks.json()["items"]}
    assert set(by_region) == {PARTICIPANT_A, PARTICIPANT_B}
    resp = await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "L"}})
    assert resp.status_code == 409 and "every joint task" in resp.json()["detail"]
    task_b = by_region[PARTICIPANT_B]["id"]
    resp = await pa.act(cid, f"tasks/{task_b}/complete", {"outcome": "ok"})
    assert resp.status_code == 403
    etag = tasks.headers["ETag"]
    resp = await pa.post(
        f"/v1/cases/{cid}/tasks/{by_region[PARTICIPANT_A]['id']}/complete", {"outcome": "审核通过"}, etag=etag
    )
    assert resp.status_code == 200
    resp = await pb.post(f"/v1/cases/{cid}/tasks/{task_b}/complete", {"outcome": "档案已转"}, etag=etag)
    assert resp.status_code == 412  # the case moved on: read it again
    assert (await pb.act(cid, f"tasks/{task_b}/complete", {"outcome": "档案已转"})).status_code == 200
    resp = await b.act(cid, "conclude", {"decision": "approved", "result": {"licence_id": "L-1"}})
    assert resp.status_code == 200
    names = [e.type.split(".")[-2] for e in await case_app.outbox(cid)]
    assert names == ["submitted", "accepted", "task-completed", "task-completed", "concluded"]
    # Participants see the case; a participant's list shows it.
    assert [c["id"] for c in (await pa.get("/v1/cases")).json()["items"]] == [cid]


async def test_case_list_filters_and_keyset_pages(case_app: CaseApp) -> None:
    a, b = case_app.platform(RECEIVING), case_app.platform(HANDLING)
    ids = [(await submit(case_app, "online"))["id"] for _ in range(5)]
    await b.act(ids[0], "accept")
    page1 = (await b.get("/v1/cases", limit=2)).json()
    page2 = (await b.get("/v1/cases", limit=2, cursor=page1["next_cursor"])).json()
    page3 = (await b.get("/v1/cases", limit=2, cursor=page2["next_cursor"])).json()
    seen = [c["id"] for c in page1["items"] + page2["items"] + page3["items"]]
    assert seen == list(reversed(ids)) and page3["next_cursor"] is None
    accepted = (await b.get("/v1/cases", status="accepted")).json()["items"]
    assert [c["id"] for c in accepted] == [ids[0]]
    assert (await a.get("/v1/cases", status="accepted", handling_region=HANDLING)).json()["items"][0][
        "id"
    ] == ids[0]
    applicant = accepted[0]
    full = (await b.get(f"/v1/cases/{ids[0]}")).json()
    hashed = (await b.get("/v1/cases", applicant_hash=full["applicant"]["subject_hash"])).json()["items"]
    assert len(hashed) == 5 and applicant["masked_id"].startswith("110101")
    assert (await b.get("/v1/cases", mode="proxy")).json()["items"] == []
    assert (await b.get("/v1/cases", overdue="true")).json()["items"] == []
    ministry = case_app.platform(None, scopes="cases:read cases:monitor")
    assert len((await ministry.get("/v1/cases", limit=200)).json()["items"]) == 5
    assert (await b.get("/v1/cases", cursor="!!notacursor")).status_code == 400
