"""Search tokens for the catalogue, identical on SQLite and PostgreSQL because the database only stores them.

Why a token table: SQLite FTS5's default tokenizer treats a run of Chinese as one token, its trigram
tokenizer ignores queries under three characters, and pg_trgm drops CJK under the C locale. So the
service stores the tokens produced here in a table of its own, ``(item, token, field, weight)``,
and matches queries by token *equality* only, which every database does identically.

Indexing (``index_tokens``):

* Chinese text (every field): each run of Han characters gives its character unigrams and bigrams,
  so a one-character query matches a unigram and a longer one matches all of its bigrams.
* ASCII words (every field): runs of ``[a-z0-9]`` after NFKC folding (full-width → ASCII) and
  lower-casing, at least two characters long; the item's basic code is indexed as one such word.
* Pinyin (names only): for every run of Han characters in the name, every contiguous stretch of
  up to ``MAX_PINYIN_SYLLABLES`` syllables is stored twice — full pinyin joined without tones
  (公积金 → ``gongjijin``, also ``gongji``, ``jijin``, ``gong`` …) and initials (``gjj``, ``gj``,
  ``jj``; at least two letters). Storing every stretch is what makes prefix and infix queries
  (``hkqy`` for 户口迁移, ``gjj`` for 住房公积金) work by equality. Full pinyin matches at syllable
  boundaries only: ``gongjij`` (half a syllable) matches nothing. Each character takes its most
  common reading from pypinyin's character table, except inside the words of ``PHRASE_READINGS``
  (银行 → ``yinhang``, 给付 → ``jifu``, 重庆 → ``chongqing``), matched longest first; ü is written
  ``v`` (绿 → ``lv``). pypinyin's own phrase dictionary is not used: it costs about 45 MiB of
  memory in a service budgeted at 150 MiB, and a fixed table keeps tokens identical whatever
  pypinyin loads.
* Each (token, field) pair is stored once with its field's weight: code and name 16, materials 4,
  FAQ 1. A name weight above the sum of the lower weights guarantees that, for any query, a hit
  in the name outranks hits that are only in materials or FAQ.

Querying (``query_tokens``): the query is folded the same way; Chinese runs become their bigrams
(a single character stays a unigram), ASCII runs of two or more characters become one token each.
Every token must match (AND). Mixed queries such as ``户口 qy`` therefore need both.

Ranking (``rank``): an item's score is the sum of the weights of its stored (token, field) rows
whose token is one of the query tokens; items that lack any query token are dropped; ties break by
key. In SQL, with ``:tokens`` the distinct query tokens and ``:n`` their number::

    SELECT item_key, SUM(weight) AS score
    FROM item_search_token
    WHERE token IN (:tokens)
    GROUP BY item_key
    HAVING COUNT(DISTINCT token) = :n
    ORDER BY score DESC, item_key

The service's table (``adapters/search_index.py``) stores the rows of one token and one item as a
single row whose weight is their sum, which gives the same scores and order with ``COUNT(*)``.

``rank`` and ``InMemorySearchIndex`` implement exactly these semantics without a database; the
unit tests pin the ordering through them.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

# Skip loading pypinyin's phrase dictionary (about 45 MiB); readings come from PHRASE_READINGS instead.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")

from pypinyin import lazy_pinyin

from catalogue_svc.domain.model import FaqEntry, ItemContent, ItemVersion


class SearchField(StrEnum):
    """Which part of an item a token came from."""

    CODE = "code"
    NAME = "name"
    MATERIAL = "material"
    FAQ = "faq"


FIELD_WEIGHTS: dict[SearchField, int] = {
    SearchField.CODE: 16,
    SearchField.NAME: 16,
    SearchField.MATERIAL: 4,
    SearchField.FAQ: 1,
}

MAX_PINYIN_SYLLABLES = 10
MIN_ASCII_TOKEN = 2
MAX_QUERY_CHARS = 64
MAX_QUERY_TOKENS = 16
MAX_TOKEN_LENGTH = 64

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"
_RUN_RE = re.compile(rf"[{_HAN}]+|[a-z0-9]+")
_HAN_RE = re.compile(rf"[{_HAN}]")
_SYLLABLE_RE = re.compile(r"^[a-z]+$")


# Words of catalogue names, place names and legal terms whose characters are read otherwise than
# their most common reading. Extend when a name indexes wrongly; tokens change only for that word.
PHRASE_READINGS: dict[str, tuple[str, ...]] = {
    "银行": ("yin", "hang"),
    "行业": ("hang", "ye"),
    "给付": ("ji", "fu"),
    "给予": ("ji", "yu"),
    "供给": ("gong", "ji"),
    "补给": ("bu", "ji"),
    "会计": ("kuai", "ji"),
    "还款": ("huan", "kuan"),
    "还贷": ("huan", "dai"),
    "偿还": ("chang", "huan"),
    "退还": ("tui", "huan"),
    "归还": ("gui", "huan"),
    "返还": ("fan", "huan"),
    "长期": ("chang", "qi"),
    "长途": ("chang", "tu"),
    "重新": ("chong", "xin"),
    "重复": ("chong", "fu"),
    "调整": ("tiao", "zheng"),
    "调解": ("tiao", "jie"),
    "调剂": ("tiao", "ji"),
    "出差": ("chu", "chai"),
    "差旅": ("chai", "lv"),
    "校对": ("jiao", "dui"),
    "模具": ("mu", "ju"),
    "传记": ("zhuan", "ji"),
    "率先": ("shuai", "xian"),
    "角色": ("jue", "se"),
    "畜牧": ("xu", "mu"),
    "音乐": ("yin", "yue"),
    "乐器": ("yue", "qi"),
    "弹性": ("tan", "xing"),
    "首都": ("shou", "du"),
    "重庆": ("chong", "qing"),
    "成都": ("cheng", "du"),
    "长沙": ("chang", "sha"),
    "长春": ("chang", "chun"),
    "西藏": ("xi", "zang"),
    "藏族": ("zang", "zu"),
    "厦门": ("xia", "men"),
    "六安": ("lu", "an"),
    "蚌埠": ("beng", "bu"),
    "番禺": ("pan", "yu"),
}
_MAX_PHRASE = max(len(word) for word in PHRASE_READINGS)


class IndexToken(NamedTuple):
    """One row of the token table: the token, the field it came from and that field's weight."""

    token: str
    field: SearchField
    weight: int


def normalise(text: str) -> str:
    """Fold text the way both indexing and querying see it: NFKC, then lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def _is_han(run: str) -> bool:
    return _HAN_RE.match(run) is not None


def text_tokens(text: str) -> set[str]:
    """Unigrams and bigrams of Chinese runs, and ASCII words of two or more characters."""
    tokens: set[str] = set()
    for run in _RUN_RE.findall(normalise(text)):
        if _is_han(run):
            tokens.update(run)
            tokens.update(run[i : i + 2] for i in range(len(run) - 1))
        elif MIN_ASCII_TOKEN <= len(run) <= MAX_TOKEN_LENGTH:
            tokens.add(run)
    return tokens


@lru_cache(maxsize=16384)
def _char_reading(ch: str) -> str:
    """The most common toneless reading of one character, or "" if it has none."""
    return next(iter(lazy_pinyin(ch, errors="ignore")), "")


def _readings(han_run: str) -> list[str]:
    """One syllable per character: PHRASE_READINGS words first (longest match), else per character."""
    out: list[str] = []
    i = 0
    while i < len(han_run):
        for size in range(min(_MAX_PHRASE, len(han_run) - i), 1, -1):
            reading = PHRASE_READINGS.get(han_run[i : i + size])
            if reading is not None:
                out.extend(reading)
                i += size
                break
        else:
            out.append(_char_reading(han_run[i]))
            i += 1
    return out


def _syllable_runs(han_run: str) -> list[list[str]]:
    """Pinyin syllables of a Han run, split where a character has no pinyin."""
    syllables = _readings(han_run)
    runs: list[list[str]] = [[]]
    for syllable in syllables:
        if _SYLLABLE_RE.match(syllable):
            runs[-1].append(syllable)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def pinyin_tokens(text: str) -> set[str]:
    """Full pinyin and initials of every stretch of up to MAX_PINYIN_SYLLABLES syllables in each Han run."""
    tokens: set[str] = set()
    for run in _RUN_RE.findall(normalise(text)):
        if not _is_han(run):
            continue
        for syllables in _syllable_runs(run):
            for start in range(len(syllables)):
                for end in range(start + 1, min(start + MAX_PINYIN_SYLLABLES, len(syllables)) + 1):
                    stretch = syllables[start:end]
                    full = "".join(stretch)
                    if MIN_ASCII_TOKEN <= len(full) <= MAX_TOKEN_LENGTH:
                        tokens.add(full)
                    if len(stretch) >= MIN_ASCII_TOKEN:
                        tokens.add("".join(s[0] for s in stretch))
    return tokens


def index_tokens(item_version: ItemVersion | ItemContent, faqs: Iterable[FaqEntry] = ()) -> list[IndexToken]:
    """Every (token, field, weight) row to store for one item version and its FAQ, each pair once."""
    content = item_version.content if isinstance(item_version, ItemVersion) else item_version
    by_field: dict[SearchField, set[str]] = {f: set() for f in SearchField}
    if isinstance(item_version, ItemVersion):
        by_field[SearchField.CODE].add(normalise(item_version.basic_code))
    by_field[SearchField.NAME] |= text_tokens(content.name) | pinyin_tokens(content.name)
    for material in content.materials:
        by_field[SearchField.MATERIAL] |= text_tokens(material.name)
    for faq in faqs:
        for text in (faq.question, faq.answer, *faq.tags):
            by_field[SearchField.FAQ] |= text_tokens(text)
    return [IndexToken(token, f, FIELD_WEIGHTS[f]) for f in SearchField for token in sorted(by_field[f])]


class FaqToken(NamedTuple):
    """One row of the FAQ knowledge base's token table."""

    token: str
    field: str
    weight: int


# The question says what an entry is about; tags are the window staff's own keywords.
FAQ_FIELD_WEIGHTS: dict[str, int] = {"question": 4, "tags": 2, "answer": 1}


def faq_index_tokens(faq: FaqEntry) -> list[FaqToken]:
    """Every (token, field, weight) row to store for one FAQ entry, each pair once."""
    by_field = {
        "question": text_tokens(faq.question),
        "tags": set().union(*(text_tokens(t) for t in faq.tags)) if faq.tags else set(),
        "answer": text_tokens(faq.answer),
    }
    return [
        FaqToken(token, name, FAQ_FIELD_WEIGHTS[name])
        for name, tokens in by_field.items()
        for token in sorted(tokens)
    ]


def query_tokens(q: str) -> list[str]:
    """Tokens that must all match for query ``q``, distinct, in query order; [] if nothing searchable."""
    tokens: list[str] = []
    for run in _RUN_RE.findall(normalise(q[:MAX_QUERY_CHARS])):
        if _is_han(run):
            tokens.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        elif MIN_ASCII_TOKEN <= len(run) <= MAX_TOKEN_LENGTH:
            tokens.append(run)
    return list(dict.fromkeys(tokens))[:MAX_QUERY_TOKENS]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One ranked result: the document's key and its score."""

    key: str
    score: int


def rank(tokens: Sequence[str], index: Mapping[str, Iterable[IndexToken]]) -> list[SearchHit]:
    """Rank documents (key → their index tokens) for the query tokens, best first, as the SQL does."""
    wanted = set(tokens)
    if not wanted:
        return []
    hits: list[SearchHit] = []
    for key, rows in index.items():
        matched: set[str] = set()
        score = 0
        for row in set(rows):
            if row.token in wanted:
                matched.add(row.token)
                score += row.weight
        if matched == wanted:
            hits.append(SearchHit(key, score))
    hits.sort(key=lambda h: (-h.score, h.key))
    return hits


class InMemorySearchIndex:
    """A token table in memory with the same semantics as the SQL one (for unit tests and fakes)."""

    def __init__(self) -> None:
        self._docs: dict[str, list[IndexToken]] = {}

    def put(self, key: str, item_version: ItemVersion | ItemContent, faqs: Iterable[FaqEntry] = ()) -> None:
        """Index (or re-index) one item under ``key``."""
        self._docs[key] = index_tokens(item_version, faqs)

    def remove(self, key: str) -> None:
        """Drop an item from the index."""
        self._docs.pop(key, None)

    def search(self, q: str) -> list[SearchHit]:
        """Ranked hits for a free-text query."""
        return rank(query_tokens(q), self._docs)
