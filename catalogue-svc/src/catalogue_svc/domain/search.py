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
  boundaries only: ``gongjij`` (half a syllable) matches nothing. Polyphones take pypinyin's
  phrase-aware reading (重庆 → ``chongqing``); ü is written ``v`` (绿 → ``lv``).
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

``rank`` and ``InMemorySearchIndex`` implement exactly these semantics without a database; the
unit tests pin the ordering through them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

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


def _syllable_runs(han_run: str) -> list[list[str]]:
    """Pinyin syllables of a Han run, split where a character has no pinyin."""
    syllables = lazy_pinyin(han_run, errors="ignore")
    if len(syllables) != len(han_run):
        # A character without pinyin was dropped; redo it per character so positions stay aligned.
        syllables = [next(iter(lazy_pinyin(ch, errors="ignore")), "") for ch in han_run]
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
