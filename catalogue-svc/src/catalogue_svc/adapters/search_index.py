"""The search token tables in SQL, with exactly the semantics of ``domain/search.py``.

Matching is token equality and ranking is an integer sum, so SQLite and PostgreSQL return the same
rows in the same order: every query token must be present (``HAVING COUNT(DISTINCT token) = n``),
the score is the sum of the matched rows' weights, ties break by key. Keyset pagination continues
after ``(score, key)``: lower scores, or the same score and a greater key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue_svc.adapters.orm import FaqRow, FaqSearchTokenRow, ItemRow, SearchTokenRow
from catalogue_svc.adapters.repository import ItemFilters, filter_conditions
from catalogue_svc.domain.model import FaqEntry, ItemVersion
from catalogue_svc.domain.search import faq_index_tokens, index_tokens

# Rows per INSERT statement: well under SQLite's 32766 bound parameters at five columns a row.
_CHUNK = 2000


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
        if version is None:
            return
        rows = [
            {
                "token": t.token,
                "basic_code": basic_code,
                "field": t.field.value,
                "version": version.number,
                "weight": t.weight,
            }
            for t in index_tokens(version, faqs)
        ]
        for start in range(0, len(rows), _CHUNK):
            await self.session.execute(insert(SearchTokenRow), rows[start : start + _CHUNK])

    async def index_faq(self, faq_id: str, entry: FaqEntry) -> None:
        """Store one FAQ entry's tokens."""
        await self.session.execute(delete(FaqSearchTokenRow).where(FaqSearchTokenRow.faq_id == faq_id))
        rows = [
            {"token": t.token, "faq_id": faq_id, "field": t.field, "weight": t.weight}
            for t in faq_index_tokens(entry)
        ]
        if rows:
            await self.session.execute(insert(FaqSearchTokenRow), rows)

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
        score = func.sum(SearchTokenRow.weight).label("score")
        matches = (
            select(SearchTokenRow.basic_code.label("basic_code"), score)
            .where(SearchTokenRow.token.in_(list(tokens)))
            .group_by(SearchTokenRow.basic_code)
            .having(func.count(SearchTokenRow.token.distinct()) == len(tokens))
            .subquery("matches")
        )
        query = (
            select(ItemRow, matches.c.score)
            .join(matches, matches.c.basic_code == ItemRow.basic_code)
            .where(*filter_conditions(filters))
        )
        if after is not None:
            query = query.where(
                or_(
                    matches.c.score < after.score,
                    and_(matches.c.score == after.score, ItemRow.basic_code > after.key),
                )
            )
        query = query.order_by(matches.c.score.desc(), ItemRow.basic_code).limit(limit)
        return [(row, int(s)) for row, s in (await self.session.execute(query)).all()]

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
            .having(func.count(FaqSearchTokenRow.token.distinct()) == len(tokens))
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
