"""The FAQ knowledge base and the service guide (JSON and printable HTML)."""

from __future__ import annotations

import pytest
from catalogue_support import Catalogue
from catalogue_svc.api.guide import wants_html


async def test_item_faq_lists_the_seed_entries_in_order(catalogue: Catalogue) -> None:
    r = await catalogue.client.get("/v1/items/XK00003000/faqs")
    assert r.status_code == 200
    faqs = r.json()["items"]
    assert faqs[0]["question"] == "跨省迁移户口还需要回迁出地开迁移证吗？"
    assert all(f["basic_code"] == "XK00003000" for f in faqs)
    page = (await catalogue.client.get("/v1/items/XK00003000/faqs", params={"limit": 1})).json()
    assert page["items"] == faqs[:1]
    rest = await catalogue.client.get("/v1/items/XK00003000/faqs", params={"cursor": page["next_cursor"]})
    assert rest.json()["items"] == faqs[1:]
    assert (await catalogue.client.get("/v1/items/XK00099999/faqs")).status_code == 404


async def test_window_staff_add_an_entry_that_search_then_finds(catalogue: Catalogue) -> None:
    c = catalogue.client
    entry = {
        "question": "蓝莓农场的集体户口怎样迁出？",
        "answer": "由农场出具证明，随后办理。",
        "tags": ["集体户"],
    }
    headers = catalogue.auth("catalogue:implement", region="440000", **{"Idempotency-Key": "faq-1"})
    r = await c.post("/v1/items/XK00003001/faqs", json=entry, headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["question"], created["tags"]) == (entry["question"], ["集体户"])
    replay = await c.post("/v1/items/XK00003001/faqs", json=entry, headers=headers)
    assert replay.json()["id"] == created["id"]
    listed = (await c.get("/v1/items/XK00003001/faqs")).json()["items"]
    assert [f["id"] for f in listed].count(created["id"]) == 1
    hits = (await c.get("/v1/faqs", params={"q": "蓝莓 集体户口"})).json()["items"]
    assert hits[0]["id"] == created["id"]
    assert hits[0]["score"] > 0
    items = (await c.get("/v1/items", params={"q": "蓝莓"})).json()["items"]
    assert [i["basic_code"] for i in items] == ["XK00003001"]


async def test_faq_writes_need_a_scope_and_valid_fields(catalogue: Catalogue) -> None:
    c = catalogue.client
    entry = {"question": "问？", "answer": "答。"}
    assert (await c.post("/v1/items/XK00003000/faqs", json=entry)).status_code == 401
    r = await c.post("/v1/items/XK00003000/faqs", json=entry, headers=catalogue.auth("cases:read"))
    assert r.status_code == 403
    r = await c.post("/v1/items/XK00003000/faqs", json={**entry, "votes": 3}, headers=catalogue.writer())
    assert r.status_code == 422
    r = await c.post("/v1/items/XK00003000/faqs", json={**entry, "question": ""}, headers=catalogue.writer())
    assert r.status_code == 422


async def test_faq_search_across_items_and_for_one(catalogue: Catalogue) -> None:
    c = catalogue.client
    hits = (await c.get("/v1/faqs", params={"q": "身份证"})).json()["items"]
    assert hits
    assert all("身份证" in h["question"] + h["answer"] + "".join(h["tags"]) for h in hits)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    one = (await c.get("/v1/faqs", params={"q": "身份证", "basic_code": "XK00003000"})).json()["items"]
    assert one
    assert {h["basic_code"] for h in one} == {"XK00003000"}
    first = (await c.get("/v1/faqs", params={"q": "身份证", "limit": 1})).json()
    second = (
        await c.get("/v1/faqs", params={"q": "身份证", "limit": 1, "cursor": first["next_cursor"]})
    ).json()
    assert [h["id"] for h in first["items"] + second["items"]] == [h["id"] for h in hits[:2]]
    assert (await c.get("/v1/faqs")).status_code == 422


async def test_guide_as_json(catalogue: Catalogue) -> None:
    r = await catalogue.client.get("/v1/items/XK00003000/guide", params={"region": "440000"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["vary"] == "Accept"
    guide = r.json()
    assert (guide["name"], guide["item_type_label"], guide["mode_labels"]) == (
        "户口迁移",
        "行政许可",
        ["多地联办"],
    )
    assert guide["implementation"]["region_name"] == "广东省"
    assert guide["implementation"]["handling_org"]["name"] == "广东省公安厅"
    register = next(m for m in guide["materials"] if "household_register" in m["licence_types"])
    assert "居民户口簿" in register["licence_type_names"]
    assert guide["faqs"]
    assert (
        await catalogue.client.get("/v1/items/XK00016000/guide", params={"region": "510000"})
    ).status_code == 404


async def test_guide_as_a_printable_page(catalogue: Catalogue) -> None:
    r = await catalogue.client.get(
        "/v1/items/XK00003000/guide",
        params={"region": "440000"},
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>户口迁移</h1>" in page
    assert "@media print" in page
    for text in ("申请材料", "居民户口簿", "广东省公安厅", "法定办结时限", "常见问题", "多地联办"):
        assert text in page
    assert "9 个工作日" in page  # 广东's promised limit, not the national 10


async def test_guide_html_escapes_content(catalogue: Catalogue) -> None:
    c = catalogue.client
    from catalogue_support import item_body

    body = item_body("XK00092000", name="<script>alert(1)</script>测试")
    r = await c.post("/v1/items", json=body, headers=catalogue.writer())
    r = await c.post("/v1/items/XK00092000/draft/publish", headers=catalogue.writer(r.headers["etag"]))
    assert r.status_code == 200
    page = (await c.get("/v1/items/XK00092000/guide", headers={"Accept": "text/html"})).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("application/json", False),
        ("text/html", True),
        ("*/*", False),
        ("text/html;q=0.5, application/json", False),
        ("application/json;q=0.1, text/*", True),
        ("text/html;q=x", False),
    ],
)
def test_accept_negotiation(accept: str | None, html: bool) -> None:
    assert wants_html(accept) is html
