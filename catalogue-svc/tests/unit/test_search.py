"""Search tokens and ranking: Chinese bigrams, pinyin, initials, weights, AND semantics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from catalogue_svc.domain.model import FaqEntry, Item, parse_item_content
from catalogue_svc.domain.search import (
    FIELD_WEIGHTS,
    MAX_QUERY_TOKENS,
    PHRASE_READINGS,
    IndexToken,
    InMemorySearchIndex,
    SearchField,
    SearchHit,
    index_tokens,
    pinyin_tokens,
    query_tokens,
    rank,
    text_tokens,
)
from catalogue_svc.seed import SeedData, load_seed

HUKOU_CODES = {f"XK0000300{i}" for i in range(6)}
GJJ_CODES = {"GG00007000", "GG00008000"}


@pytest.fixture(scope="module")
def seed() -> SeedData:
    return load_seed()


@pytest.fixture(scope="module")
def index(seed: SeedData) -> InMemorySearchIndex:
    idx = InMemorySearchIndex()
    for item in seed.items:
        idx.put(item.basic_code, item.content, item.faqs)
    return idx


def keys(hits: list[SearchHit]) -> list[str]:
    return [h.key for h in hits]


# --- tokenizers ---------------------------------------------------------------------------------------


def test_chinese_text_gives_unigrams_and_bigrams() -> None:
    assert text_tokens("户口迁移") == {"户", "口", "迁", "移", "户口", "口迁", "迁移"}
    assert text_tokens("居民户口簿（复印件）") >= {"户口", "口簿", "复印", "印件"}
    assert "簿复" not in text_tokens("居民户口簿（复印件）")


def test_ascii_words_are_folded_and_short_ones_dropped() -> None:
    assert text_tokens("ＩＣＰ 许可 B2B a") >= {"icp", "b2b"}
    assert "a" not in text_tokens("ＩＣＰ 许可 B2B a")


def test_pinyin_covers_every_stretch_with_full_syllables_and_initials() -> None:
    tokens = pinyin_tokens("住房公积金")
    assert {"gongjijin", "gongji", "jijin", "zhufanggongjijin", "gjj", "zfgjj", "fg"} <= tokens
    assert "gongjij" not in tokens
    assert "g" not in tokens
    assert {"hukouqianyi", "hkqy", "qianyi", "qy"} <= pinyin_tokens("户口迁移")


def test_pinyin_uses_the_phrase_table_then_common_readings() -> None:
    assert "chongqing" in pinyin_tokens("重庆市")
    assert {"yinhang", "yh"} <= pinyin_tokens("银行卡")
    assert "xingzhengjifu" in pinyin_tokens("行政给付")
    assert "zhongda" in pinyin_tokens("重大")  # outside the table: the most common reading
    assert "diaodong" in pinyin_tokens("工作调动")
    assert "lvse" in pinyin_tokens("绿色")
    assert len(PHRASE_READINGS) > 20
    assert all(len(reading) == len(word) for word, reading in PHRASE_READINGS.items())


def test_pinyin_stops_at_punctuation() -> None:
    tokens = pinyin_tokens("户口（迁移）")
    assert "hk" in tokens and "qy" in tokens
    assert "kq" not in tokens


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("户口", ["户口"]),
        ("户", ["户"]),
        ("户口迁移", ["户口", "口迁", "迁移"]),
        ("HKQY", ["hkqy"]),
        ("ｇｊｊ", ["gjj"]),
        ("gongjijin", ["gongjijin"]),
        ("户口 qy", ["户口", "qy"]),
        ("户口户口", ["户口", "口户"]),
        ("a", []),
        ("  ", []),
        ("？！", []),
    ],
)
def test_query_tokens(q: str, expected: list[str]) -> None:
    assert query_tokens(q) == expected


def test_query_tokens_are_bounded() -> None:
    assert len(query_tokens("户口迁移" * 50)) <= MAX_QUERY_TOKENS


def test_index_tokens_store_each_pair_once_with_field_weights(content: Any) -> None:
    faqs = [FaqEntry(question="户口迁移要多久？", answer="二十个工作日。", tags=("户口",))]
    rows = index_tokens(content, faqs)
    assert len(rows) == len(set(rows))
    assert len({(r.token, r.field) for r in rows}) == len(rows)
    by_field: dict[SearchField, set[str]] = {}
    for r in rows:
        assert r.weight == FIELD_WEIGHTS[r.field]
        by_field.setdefault(r.field, set()).add(r.token)
    assert {"户口", "hkqy", "hukouqianyi"} <= by_field[SearchField.NAME]
    assert "户口" in by_field[SearchField.MATERIAL]
    assert "hkqy" not in by_field[SearchField.MATERIAL]
    assert {"户口", "工作"} <= by_field[SearchField.FAQ]
    assert SearchField.CODE not in by_field  # plain content has no code


def test_name_weight_outranks_all_lower_fields_together() -> None:
    lower = sum(w for f, w in FIELD_WEIGHTS.items() if f not in (SearchField.NAME, SearchField.CODE))
    assert FIELD_WEIGHTS[SearchField.NAME] > lower
    assert FIELD_WEIGHTS[SearchField.MATERIAL] > FIELD_WEIGHTS[SearchField.FAQ]


# --- ranking semantics -------------------------------------------------------------------------------


def test_rank_orders_name_over_material_over_faq(content_data: Callable[..., dict[str, Any]]) -> None:
    in_name = parse_item_content(content_data(name="社保卡申领", materials=[]))
    in_material = parse_item_content(
        content_data(
            name="失业登记", materials=[{"code": "M01", "name": "社保卡", "requirement": "required"}]
        )
    )
    in_faq = parse_item_content(content_data(name="学历公证", materials=[]))
    faq = [FaqEntry(question="可以用社保卡吗？", answer="可以。")]
    docs = {
        "c-faq": index_tokens(in_faq, faq),
        "b-material": index_tokens(in_material),
        "a-name": index_tokens(in_name),
        "d-none": index_tokens(parse_item_content(content_data(name="排污许可", materials=[]))),
    }
    hits = rank(query_tokens("社保"), docs)
    assert keys(hits) == ["a-name", "b-material", "c-faq"]
    assert hits[0].score == FIELD_WEIGHTS[SearchField.NAME]


def test_rank_sums_fields_and_breaks_ties_by_key() -> None:
    docs = {
        "b": [IndexToken("户口", SearchField.NAME, 16)],
        "a": [IndexToken("户口", SearchField.NAME, 16)],
        "c": [IndexToken("户口", SearchField.NAME, 16), IndexToken("户口", SearchField.FAQ, 1)],
    }
    assert rank(["户口"], docs) == [SearchHit("c", 17), SearchHit("a", 16), SearchHit("b", 16)]


def test_rank_requires_every_token_and_empty_query_finds_nothing() -> None:
    docs = {"x": [IndexToken("户口", SearchField.NAME, 16)], "y": [IndexToken("迁移", SearchField.NAME, 16)]}
    assert rank(["户口", "迁移"], docs) == []
    assert rank([], docs) == []


# --- the seed catalogue, end to end ------------------------------------------------------------------


def test_hukou_finds_hukou_migration_first(index: InMemorySearchIndex) -> None:
    hits = keys(index.search("户口"))
    assert set(hits[:6]) == HUKOU_CODES
    assert "GG00006000" in hits[6:]  # 居民户口簿 is only a material there


def test_pinyin_initials_find_hukou_migration(index: InMemorySearchIndex) -> None:
    assert set(keys(index.search("hkqy"))) == HUKOU_CODES
    assert set(keys(index.search("HKQY"))) == HUKOU_CODES
    assert keys(index.search("fqtk hkqy")) == ["XK00003004"]


def test_gjj_and_gongjijin_find_housing_fund_items(index: InMemorySearchIndex) -> None:
    assert set(keys(index.search("gjj"))) == GJJ_CODES
    assert set(keys(index.search("gongjijin"))) == GJJ_CODES
    assert keys(index.search("gftq gjj")) == ["GG00008000"]  # 购房提取


def test_gongjijin_in_chinese_ranks_names_first(index: InMemorySearchIndex) -> None:
    hits = index.search("公积金")
    assert set(keys(hits)[:2]) == GJJ_CODES
    assert all(h.score >= 2 * FIELD_WEIGHTS[SearchField.NAME] for h in hits[:2])


def test_mixed_queries_and_together(index: InMemorySearchIndex) -> None:
    assert keys(index.search("户口 gjj")) == []
    assert keys(index.search("养老 chengxiang")) == ["GG00006000"]


def test_materials_and_faq_are_searchable(index: InMemorySearchIndex) -> None:
    assert "GG00001000" in keys(index.search("转诊"))  # material 转诊转院证明
    assert keys(index.search("集体户")) == ["XK00003002"]  # only in that item's FAQ answer
    assert keys(index.search("不存在的事项名")) == []


def test_code_search_with_a_version(seed: SeedData, t0: Any) -> None:
    item = Item.create("GG00007000", seed.item("GG00007000").content, now=t0)
    rows = index_tokens(item.latest)
    assert IndexToken("gg00007000", SearchField.CODE, FIELD_WEIGHTS[SearchField.CODE]) in rows
    idx = InMemorySearchIndex()
    idx.put("GG00007000", item.latest)
    assert keys(idx.search("GG00007000")) == ["GG00007000"]
    idx.remove("GG00007000")
    assert idx.search("GG00007000") == []
