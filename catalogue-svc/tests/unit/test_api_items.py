"""Items over HTTP: drafts, publishing, freezing, validity, If-Match, Idempotency-Key, scopes, problems."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from catalogue_support import Catalogue, item_body
from catalogue_svc.adapters.orm import ItemVersionRow
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError


async def create(c: Catalogue, code: str, **overrides: Any) -> str:
    r = await c.client.post("/v1/items", json=item_body(code, **overrides), headers=c.writer())
    assert r.status_code == 201, r.text
    return r.headers["etag"]


async def publish(c: Catalogue, code: str, etag: str) -> tuple[dict[str, Any], str]:
    r = await c.client.post(f"/v1/items/{code}/draft/publish", headers=c.writer(etag))
    assert r.status_code == 200, r.text
    return r.json(), r.headers["etag"]


async def test_create_returns_the_draft_with_etag_and_location(catalogue: Catalogue) -> None:
    r = await catalogue.client.post("/v1/items", json=item_body("XK00090001"), headers=catalogue.writer())
    assert r.status_code == 201
    assert r.headers["etag"] == '"XK00090001-v1"'
    assert r.headers["location"] == "/v1/items/XK00090001/draft"
    doc = r.json()
    assert (doc["version"], doc["status"], doc["valid_from"]) == (1, "draft", None)
    assert doc["materials"][1] == {
        "code": "M02",
        "name": "结婚证",
        "required": False,
        "condition": "夫妻投靠的",
        "originals": 1,
        "copies": 0,
        "licence_types": [],
        "exchange_fetchable": False,
        "exchange_domain": None,
        "description": None,
    }
    assert doc["extension"] == {"allowed": True, "max_days": 10}
    assert doc["result"] == {"type": "licence", "name": "居民户口簿", "licence_type": "household_register"}


async def test_a_draft_is_invisible_without_catalogue_write(catalogue: Catalogue) -> None:
    await create(catalogue, "XK00090002")
    c = catalogue.client
    r = await c.get("/v1/items/XK00090002")
    assert r.status_code == 404
    assert r.json()["code"] == "no-version-in-force"
    assert (await c.get("/v1/items/XK00090002/versions")).status_code == 404
    assert (await c.get("/v1/items/XK00090002/versions/1")).status_code == 404
    assert (await c.get("/v1/items/XK00090002/draft")).status_code == 401
    listed = (await c.get("/v1/items/XK00090002/versions", headers=catalogue.writer())).json()
    assert [v["status"] for v in listed["items"]] == ["draft"]
    draft = await c.get("/v1/items/XK00090002/draft", headers=catalogue.writer())
    assert draft.status_code == 200
    assert draft.headers["etag"] == '"XK00090002-v1"'


async def test_publishing_freezes_the_version_and_a_later_patch_is_409(catalogue: Catalogue) -> None:
    etag = await create(catalogue, "XK00090003")
    published, etag = await publish(catalogue, "XK00090003", etag)
    assert published["status"] == "published"
    assert published["valid_from"] == published["published_at"]
    r = await catalogue.client.patch(
        "/v1/items/XK00090003/draft", json={"promised_limit_days": 5}, headers=catalogue.writer(etag)
    )
    assert r.status_code == 409
    assert r.json()["code"] == "version-immutable"
    assert r.headers["content-type"] == "application/problem+json"
    again = (await catalogue.client.get("/v1/items/XK00090003/versions/1")).json()
    assert again["promised_limit_days"] == 10


async def test_draft_of_the_next_version_while_the_current_stays_live(catalogue: Catalogue) -> None:
    c = catalogue.client
    etag = await create(catalogue, "XK00090004")
    _, etag = await publish(catalogue, "XK00090004", etag)
    r = await c.post(
        "/v1/items/XK00090004/draft", json={"promised_limit_days": 8}, headers=catalogue.writer(etag)
    )
    assert r.status_code == 201
    assert (r.json()["version"], r.json()["status"], r.json()["promised_limit_days"]) == (2, "draft", 8)
    etag = r.headers["etag"]
    r = await c.patch(
        "/v1/items/XK00090004/draft",
        json={"suspension": {"allowed": True, "max_days": 30}},
        headers=catalogue.writer(etag),
    )
    assert r.status_code == 200
    assert r.json()["suspension"] == {"allowed": True, "max_days": 30}
    etag = r.headers["etag"]
    live = (await c.get("/v1/items/XK00090004")).json()
    assert (live["version"], live["promised_limit_days"]) == (1, 10)
    v2, _ = await publish(catalogue, "XK00090004", etag)
    old = (await c.get("/v1/items/XK00090004/versions/1")).json()
    assert old["valid_to"] == v2["valid_from"]
    assert datetime.fromisoformat(old["valid_from"]) < datetime.fromisoformat(old["valid_to"])
    current = await c.get("/v1/items/XK00090004")
    assert current.json()["version"] == 2
    assert current.json()["valid_to"] is None
    diff = (await c.get("/v1/items/XK00090004/diff", params={"from": 1, "to": 2})).json()
    assert diff == {
        "basic_code": "XK00090004",
        "from": 1,
        "to": 2,
        "changes": [
            {"field": "promised_limit_days", "before": 10, "after": 8},
            {
                "field": "suspension",
                "before": {"allowed": False, "max_days": None},
                "after": {"allowed": True, "max_days": 30},
            },
        ],
    }


async def test_missing_if_match_is_428_and_stale_if_match_is_412(catalogue: Catalogue) -> None:
    c = catalogue.client
    etag = await create(catalogue, "XK00090005")
    r = await c.patch("/v1/items/XK00090005/draft", json={"name": "新名称"}, headers=catalogue.writer())
    assert r.status_code == 428
    assert r.json()["code"] == "if-match-required"
    r = await c.patch("/v1/items/XK00090005/draft", json={"name": "新名称"}, headers=catalogue.writer(etag))
    assert r.status_code == 200
    r = await c.patch("/v1/items/XK00090005/draft", json={"name": "再改"}, headers=catalogue.writer(etag))
    assert r.status_code == 412
    assert r.json()["current_etag"] == '"XK00090005-v2"'
    for path in ("/v1/items/XK00090005/draft/publish", "/v1/items/XK00090005/retire"):
        assert (await c.post(path, headers=catalogue.writer())).status_code == 428
        assert (await c.post(path, headers=catalogue.writer(etag))).status_code == 412
    draft = (await c.get("/v1/items/XK00090005/draft", headers=catalogue.writer())).json()
    assert draft["name"] == "新名称"


async def test_unknown_field_is_422_and_changes_nothing(catalogue: Catalogue) -> None:
    c = catalogue.client
    r = await c.post("/v1/items", json=item_body("XK00090006", colour="red"), headers=catalogue.writer())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.colour"
    assert (await c.get("/v1/items/XK00090006/versions", headers=catalogue.writer())).status_code == 404
    etag = await create(catalogue, "XK00090006")
    nested = {"materials": [{**item_body()["materials"][0], "colour": "red"}]}
    for body in ({"name": "改名", "colour": "red"}, nested):
        r = await c.patch("/v1/items/XK00090006/draft", json=body, headers=catalogue.writer(etag))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "validation-failed"
    after = await c.get("/v1/items/XK00090006/draft", headers=catalogue.writer())
    assert after.headers["etag"] == etag
    assert after.json()["name"] == "测试迁居登记"
    assert len(after.json()["materials"]) == 2


async def test_promised_limit_above_statutory_is_a_clear_422(catalogue: Catalogue) -> None:
    r = await catalogue.client.post(
        "/v1/items", json=item_body("XK00090007", promised_limit_days=30), headers=catalogue.writer()
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["code"] == "invalid-item"
    assert "promised limit 30 working days exceeds the statutory limit 20" in problem["detail"]
    assert problem["errors"] == [
        {
            "field": "promised_limit_days",
            "message": "promised limit 30 working days exceeds the statutory limit 20",
            "type": "promised_limit_exceeds_statutory",
        }
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "type_"),
    [
        ({"item_type": "public_service"}, "item_type", "item_type_mismatch"),
        ({"modes": ["joint"], "joint_roles": {}}, "joint_roles", "joint_roles_missing"),
        ({"suspension": {"allowed": True, "max_days": None}}, "__root__", "max_days_missing"),
        (
            {"result": {"type": "licence", "name": "证", "licence_type": None}},
            "result.licence_type",
            "licence_type_mismatch",
        ),
        (
            {"materials": [{"code": "M09", "name": "证明", "required": False}]},
            "materials.0.condition",
            "condition_missing",
        ),
    ],
)
async def test_domain_rules_become_422_with_document_field_names(
    catalogue: Catalogue, overrides: dict[str, Any], field: str, type_: str
) -> None:
    r = await catalogue.client.post(
        "/v1/items", json=item_body("XK00090008", **overrides), headers=catalogue.writer()
    )
    assert r.status_code == 422, r.text
    assert {"field": field, "type": type_} in [
        {"field": e["field"], "type": e["type"]} for e in r.json()["errors"]
    ]


async def test_malformed_basic_code_is_422(catalogue: Catalogue) -> None:
    r = await catalogue.client.post("/v1/items", json=item_body("XK0000000"), headers=catalogue.writer())
    assert r.status_code == 422
    r = await catalogue.client.post("/v1/items", json=item_body("ZZ00090000"), headers=catalogue.writer())
    assert r.status_code == 422
    assert r.json()["code"] == "invalid-basic-code"
    assert (await catalogue.client.get("/v1/items/xk1")).status_code == 422


async def test_duplicate_basic_code_is_409(catalogue: Catalogue) -> None:
    await create(catalogue, "XK00090009")
    r = await catalogue.client.post("/v1/items", json=item_body("XK00090009"), headers=catalogue.writer())
    assert r.status_code == 409
    assert r.json()["code"] == "item-exists"


async def test_idempotency_key_replays_the_first_response(catalogue: Catalogue) -> None:
    c = catalogue.client
    headers = catalogue.writer(**{"Idempotency-Key": "create-XK00090010"})
    first = await c.post("/v1/items", json=item_body("XK00090010"), headers=headers)
    again = await c.post("/v1/items", json=item_body("XK00090010"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await c.post("/v1/items", json=item_body("XK00090010", name="别的"), headers=headers)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency-key-reused"


async def test_writes_need_a_token_with_catalogue_write(catalogue: Catalogue) -> None:
    c = catalogue.client
    assert (await c.post("/v1/items", json=item_body("XK00090011"))).status_code == 401
    r = await c.post("/v1/items", json=item_body("XK00090011"), headers=catalogue.auth("catalogue:implement"))
    assert r.status_code == 403
    assert r.json()["code"] == "insufficient-scope"
    wrong_audience = catalogue.minter.mint("catalogue:write", audience="urn:tongban:case")
    r = await c.post(
        "/v1/items", json=item_body("XK00090011"), headers={"Authorization": f"Bearer {wrong_audience}"}
    )
    assert r.status_code == 401


async def test_retire_ends_validity_and_drops_the_item_from_lists(catalogue: Catalogue) -> None:
    c = catalogue.client
    etag = await create(catalogue, "XK00090012", name="甲乙丙丁退役测试")
    _, etag = await publish(catalogue, "XK00090012", etag)
    assert [
        i["basic_code"] for i in (await c.get("/v1/items", params={"q": "退役测试"})).json()["items"]
    ] == ["XK00090012"]
    r = await c.post("/v1/items/XK00090012/retire", headers=catalogue.writer(etag))
    assert r.status_code == 200
    assert r.json()["status"] == "retired"
    assert r.json()["valid_to"] == r.json()["retired_at"]
    assert (await c.get("/v1/items/XK00090012")).status_code == 404
    assert (await c.get("/v1/items", params={"q": "退役测试"})).json()["items"] == []
    kept = await c.get("/v1/items/XK00090012/versions/1")
    assert kept.json()["status"] == "retired"
    r = await c.post("/v1/items/XK00090012/retire", headers=catalogue.writer(r.headers["etag"]))
    assert r.status_code == 409
    assert r.json()["code"] == "not-published"


async def test_publish_without_a_draft_and_a_second_draft_are_409(catalogue: Catalogue) -> None:
    c = catalogue.client
    etag = await create(catalogue, "XK00090013")
    r = await c.post("/v1/items/XK00090013/draft", headers=catalogue.writer(etag))
    assert r.status_code == 409
    assert r.json()["code"] == "draft-exists"
    _, etag = await publish(catalogue, "XK00090013", etag)
    r = await c.post("/v1/items/XK00090013/draft/publish", headers=catalogue.writer(etag))
    assert r.status_code == 409
    assert r.json()["code"] == "no-draft"


async def test_publishing_at_the_predecessors_start_is_refused(catalogue: Catalogue) -> None:
    c = catalogue.client
    etag = await create(catalogue, "XK00090014")
    instant = datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    catalogue.set_clock(lambda: instant)
    try:
        _, etag = await publish(catalogue, "XK00090014", etag)
        r = await c.post("/v1/items/XK00090014/draft", headers=catalogue.writer(etag))
        etag = r.headers["etag"]
        r = await c.post("/v1/items/XK00090014/draft/publish", headers=catalogue.writer(etag))
        assert r.status_code == 409
        assert r.json()["code"] == "validity-overlap"
    finally:
        catalogue.set_clock(None)
    versions = (await c.get("/v1/items/XK00090014/versions", headers=catalogue.writer())).json()["items"]
    assert [(v["status"], v["valid_to"]) for v in versions] == [("published", None), ("draft", None)]


async def test_the_database_refuses_two_versions_in_force(catalogue: Catalogue) -> None:
    etag = await create(catalogue, "XK00090015")
    await publish(catalogue, "XK00090015", etag)
    async with catalogue.runtime.session_factory() as session:
        row = await session.scalar(
            select(ItemVersionRow).where(
                ItemVersionRow.basic_code == "XK00090015", ItemVersionRow.number == 1
            )
        )
        assert row is not None
        with pytest.raises(IntegrityError):
            await session.execute(
                insert(ItemVersionRow).values(
                    basic_code="XK00090015",
                    number=2,
                    state="published",
                    content=row.content,
                    created_at=row.created_at,
                    updated_at=row.updated_at,
                    published_at=row.published_at,
                    valid_from=row.valid_from,
                    valid_to=None,
                )
            )
        await session.rollback()


async def test_versions_and_unknown_ones(catalogue: Catalogue) -> None:
    c = catalogue.client
    r = await c.get("/v1/items/XK00003000/versions")
    assert r.status_code == 200
    assert [v["version"] for v in r.json()["items"]] == [1]
    assert r.headers["etag"] == (await c.get("/v1/items/XK00003000")).headers["etag"]
    r = await c.get("/v1/items/XK00003000/versions/9")
    assert r.status_code == 404
    assert r.json()["code"] == "version-not-found"
    r = await c.get("/v1/items/XK00099999")
    assert r.status_code == 404
    assert r.json()["code"] == "item-not-found"
    r = await c.get("/v1/items/XK00003000/diff", params={"from": 1, "to": 1})
    assert r.json()["changes"] == []
    assert (await c.get("/v1/items/XK00003000/diff", params={"from": 1, "to": 3})).status_code == 404


async def test_nul_characters_are_refused_before_they_reach_the_database(catalogue: Catalogue) -> None:
    from tongban_kit.http import encode_cursor

    c = catalogue.client
    r = await c.post(
        "/v1/items", json=item_body("XK00090020", name="户口\x00迁移"), headers=catalogue.writer()
    )
    assert r.status_code == 422
    assert (await c.get("/v1/items", params={"ministry": "公安\x00部"})).status_code == 422
    assert (await c.get("/v1/items", params={"q": "户口\x00"})).status_code == 422
    r = await c.get("/v1/items", params={"cursor": encode_cursor({"k": "XK0000\x003000"})})
    assert r.status_code == 400
    r = await c.get("/v1/items", params={"cursor": encode_cursor({"k": "XK00003000\n"})})
    assert r.status_code == 400
    faq = {"question": "问\x00", "answer": "答"}
    r = await c.post("/v1/items/XK00003000/faqs", json=faq, headers=catalogue.writer())
    assert r.status_code == 422
