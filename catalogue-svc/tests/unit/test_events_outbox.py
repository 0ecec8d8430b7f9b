"""Events in the outbox: the seed publishes every item and implementation; changes emit in the same transaction.

No broker runs here, so every event stays in the outbox where the test reads it back.
"""

from __future__ import annotations

from typing import Any

from catalogue_support import Catalogue, item_body
from catalogue_svc.seed import load_seed
from sqlalchemy import select
from tongban_contracts.envelope import EventEnvelope
from tongban_contracts.events.catalogue import ItemPublished, RegionImplementationChanged
from tongban_kit.outbox import OutboxMessage

PUBLISHED = "cn.gov.tongban.catalogue.item-published.v1"
RETIRED = "cn.gov.tongban.catalogue.item-retired.v1"
REGION = "cn.gov.tongban.catalogue.region-implementation-changed.v1"
CONTRACT_FIELDS = {
    "basic_code",
    "version",
    "name",
    "item_type",
    "audience",
    "modes",
    "materials",
    "statutory_limit_days",
    "promised_limit_days",
    "suspension",
    "extension",
    "joint_roles",
    "result",
    "valid_from",
    "valid_to",
    "status",
}


async def outbox(c: Catalogue, key: str | None = None) -> list[tuple[OutboxMessage, EventEnvelope]]:
    async with c.runtime.session_factory() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.position)
        if key is not None:
            query = query.where(OutboxMessage.key == key)
        rows = (await session.scalars(query)).all()
    return [(r, EventEnvelope.model_validate(r.envelope)) for r in rows]


async def test_seed_publishes_every_item_and_implementation(catalogue: Catalogue) -> None:
    seed = load_seed()
    events = [e for _, e in await outbox(catalogue) if e.sequence == 1]
    published = [e for e in events if e.type == PUBLISHED]
    regions = [e for e in events if e.type == REGION]
    assert sorted(e.subject for e in published) == sorted(i.basic_code for i in seed.items)
    assert len(regions) == sum(len(i.implementations) for i in seed.items)
    assert {e.subject for e in regions} == {
        f"{i.basic_code}/{r.region}" for i in seed.items for r in i.implementations
    }
    for event in published:
        assert event.source == "urn:tongban:catalogue"
        assert event.dataschema == "urn:tongban:schema:" + PUBLISHED
        ItemPublished.model_validate(event.data)
    for event in regions:
        RegionImplementationChanged.model_validate(event.data)


async def test_item_published_meets_the_case_contract_and_equals_the_api(catalogue: Catalogue) -> None:
    rows = await outbox(catalogue, "XK00003000")
    row, event = rows[0]
    assert (row.topic, row.key, row.sequence) == ("tongban.catalogue.item.v1", "XK00003000", 1)
    data = event.data
    assert set(data) >= CONTRACT_FIELDS
    assert isinstance(data["version"], int)
    assert data["status"] == "published"
    assert data["valid_to"] is None
    assert data["joint_roles"] == {
        "move_in": "迁入地公安机关：受理申请，审核迁入条件，办理落户",
        "move_out": "迁出地公安机关：核验户籍信息，办理迁出登记",
    }
    for material in data["materials"]:
        assert set(material) >= {
            "code",
            "name",
            "required",
            "condition",
            "licence_types",
            "exchange_fetchable",
            "exchange_domain",
        }
        assert isinstance(material["required"], bool)
        assert (material["condition"] is None) == material["required"]
    assert set(data["suspension"]) == {"allowed", "max_days"}
    assert set(data["result"]) >= {"type", "licence_type"}
    api = (await catalogue.client.get("/v1/items/XK00003000/versions/1")).json()
    assert api == data


async def test_changes_emit_events_with_gap_free_sequences(catalogue: Catalogue) -> None:
    c = catalogue.client
    r = await c.post("/v1/items", json=item_body("XK00093000"), headers=catalogue.writer())
    assert await outbox(catalogue, "XK00093000") == []  # a draft is not published
    r = await c.patch(
        "/v1/items/XK00093000/draft", json={"name": "改"}, headers=catalogue.writer(r.headers["etag"])
    )
    r = await c.post("/v1/items/XK00093000/draft/publish", headers=catalogue.writer(r.headers["etag"]))
    assert r.headers["etag"] == '"XK00093000-v3"'
    r = await c.post("/v1/items/XK00093000/retire", headers=catalogue.writer(r.headers["etag"]))
    events = [e for _, e in await outbox(catalogue, "XK00093000")]
    # The draft and its edit moved the revision (ETag v3) but wrote no event: sequences start at 1.
    assert [(e.type, e.sequence) for e in events] == [(PUBLISHED, 1), (RETIRED, 2)]
    assert events[0].data["name"] == "改"
    assert events[1].data == {"basic_code": "XK00093000", "version": 1, "retired_at": r.json()["retired_at"]}


async def test_region_change_is_keyed_by_code_and_region(catalogue: Catalogue) -> None:
    r = await catalogue.client.get("/v1/items/GG00001000/regions/330000")
    doc: dict[str, Any] = r.json()
    body = {k: doc[k] for k in ("implementation_code", "handling_org", "address", "hours", "modes", "fees")}
    body["promised_limit_days"] = 2
    r = await catalogue.client.put(
        "/v1/items/GG00001000/regions/330000", json=body, headers=catalogue.writer(r.headers["etag"])
    )
    assert r.status_code == 200
    rows = await outbox(catalogue, "GG00001000/330000")
    assert [(row.sequence, e.type) for row, e in rows] == [(1, REGION), (2, REGION)]
    latest = rows[-1][1].data
    assert (latest["promised_limit_days"], latest["version"], latest["revision"]) == (2, 1, 2)
    assert latest == r.json()


async def test_a_refused_change_emits_nothing(catalogue: Catalogue) -> None:
    before = len(await outbox(catalogue))
    r = await catalogue.client.get("/v1/items/GG00002000/regions/110000")
    body = {
        k: r.json()[k] for k in ("implementation_code", "handling_org", "address", "hours", "modes", "fees")
    }
    body["promised_limit_days"] = 999
    put = await catalogue.client.put(
        "/v1/items/GG00002000/regions/110000", json=body, headers=catalogue.writer(r.headers["etag"])
    )
    assert put.status_code == 422
    assert len(await outbox(catalogue)) == before


async def test_seed_loads_only_into_an_empty_database(catalogue: Catalogue) -> None:
    from catalogue_svc.api.deps import uow_for
    from catalogue_svc.service_layer.seeding import seed_catalogue

    assert await seed_catalogue(uow=uow_for(catalogue.runtime)) == 0
    events = [e for _, e in await outbox(catalogue, "GG00001000")]
    assert [e.type for e in events].count(PUBLISHED) == 1
