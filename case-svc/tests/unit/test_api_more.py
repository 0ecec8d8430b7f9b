"""Materials, liaison, statistics, the catalogue miss, and the deadline worker, in-process on SQLite."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from case_api import CaseApp, case_body, catalogue_event, start_case_app
from case_factories import BASIC_CODE, HANDLING, RECEIVING, STRANGER, item_payload, offer_payload
from case_svc.adapters.catalogue_client import CatalogueClient
from case_svc.config import Settings
from case_svc.domain.working_days import WorkingDayCalendar
from case_svc.service_layer.deadlines import deadline_pass, recompute_provisional

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 200
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 64


async def submit(app: CaseApp, mode: str = "proxy", **overrides: Any) -> dict[str, Any]:
    resp = await app.platform(RECEIVING).post("/v1/cases", case_body(mode, **overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def upload(app: CaseApp, region: str, case_id: str, data: bytes, code: str = "M02") -> httpx.Response:
    platform = app.platform(region)
    return await app.client.post(
        f"/v1/cases/{case_id}/materials",
        headers=platform.headers(),
        data={"material_code": code},
        files={"file": ("scan.pdf", data, "application/pdf")},
    )


async def test_material_upload_is_sniffed_hashed_stored_and_downloadable_by_the_handler(
    case_app: CaseApp,
) -> None:
    case = await submit(case_app)
    resp = await upload(case_app, RECEIVING, case["id"], PDF)
    assert resp.status_code == 201, resp.text
    stored = resp.json()
    assert stored["sha256"] == hashlib.sha256(PDF).hexdigest() and stored["content_type"] == "application/pdf"
    assert stored["size"] == len(PDF)
    assert (await upload(case_app, RECEIVING, case["id"], PNG, code="M01")).json()[
        "content_type"
    ] == "image/png"
    handler = case_app.platform(HANDLING)
    listed = (await handler.get(f"/v1/cases/{case['id']}/materials")).json()["items"]
    assert {f["material_code"] for f in listed} == {"M01", "M02"}
    download = await handler.get(f"/v1/cases/{case['id']}/materials/{stored['id']}/content")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert (
        await case_app.platform(STRANGER).get(f"/v1/cases/{case['id']}/materials/{stored['id']}/content")
    ).status_code == 404
    # Stored content-addressed: the path is the digest.
    path = case_app.services.blobs.path(stored["sha256"])  # type: ignore[attr-defined]
    assert path.read_bytes() == PDF and path.name == stored["sha256"]


async def test_upload_refuses_wrong_type_size_side_and_code(case_app: CaseApp) -> None:
    case = await submit(case_app)
    text = await upload(case_app, RECEIVING, case["id"], b"just some text, renamed to .pdf")
    assert text.status_code == 415 and text.json()["code"] == "unsupported-type"
    big = await upload(case_app, RECEIVING, case["id"], PDF + b"0" * 70_000)
    assert big.status_code == 413
    wrong_side = await upload(case_app, HANDLING, case["id"], PDF)
    assert wrong_side.status_code == 403
    unknown = await upload(case_app, RECEIVING, case["id"], PDF, code="M77")
    assert unknown.status_code == 422
    assert (await upload(case_app, STRANGER, case["id"], PDF)).status_code == 404
    assert (await upload(case_app, RECEIVING, case["id"], b"")).status_code == 422


async def test_liaison_messages_between_the_windows(case_app: CaseApp) -> None:
    a, b = case_app.platform(RECEIVING), case_app.platform(HANDLING)
    case = await submit(case_app)
    path = f"/v1/cases/{case['id']}/messages"
    first = await a.post(path, {"body": "材料已寄出，请查收"})
    assert first.status_code == 201 and first.json()["side"] == "receiving"
    assert (await b.post(path, {"body": "已收到，谢谢"})).json()["side"] == "handling"
    page = (await b.get(path, limit=1)).json()
    assert [m["body"] for m in page["items"]] == ["材料已寄出，请查收"]
    rest = (await b.get(path, limit=1, cursor=page["next_cursor"])).json()
    assert [m["body"] for m in rest["items"]] == ["已收到，谢谢"] and rest["next_cursor"] is None
    assert (await case_app.platform(STRANGER).post(path, {"body": "hi"})).status_code == 404
    assert (await a.post(path, {"body": ""})).status_code == 422
    assert await case_app.outbox(case["id"]) != []  # only the submission; messages are not case events
    assert len(await case_app.outbox(case["id"])) == 1


async def test_statistics_need_the_monitor_scope_and_reflect_cases(case_app: CaseApp) -> None:
    a, b = case_app.platform(RECEIVING), case_app.platform(HANDLING)
    first = await submit(case_app)
    await a.act(first["id"], "transfer", {"method": "electronic"})
    await b.act(
        first["id"], "request-correction", {"items": [{"material_code": "M03", "problem": "missing"}]}
    )
    await a.act(first["id"], "resubmit", {"materials": [{"code": "M03", "file": {"sha256": "d" * 64}}]})
    await b.act(first["id"], "accept")
    await b.act(first["id"], "conclude", {"decision": "approved", "result": {"licence_id": "L"}})
    await a.post(f"/v1/cases/{first['id']}/rating", {"level": 4})
    await submit(case_app, "online")
    assert (await a.get("/v1/statistics")).status_code == 403
    ministry = case_app.platform(None, scopes="cases:read cases:monitor")
    resp = await ministry.get("/v1/statistics", group_by="mode")
    assert resp.status_code == 200, resp.text
    groups = {g["group"]["mode"]: g for g in resp.json()["groups"]}
    proxy = groups["proxy"]
    assert proxy["received"] == 1 and proxy["concluded"] == 1 and proxy["on_time_rate"] == 1.0
    assert proxy["correction_rounds_per_case"] == 1.0 and proxy["satisfaction_mean"] == 4.0
    assert proxy["ratings_by_level"] == {"4": 1} and proxy["handling_days_p90"] == 0.0
    assert proxy["transfer_seconds_mean"] is not None
    assert groups["online"]["received"] == 1 and groups["online"]["concluded"] == 0
    total = (await ministry.get("/v1/statistics", region=HANDLING)).json()["groups"]
    assert total[0]["received"] == 2 and total[0]["group"] == {}
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert (await ministry.get("/v1/statistics", **{"from": tomorrow})).json()["groups"] == []
    assert (await ministry.get("/v1/statistics", group_by="colour")).status_code == 422
    # The ends of the calendar are periods like any other (0001-01-01 in Shanghai starts before UTC's).
    first_day = await ministry.get("/v1/statistics", **{"from": "0001-01-01", "to": "0001-01-01"})
    assert first_day.status_code == 200 and first_day.json()["groups"] == []
    everything = await ministry.get("/v1/statistics", **{"from": "0001-01-01", "to": "9999-12-31"})
    assert everything.json()["groups"][0]["received"] == 2


async def test_unknown_item_is_fetched_from_the_catalogue_once(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_ENV", "test")
    monkeypatch.setenv("TONGBAN_KAFKA_BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("CASE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/case.db")
    monkeypatch.setenv("CASE_DEADLINE_WORKER", "false")
    monkeypatch.setenv("CASE_CONSUME_CATALOGUE", "false")
    calls: list[str] = []

    def catalogue(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        assert "authorization" not in request.headers  # catalogue reads need no token
        if request.url.path == f"/v1/items/{BASIC_CODE}":
            return httpx.Response(200, json=item_payload())
        if request.url.path == f"/v1/items/{BASIC_CODE}/regions/{HANDLING}":
            return httpx.Response(200, json=offer_payload(HANDLING))
        return httpx.Response(404, json={"code": "not-found"})

    async with start_case_app(Settings(), seed=False) as app:
        app.services.catalogue = CatalogueClient(
            "http://catalogue.test", client=httpx.AsyncClient(transport=httpx.MockTransport(catalogue))
        )
        await submit(app)
        assert calls == [f"/v1/items/{BASIC_CODE}", f"/v1/items/{BASIC_CODE}/regions/{HANDLING}"]
        await submit(app)
        assert len(calls) == 2  # the read model answers now
        resp = await app.platform(RECEIVING).post("/v1/cases", case_body(basic_code="XK-999999-01"))
        assert resp.status_code == 422 and resp.json()["errors"][0]["type"] == "unknown-item"
        app.services.catalogue = CatalogueClient("http://127.0.0.1:9", timeout=0.5)
        resp = await app.platform(RECEIVING).post("/v1/cases", case_body(basic_code="XK-888888-01"))
        assert resp.status_code == 503 and resp.json()["code"] == "catalogue-unavailable"


async def test_catalogue_events_update_the_read_model(case_app: CaseApp) -> None:
    await case_app.seed(catalogue_event("item-published", item_payload(version=4, modes=["online"])))
    resp = await case_app.platform(RECEIVING).post("/v1/cases", case_body("proxy"))
    assert resp.status_code == 422 and resp.json()["errors"][0]["type"] == "mode-not-allowed"
    online = await submit(case_app, "online")
    assert online["item_version"] == 4
    await case_app.seed(
        catalogue_event("item-retired", {"basic_code": BASIC_CODE, "version": 4, "retired_at": "x"})
    )
    resp = await case_app.platform(RECEIVING).post("/v1/cases", case_body("online"))
    assert resp.status_code == 422 and resp.json()["errors"][0]["type"] == "item-retired"
    # A bad payload is skipped, not fatal.
    await case_app.seed(catalogue_event("item-published", {"basic_code": "X"}))


def fixed(moment: datetime) -> Any:
    return lambda: moment


async def test_deadline_warning_and_overdue_are_emitted_once_even_with_two_workers(case_app: CaseApp) -> None:
    services = case_app.services
    services.clock = fixed(datetime(2026, 3, 2, 2, tzinfo=UTC))  # Monday 10:00 in Beijing
    case = await submit(case_app, "online")
    await case_app.platform(HANDLING).act(case["id"], "accept")
    promised = date.fromisoformat(
        (await case_app.platform(HANDLING).get(f"/v1/cases/{case['id']}")).json()["deadlines"]["promised"][
            "due_date"
        ]
    )
    calendar = WorkingDayCalendar()
    # Two working days before the promised due date: two workers race.
    day = promised - timedelta(days=1)
    while calendar.count(day, promised).days < 2:
        day -= timedelta(days=1)
    at = datetime(day.year, day.month, day.day, 1, tzinfo=UTC)
    counts = await asyncio.gather(
        deadline_pass(uow=case_app.app.state.runtime.uow(), services=services, now=at),
        deadline_pass(uow=case_app.app.state.runtime.uow(), services=services, now=at),
    )
    assert sum(counts) == 1
    assert await deadline_pass(uow=case_app.app.state.runtime.uow(), services=services, now=at) == 0
    late = datetime(promised.year, promised.month, promised.day, 1, tzinfo=UTC) + timedelta(days=1)
    counts = await asyncio.gather(
        deadline_pass(uow=case_app.app.state.runtime.uow(), services=services, now=late),
        deadline_pass(uow=case_app.app.state.runtime.uow(), services=services, now=late),
    )
    assert sum(counts) == 1
    events = await case_app.outbox(case["id"])
    names = [e.type.split(".")[-2] for e in events]
    assert names == ["submitted", "accepted", "deadline-warning", "overdue"]
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    warning = events[2].data
    assert (
        warning["deadline"] == "promised" and warning["working_days_left"] == 2 and warning["actor"] is None
    )
    assert events[3].data["due_date"] == promised.isoformat()
    # The list's overdue filter sees it; a command after the worker still gets the next sequence.
    services.clock = fixed(late)
    b = case_app.platform(HANDLING)
    assert [c["id"] for c in (await b.get("/v1/cases", overdue="true")).json()["items"]] == [case["id"]]
    assert (
        await b.act(case["id"], "conclude", {"decision": "denied", "reason": "逾期材料不全"})
    ).status_code == 200
    assert [e.sequence for e in await case_app.outbox(case["id"])] == [1, 2, 3, 4, 5]


async def test_provisional_due_dates_are_recomputed_by_the_worker(case_app: CaseApp) -> None:
    services = case_app.services
    services.clock = fixed(datetime(2026, 12, 21, 2, tzinfo=UTC))
    case = await submit(case_app, "online")
    accepted = (await case_app.platform(HANDLING).act(case["id"], "accept")).json()
    assert accepted["deadlines"]["promised"]["provisional"] is True
    assert await recompute_provisional(uow=case_app.app.state.runtime.uow(), services=services) == 0

    def newer(day: date) -> bool:
        if day.year == 2027:
            return day.weekday() < 5 and day not in (date(2027, 1, 1), date(2027, 1, 4))
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))

    services.calendar = WorkingDayCalendar(newer)
    assert await recompute_provisional(uow=case_app.app.state.runtime.uow(), services=services) == 1
    after = (await case_app.platform(HANDLING).get(f"/v1/cases/{case['id']}")).json()
    assert after["deadlines"]["promised"] == {
        "limit_days": 10,
        "due_date": "2027-01-06",
        "provisional": False,
    }


async def test_uploaded_content_is_matched_to_the_declared_file_reference(case_app: CaseApp) -> None:
    digest = hashlib.sha256(PDF).hexdigest()
    case = await submit(
        case_app,
        materials=[{"code": "M01", "licence_id": "L-1"}, {"code": "M02", "file": {"sha256": digest.upper()}}],
    )
    handler = case_app.platform(HANDLING)
    before = (await handler.get(f"/v1/cases/{case['id']}")).json()["materials"]
    assert [m["uploaded"] for m in before] == [None, False]
    assert (await upload(case_app, RECEIVING, case["id"], PDF)).status_code == 201
    after = (await handler.get(f"/v1/cases/{case['id']}")).json()["materials"]
    assert [m["uploaded"] for m in after] == [None, True]


async def test_legal_person_applicants_are_checked_by_credit_code(case_app: CaseApp) -> None:
    from tongban_kit.identifiers import uscc_check_char

    code = "91110000MA01ABCD1"
    code += uscc_check_char(code)
    case = await submit(
        case_app, applicant={"type": "legal_person", "name": "某某科技有限公司", "id_number": code}
    )
    assert case["applicant"]["masked_id"] == code and case["applicant"]["type"] == "legal_person"
    bad = code[:-1] + ("0" if code[-1] != "0" else "1")
    resp = await case_app.platform(RECEIVING).post(
        "/v1/cases",
        case_body(applicant={"type": "legal_person", "name": "某某科技有限公司", "id_number": bad}),
    )
    assert resp.status_code == 422 and "check character" in resp.json()["detail"]


async def test_older_region_implementation_revisions_do_not_overwrite_newer(case_app: CaseApp) -> None:
    await case_app.seed(
        catalogue_event(
            "region-implementation-changed", offer_payload(HANDLING, modes=["online"], revision=3)
        ),
        catalogue_event(
            "region-implementation-changed", offer_payload(HANDLING, modes=["proxy"], revision=2)
        ),
    )
    resp = await case_app.platform(RECEIVING).post("/v1/cases", case_body("proxy"))
    assert resp.status_code == 422 and resp.json()["errors"][0]["type"] == "mode-not-offered"
    assert (await case_app.platform(RECEIVING).post("/v1/cases", case_body("online"))).status_code == 201
