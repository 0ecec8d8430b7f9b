"""Human case numbers from a counter row per (handling region, day): an upsert that returns the value."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from case_svc.adapters.orm import CounterRow


async def next_value(session: AsyncSession, region: str, day: str, *, step: int = 1) -> int:
    """Increment the day's counter of a region by ``step`` and return its new value.

    INSERT … ON CONFLICT DO UPDATE … RETURNING works the same on SQLite and PostgreSQL and holds the
    row lock only until the surrounding transaction ends.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(CounterRow)
        .values(region=region, day=day, value=step)
        .on_conflict_do_update(
            index_elements=[CounterRow.region, CounterRow.day],
            set_={"value": CounterRow.__table__.c.value + step},
        )
        .returning(CounterRow.value)
    )
    return int((await session.execute(stmt)).scalar_one())
