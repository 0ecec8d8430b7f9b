"""Region implementations over HTTP: who may change them, If-Match, and conformance to the national item."""

from __future__ import annotations

from typing import Any

from catalogue_support import Catalogue

SICHUAN_MARKET = {"name": "四川省市场监督管理局", "uscc": "11510000TB0606003K"}


def sichuan_body(**overrides: Any) -> dict[str, Any]:
    """A valid implementation of 工业产品生产许可证 (XK00015000) by 四川 (not in the seed)."""
    body: dict[str, Any] = {
        "implementation_code": "11510000TB0606003KXK00015000001",
        "handling_org": SICHUAN_MARKET,
        "address": "成都市天府大道中段 1 号",
        "hours": "工作日 9:00-17:00",
        "modes": ["online", "proxy"],
        "promised_limit_days": 10,
        "fees": [],
    }
    body.update(overrides)
    return body


async def seed_region(c: Catalogue, code: str, region: str) -> tuple[dict[str, Any], str]:
    r = await c.client.get(f"/v1/items/{code}/regions/{region}")
    assert r.status_code == 200
    return r.json(), r.headers["etag"]


def as_body(doc: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    keys = ("implementation_code", "handling_org", "address", "hours", "modes", "joint_roles")
    body = {k: doc[k] for k in keys} | {
        "promised_limit_days": doc["promised_limit_days"],
        "fees": doc["fees"],
    }
    body.update(overrides)
    return body


async def test_read_needs_no_token_and_has_an_etag(catalogue: Catalogue) -> None:
    doc, etag = await seed_region(catalogue, "XK00003000", "440000")
    assert etag == '"XK00003000/440000-v1"'
    assert doc["handling_org"]["name"] == "广东省公安厅"
    assert (doc["version"], doc["revision"], doc["modes"]) == (1, 1, ["joint"])
    listed = (await catalogue.client.get("/v1/items/XK00003000/regions")).json()["items"]
    assert [d["region"] for d in listed] == ["110000", "310000", "320000", "330000", "440000", "510000"]
    missing = await catalogue.client.get("/v1/items/XK00016000/regions/510000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "implementation-not-found"


async def test_own_region_replaces_its_implementation_with_if_match(catalogue: Catalogue) -> None:
    c = catalogue.client
    doc, etag = await seed_region(catalogue, "XK00003001", "440000")
    headers = catalogue.auth("catalogue:implement", region="440000", **{"If-Match": etag})
    r = await c.put(
        "/v1/items/XK00003001/regions/440000", json=as_body(doc, promised_limit_days=7), headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"XK00003001/440000-v2"'
    assert (r.json()["promised_limit_days"], r.json()["revision"]) == (7, 2)
    again = (await c.get("/v1/items/XK00003001/regions/440000")).json()
    assert again["promised_limit_days"] == 7


async def test_put_by_the_wrong_region_is_403(catalogue: Catalogue) -> None:
    doc, etag = await seed_region(catalogue, "XK00003002", "440000")
    headers = catalogue.auth("catalogue:implement", region="110000", **{"If-Match": etag})
    r = await catalogue.client.put(
        "/v1/items/XK00003002/regions/440000", json=as_body(doc, promised_limit_days=3), headers=headers
    )
    assert r.status_code == 403
    assert r.json()["code"] == "wrong-region"
    no_scope = catalogue.auth("cases:submit", region="440000", **{"If-Match": etag})
    r = await catalogue.client.put("/v1/items/XK00003002/regions/440000", json=as_body(doc), headers=no_scope)
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient-scope"
    unchanged, same = await seed_region(catalogue, "XK00003002", "440000")
    assert (unchanged, same) == (doc, etag)


async def test_catalogue_write_may_change_any_region(catalogue: Catalogue) -> None:
    doc, etag = await seed_region(catalogue, "XK00003003", "310000")
    r = await catalogue.client.put(
        "/v1/items/XK00003003/regions/310000", json=as_body(doc, hours="全天"), headers=catalogue.writer(etag)
    )
    assert r.status_code == 200
    assert r.json()["hours"] == "全天"


async def test_missing_if_match_is_428_and_stale_is_412(catalogue: Catalogue) -> None:
    c = catalogue.client
    doc, etag = await seed_region(catalogue, "XK00003004", "440000")
    own = catalogue.auth("catalogue:implement", region="440000")
    r = await c.put("/v1/items/XK00003004/regions/440000", json=as_body(doc), headers=own)
    assert r.status_code == 428
    r = await c.put(
        "/v1/items/XK00003004/regions/440000", json=as_body(doc), headers={**own, "If-Match": etag}
    )
    assert r.status_code == 200
    r = await c.put(
        "/v1/items/XK00003004/regions/440000", json=as_body(doc), headers={**own, "If-Match": etag}
    )
    assert r.status_code == 412
    assert r.json()["current_etag"] == '"XK00003004/440000-v2"'


async def test_promised_limit_above_statutory_is_refused_with_a_clear_problem(catalogue: Catalogue) -> None:
    doc, etag = await seed_region(catalogue, "XK00003005", "440000")
    headers = catalogue.auth("catalogue:implement", region="440000", **{"If-Match": etag})
    r = await catalogue.client.put(
        "/v1/items/XK00003005/regions/440000", json=as_body(doc, promised_limit_days=21), headers=headers
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "promised-limit-exceeds-statutory"
    assert problem["title"] == "Promised limit exceeds the statutory limit"
    assert problem["detail"] == (
        "region 440000 promises 21 working days for XK00003005, longer than the national statutory limit of "
        "20 working days"
    )
    assert problem["errors"][0]["field"] == "promised_limit_days"
    unchanged, same = await seed_region(catalogue, "XK00003005", "440000")
    assert (unchanged["promised_limit_days"], same) == (doc["promised_limit_days"], etag)


async def test_a_new_region_is_created_without_if_match(catalogue: Catalogue) -> None:
    c = catalogue.client
    own = catalogue.auth("catalogue:implement", region="510000")
    r = await c.put(
        "/v1/items/XK00015000/regions/510000", json=sichuan_body(), headers={**own, "If-Match": '"x-v1"'}
    )
    assert r.status_code == 412
    r = await c.put("/v1/items/XK00015000/regions/510000", json=sichuan_body(), headers=own)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"XK00015000/510000-v1"'
    r = await c.get("/v1/items", params={"region": "510000", "q": "工业产品"})
    assert [i["basic_code"] for i in r.json()["items"]] == ["XK00015000"]


async def test_modes_and_codes_must_conform(catalogue: Catalogue) -> None:
    c = catalogue.client
    own = catalogue.auth("catalogue:implement", region="510000")
    r = await c.put("/v1/items/XK00016000/regions/510000", json=sichuan_body(), headers=own)
    assert r.status_code == 422  # the code names XK00015000
    assert r.json()["errors"][0]["field"] == "implementation_code"
    body = sichuan_body(implementation_code="11510000TB0606003KXK00016000001", modes=["proxy"])
    r = await c.put("/v1/items/XK00016000/regions/510000", json=body, headers=own)
    assert r.status_code == 422
    assert r.json()["code"] == "mode-not-offered"
    r = await c.put("/v1/items/XK00016000/regions/510000", json={**body, "extra": 1}, headers=own)
    assert r.status_code == 422
    assert (await c.get("/v1/items/XK00016000/regions/510000")).status_code == 404
    r = await c.put("/v1/items/XK00016000/regions/990000", json=body, headers=catalogue.writer())
    assert r.status_code == 422


async def test_an_item_without_a_version_in_force_cannot_be_implemented(catalogue: Catalogue) -> None:
    from catalogue_support import item_body

    r = await catalogue.client.post("/v1/items", json=item_body("XK00091000"), headers=catalogue.writer())
    assert r.status_code == 201
    body = sichuan_body(implementation_code="11510000TB0606003KXK00091000001", modes=["proxy"])
    r = await catalogue.client.put(
        "/v1/items/XK00091000/regions/510000", json=body, headers=catalogue.writer()
    )
    assert r.status_code == 409
    assert r.json()["code"] == "not-published"
    r = await catalogue.client.put(
        "/v1/items/XK00099998/regions/510000", json=body, headers=catalogue.writer()
    )
    assert r.status_code == 404
