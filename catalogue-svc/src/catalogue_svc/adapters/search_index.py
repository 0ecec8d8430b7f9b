"""The search token tables in SQL, with exactly the semantics of ``domain/search.py``.

Matching is token equality and ranking is an integer sum, so SQLite and PostgreSQL return the same
rows in the same order. The domain's per-field rows of one token and one document are stored as one
row with their weights summed (and the fields as a bit set), so every query token must be present
(``HAVING COUNT(*) = n``, one row per token), the score is the sum of the matched rows' weights,
and ties break by key: the domain's ``rank`` exactly, with fewer rows to aggregate. Keyset
pagination continues after ``(score, key)``: lower scores, or the same score and a greater key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue_svc.adapters.orm import FaqRow, FaqSearchTokenRow, ItemRow, SearchTokenRow
from catalogue_svc.adapters.repository import ItemFilters, filter_conditions
from catalogue_svc.domain.model import FaqEntry, ItemVersion
from catalogue_svc.domain.search import SearchField, faq_index_tokens, index_tokens

# Rows per INSERT statement: well under SQLite's 32766 bound parameters at five columns a row.
_CHUNK = 2000
# Core inserts: the ORM's bulk path costs more per row than SQLite spends storing it.
_TOKENS: Table = SearchTokenRow.__table__  # type: ignore[assignment]
_FAQ_TOKENS: Table = FaqSearchTokenRow.__table__  # type: ignore[assignment]
FIELD_BITS = {SearchField.CODE: 1, SearchField.NAME: 2, SearchField.MATERIAL: 4, SearchField.FAQ: 8}
FAQ_FIELD_BITS = {"question": 1, "tags": 2, "answer": 4}


def item_token_rows(version: ItemVersion, faqs: Iterable[FaqEntry]) -> list[dict[str, Any]]:
    """The rows of one item version: one per token, weights of its fields summed, fields as bits."""
    merged: dict[str, list[int]] = {}
    for t in index_tokens(version, faqs):
        bits_weight = merged.setdefault(t.token, [0, 0])
        bits_weight[0] |= FIELD_BITS[t.field]
        bits_weight[1] += t.weight
    return [
        {
            "token": token,
            "basic_code": version.basic_code,
            "version": version.number,
            "fields": f,
            "weight": w,
        }
        for token, (f, w) in merged.items()
    ]


def faq_token_rows(faq_id: str, entry: FaqEntry) -> list[dict[str, Any]]:
    """The rows of one FAQ entry, merged per token like the item rows."""
    merged: dict[str, list[int]] = {}
    for t in faq_index_tokens(entry):
        bits_weight = merged.setdefault(t.token, [0, 0])
        bits_weight[0] |= FAQ_FIELD_BITS[t.field]
        bits_weight[1] += t.weight
    return [{"token": tk, "faq_id": faq_id, "fields": f, "weight": w} for tk, (f, w) in merged.items()]


@dataclass(frozen=True, slots=True)
class ScoredKey:
    """A matching document and its score."""

    key: str
    score: int


class SqlSearchIndex:
    """The item and FAQ token tables of one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def index_item(
        self, version: ItemVersion | None, faqs: Iterable[FaqEntry], *, basic_code: str
    ) -> None:
        """Replace an item's tokens with those of ``version`` (None: the item leaves the index)."""
        await self.session.execute(delete(SearchTokenRow).where(SearchTokenRow.basic_code == basic_code))
        if version is not None:
            await self._insert(item_token_rows(version, faqs))

    async def index_new_items(self, entries: Iterable[tuple[ItemVersion, Iterable[FaqEntry]]]) -> None:
        """Index items that have no tokens yet (the seed, bulk loads) in few statements."""
        rows = [row for version, faqs in entries for row in item_token_rows(version, faqs)]
        rows.sort(key=lambda r: (r["token"], r["basic_code"]))  # key order keeps B-tree inserts local
        await self._insert(rows)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), _CHUNK):
            await self.session.execute(_TOKENS.insert(), rows[start : start + _CHUNK])

    async def index_faq(self, faq_id: str, entry: FaqEntry) -> None:
        """Store one FAQ entry's tokens."""
        await self.session.execute(delete(FaqSearchTokenRow).where(FaqSearchTokenRow.faq_id == faq_id))
        rows = faq_token_rows(faq_id, entry)
        if rows:
            await self.session.execute(_FAQ_TOKENS.insert(), rows)

    async def search_items(
        self,
        tokens: Sequence[str],
        filters: ItemFilters,
        *,
        after: ScoredKey | None,
        limit: int,
    ) -> list[tuple[ItemRow, int]]:
        """Items in force matching every token and the filters, best first, after the keyset position."""
        if not tokens:
            return []
        score = func.sum(SearchTokenRow.weight)
        having = [func.count() == len(tokens)]
        if after is not None:
            having.append(
                or_(score < after.score, and_(score == after.score, SearchTokenRow.basic_code > after.key))
            )
        query = select(SearchTokenRow.basic_code, score.label("score")).where(
            SearchTokenRow.token.in_(list(tokens))
        )
        if filters != ItemFilters():
            # Only items in force have tokens, so the join to ``items`` is needed for filters only.
            in_filter = select(ItemRow.basic_code).where(*filter_conditions(filters))
            query = query.where(SearchTokenRow.basic_code.in_(in_filter))
        query = (
            query.group_by(SearchTokenRow.basic_code)
            .having(*having)
            .order_by(score.desc(), SearchTokenRow.basic_code)
            .limit(limit)
        )
        hits = [(code, int(s)) for code, s in (await self.session.execute(query)).all()]
        if not hits:
            return []
        rows = await self.session.scalars(select(ItemRow).where(ItemRow.basic_code.in_([c for c, _ in hits])))
        by_code = {r.basic_code: r for r in rows}
        return [(by_code[code], s) for code, s in hits if code in by_code]

    async def search_faqs(
        self,
        tokens: Sequence[str],
        *,
        basic_code: str | None,
        after: ScoredKey | None,
        limit: int,
    ) -> list[tuple[FaqRow, int]]:
        """FAQ entries matching every token, best first, after the keyset position."""
        if not tokens:
            return []
        score = func.sum(FaqSearchTokenRow.weight).label("score")
        matches = (
            select(FaqSearchTokenRow.faq_id.label("faq_id"), score)
            .where(FaqSearchTokenRow.token.in_(list(tokens)))
            .group_by(FaqSearchTokenRow.faq_id)
            .having(func.count() == len(tokens))
            .subquery("matches")
        )
        query = select(FaqRow, matches.c.score).join(matches, matches.c.faq_id == FaqRow.id)
        if basic_code is not None:
            query = query.where(FaqRow.basic_code == basic_code)
        if after is not None:
            query = query.where(
                or_(
                    matches.c.score < after.score, and_(matches.c.score == after.score, FaqRow.id > after.key)
                )
            )
        query = query.order_by(matches.c.score.desc(), FaqRow.id).limit(limit)
        return [(row, int(s)) for row, s in (await self.session.execute(query)).all()]
