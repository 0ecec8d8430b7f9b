"""Listing and search over HTTP on SQLite: Chinese bigrams, pinyin, filters, keyset pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from catalogue_support import Catalogue
from catalogue_svc.domain.search import InMemorySearchIndex
from catalogue_svc.seed import load_seed

HUKOU = ["XK00003000", "XK00003001", "XK00003002", "XK00003003", "XK00003004", "XK00003005"]
QUERIES = [
    "户口",
    "hkqy",
    "户口迁移",
    "公积金",
    "gjj",
    "养老保险",
    "社保卡",
    "证明",
    "登记",
    "hukou",
    "身份证",
    "XK00003000",
]


async def codes(c: Catalogue, **params: Any) -> list[str]:
    r = await c.client.get("/v1/items", params=params)
    assert r.status_code == 200, r.text
    return [i["basic_code"] for i in r.json()["items"]]


async def walk(c: Catalogue, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, following next_cursor."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = (
            await c.client.get("/v1/items", params={**params, **({"cursor": cursor} if cursor else {})})
        ).json()
        out.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return out


async def test_two_characters_find_hukou_migration_first(catalogue: Catalogue) -> None:
    found = await codes(catalogue, q="户口", limit=50)
    assert found[: len(HUKOU)] == HUKOU
    names = [
        i["name"] for i in (await catalogue.client.get("/v1/items", params={"q": "户口"})).json()["items"]
    ]
    assert names[0] == "户口迁移"


async def test_pinyin_initials_and_full_pinyin_find_hukou_migration(catalogue: Catalogue) -> None:
    assert await codes(catalogue, q="hkqy") == HUKOU
    assert (await codes(catalogue, q="hukouqianyi"))[:1] == ["XK00003000"]
    assert set(await codes(catalogue, q="gjj")) == {"GG00007000", "GG00008000"}
    assert await codes(catalogue, q="zzzq") == []


def in_memory_ranking(query: str) -> list[str]:
    index = InMemorySearchIndex()
    for seed_item in load_seed().items:
        item, _ = seed_item.materialise(now=datetime(2026, 1, 1, tzinfo=UTC))
        assert item.current is not None
        index.put(seed_item.basic_code, item.current, seed_item.faqs)
    return [h.key for h in index.search(query)]


@pytest.mark.parametrize("query", QUERIES)
async def test_sql_ranking_equals_the_domain_ranking(catalogue: Catalogue, query: str) -> None:
    expected = in_memory_ranking(query)
    assert [i["basic_code"] for i in await walk(catalogue, q=query, limit=100)] == expected


async def test_scores_are_returned_best_first(catalogue: Catalogue) -> None:
    items = (await catalogue.client.get("/v1/items", params={"q": "户口", "limit": 50})).json()["items"]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]


async def test_filters(catalogue: Catalogue) -> None:
    assert set(await codes(catalogue, mode="joint", limit=100)) == {
        *HUKOU,
        "GG00005000",
        "GG00018000",
    }
    legal = await codes(catalogue, audience="legal_person", limit=100)
    assert set(legal) == {"GG00009000", "QR00017000", "XK00013000", "XK00015000", "XK00016000"}
    assert set(await codes(catalogue, item_type="confirmation")) == {"QR00017000"}
    assert set(await codes(catalogue, ministry="住房和城乡建设部")) == {"GG00007000", "GG00008000"}
    assert "XK00016000" not in await codes(catalogue, region="510000", limit=100)
    assert "XK00016000" in await codes(catalogue, region="440000", limit=100)
    # 户口迁移 is joint only; an online item that asks for the 户口簿 remains.
    assert await codes(catalogue, q="户口", mode="online") == ["GG00006000"]
    assert await codes(catalogue, q="公积金", ministry="住房和城乡建设部", mode="proxy", region="310000") == [
        "GG00007000",
        "GG00008000",
    ]


async def test_keyset_pagination_walks_every_item_once(catalogue: Catalogue) -> None:
    everything = await codes(catalogue, limit=100)
    assert len(everything) == 23
    assert everything == sorted(everything)
    paged = [i["basic_code"] for i in await walk(catalogue, limit=4)]
    assert paged == everything
    first = (await catalogue.client.get("/v1/items", params={"limit": 23})).json()
    assert first["next_cursor"] is None


async def test_keyset_pagination_of_search_results(catalogue: Catalogue) -> None:
    full = [i["basic_code"] for i in await walk(catalogue, q="登记", limit=100)]
    assert len(full) > 3
    assert [i["basic_code"] for i in await walk(catalogue, q="登记", limit=2)] == full
    assert [i["basic_code"] for i in await walk(catalogue, q="户口", limit=1)] == await codes(
        catalogue, q="户口", limit=100
    )


async def test_bad_cursors_and_parameters_are_refused(catalogue: Catalogue) -> None:
    c = catalogue.client
    assert (await c.get("/v1/items", params={"cursor": "!!!"})).status_code == 400
    plain = (await c.get("/v1/items", params={"limit": 1})).json()["next_cursor"]
    r = await c.get("/v1/items", params={"q": "户口", "cursor": plain})
    assert r.status_code == 400
    assert r.json()["code"] == "bad-cursor"
    searched = (await c.get("/v1/items", params={"q": "户口", "limit": 1})).json()["next_cursor"]
    assert (await c.get("/v1/items", params={"cursor": searched})).status_code == 400
    assert (await c.get("/v1/items", params={"limit": 0})).status_code == 422
    assert (await c.get("/v1/items", params={"mode": "fax"})).status_code == 422
    assert (await c.get("/v1/items", params={"q": "。，！"})).json()["items"] == []


async def test_list_summaries_carry_the_facts_of_the_version_in_force(catalogue: Catalogue) -> None:
    items = (await catalogue.client.get("/v1/items", params={"q": "hkqy", "limit": 1})).json()["items"]
    summary = items[0]
    assert summary["basic_code"] == "XK00003000"
    assert (summary["version"], summary["item_type"], summary["ministry"]) == (1, "licensing", "公安部")
    assert (summary["modes"], summary["audience"]) == (["joint"], ["natural_person"])
    assert (summary["statutory_limit_days"], summary["promised_limit_days"]) == (20, 10)
