"""Human case numbers from a counter row per (handling region, day)."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_kit.db import increment_counter

from case_svc.adapters.orm import CounterRow


async def next_value(session: AsyncSession, region: str, day: str, *, step: int = 1) -> int:
    """Increment the day's counter of a region by ``step`` and return its new value."""
    table = CounterRow.__table__
    assert isinstance(table, Table)
    return await increment_counter(session, table, {"region": region, "day": day}, step=step)
