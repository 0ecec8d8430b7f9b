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

from sqlalchemy import Table, and_, delete, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from catalogue_svc.adapters.orm import FaqRow, FaqSearchTokenRow, ItemRow, SearchTokenRow
from catalogue_svc.adapters.repository import SUMMARY_COLUMNS, ItemFilters, SummaryRow, filter_conditions
from catalogue_svc.domain.model import FaqEntry, ItemVersion
from catalogue_svc.domain.search import SearchField, faq_index_tokens, index_tokens

# Rows per INSERT statement: well under SQLite's 32766 bound parameters at five columns a row.
_CHUNK = 2000
# Rows read from the head of each token's rank list before proving a page (see ``_bounded``).
_MIN_DEPTH = 100
# A token in at most this many items drives an aggregate that the page's proof could not avoid.
_DRIVER_CAP = 2000
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


def _is_after(hit: ScoredKey, cursor: ScoredKey) -> bool:
    return hit.score < cursor.score or (hit.score == cursor.score and hit.key > cursor.key)


def _filters(filters: ItemFilters) -> list[Any]:
    """Conditions on ``items`` for the filters (items with tokens are in force: only filters remain)."""
    return [] if filters == ItemFilters() else filter_conditions(filters)


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
    ) -> list[tuple[SummaryRow, int]]:
        """Items in force matching every token and the filters, best first, after the keyset position."""
        wanted = list(dict.fromkeys(tokens))
        if not wanted:
            return []
        if len(wanted) == 1:
            return await self._single_token(wanted[0], filters, after, limit)
        return await self._several_tokens(wanted, filters, after, limit)

    async def _single_token(
        self, token: str, filters: ItemFilters, after: ScoredKey | None, limit: int
    ) -> list[tuple[SummaryRow, int]]:
        """One token: its rows in rank-index order are the answer; read only the page."""
        t = SearchTokenRow
        query = (
            select(*SUMMARY_COLUMNS, t.weight)
            .join(ItemRow, ItemRow.basic_code == t.basic_code)
            .where(t.token == token, *_filters(filters))
        )
        if after is not None:
            query = query.where(
                or_(t.weight < after.score, and_(t.weight == after.score, t.basic_code > after.key))
            )
        query = query.order_by(t.weight.desc(), t.basic_code).limit(limit)
        return [(row, int(row.weight)) for row in (await self.session.execute(query)).all()]

    async def _several_tokens(
        self, tokens: list[str], filters: ItemFilters, after: ScoredKey | None, limit: int
    ) -> list[tuple[SummaryRow, int]]:
        """Several tokens: prove the page from the lists' heads, else aggregate over the rarest list."""
        depth = max(_MIN_DEPTH, 4 * limit)
        heads = await self._heads(tokens, depth)
        if not all(heads):
            return []  # a token nothing contains: no item matches them all
        bounded = await self._bounded(tokens, filters, after, limit, heads, depth)
        if bounded is not None:
            return bounded
        return await self._aggregate(tokens, filters, after, limit, driver=await self._rarest(tokens))

    async def _heads(self, tokens: list[str], depth: int) -> list[list[tuple[str, int]]]:
        """The first ``depth`` rows of each token's rank list, in one statement."""
        t = SearchTokenRow
        parts = []
        for n, token in enumerate(tokens):
            top = (
                select(t.basic_code, t.weight)
                .where(t.token == token)
                .order_by(t.weight.desc(), t.basic_code)
                .limit(depth)
                .subquery()
            )
            parts.append(select(literal(n).label("n"), top.c.basic_code, top.c.weight))
        heads: list[list[tuple[str, int]]] = [[] for _ in tokens]
        for n, code, weight in (await self.session.execute(union_all(*parts))).all():
            heads[n].append((code, int(weight)))
        for head in heads:  # UNION ALL keeps no order: restore each list's rank order
            head.sort(key=lambda row: (-row[1], row[0]))
        return heads

    async def _rarest(self, tokens: list[str]) -> str | None:
        """The token in the fewest items, if that is at most ``_DRIVER_CAP`` (counting stops there)."""
        t = SearchTokenRow
        parts = []
        for n, token in enumerate(tokens):
            capped = select(t.basic_code).where(t.token == token).limit(_DRIVER_CAP + 1).subquery()
            parts.append(select(literal(n).label("n"), func.count().label("items")).select_from(capped))
        counts = {int(n): int(c) for n, c in (await self.session.execute(union_all(*parts))).all()}
        rarest = min(counts, key=lambda n: (counts[n], n))
        return tokens[rarest] if counts[rarest] <= _DRIVER_CAP else None

    async def _aggregate(
        self,
        tokens: list[str],
        filters: ItemFilters,
        after: ScoredKey | None,
        limit: int,
        *,
        driver: str | None = None,
    ) -> list[tuple[SummaryRow, int]]:
        """The domain's SQL, literally: every token's rows, grouped per item, best first.

        With a ``driver`` token only the items in its list are grouped: every match contains it,
        so the page is the same while a rare token keeps long lists from being read in full.
        """
        t = SearchTokenRow
        score = func.sum(t.weight)
        having = [func.count() == len(tokens)]
        if after is not None:
            having.append(or_(score < after.score, and_(score == after.score, t.basic_code > after.key)))
        query = select(t.basic_code.label("basic_code"), score.label("score")).where(t.token.in_(tokens))
        if driver is not None:
            driven = aliased(SearchTokenRow)
            query = query.where(t.basic_code.in_(select(driven.basic_code).where(driven.token == driver)))
        matches = query.group_by(t.basic_code).having(*having).subquery("matches")
        # Items are joined after grouping: the token index drives the plan, never the filtered items.
        page = (
            select(*SUMMARY_COLUMNS, matches.c.score)
            .join(matches, matches.c.basic_code == ItemRow.basic_code)
            .where(*_filters(filters))
            .order_by(matches.c.score.desc(), matches.c.basic_code)
            .limit(limit)
        )
        return [(row, int(row.score)) for row in (await self.session.execute(page)).all()]

    async def _bounded(
        self,
        tokens: list[str],
        filters: ItemFilters,
        after: ScoredKey | None,
        limit: int,
        heads: list[list[tuple[str, int]]],
        depth: int,
    ) -> list[tuple[SummaryRow, int]] | None:
        """The exact page from the heads of the tokens' rank lists, or None when that is unproven.

        Score the items seen in any head in full. An item seen in no head lies below every list's
        last head row, so its score is at most the sum ``bound`` of those rows' weights, and at that
        score its code is above each of their codes. If the ``limit``-th scored candidate beats
        that, no unseen item can enter the page. A list shorter than ``depth`` holds every match,
        so it alone is the candidate set and the page is exact.
        """
        complete = min((h for h in heads if len(h) < depth), key=len, default=None)
        candidates = (
            {code for code, _ in complete} if complete is not None else {c for h in heads for c, _ in h}
        )
        scored = await self._score(tokens, filters, sorted(candidates))
        ranked = sorted(
            (hit for hit in scored if after is None or _is_after(hit, after)), key=lambda h: (-h.score, h.key)
        )
        if complete is None:
            if len(ranked) < limit:
                return None
            bound = sum(h[-1][1] for h in heads)
            top_code_at_bound = max(h[-1][0] for h in heads)
            last = ranked[limit - 1]
            if last.score < bound or (last.score == bound and last.key > top_code_at_bound):
                return None
        page = ranked[:limit]
        if not page:
            return []
        rows = await self.session.execute(
            select(*SUMMARY_COLUMNS).where(ItemRow.basic_code.in_([h.key for h in page]))
        )
        by_code = {row.basic_code: row for row in rows.all()}
        return [(by_code[h.key], h.score) for h in page]

    async def _score(self, tokens: list[str], filters: ItemFilters, codes: list[str]) -> list[ScoredKey]:
        """Full scores of the given items that contain every token and pass the filters."""
        t = SearchTokenRow
        query = select(t.basic_code, func.sum(t.weight)).where(t.token.in_(tokens), t.basic_code.in_(codes))
        if filters != ItemFilters():
            query = query.join(ItemRow, ItemRow.basic_code == t.basic_code).where(*filter_conditions(filters))
        query = query.group_by(t.basic_code).having(func.count() == len(tokens))
        return [ScoredKey(code, int(score)) for code, score in (await self.session.execute(query)).all()]

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
