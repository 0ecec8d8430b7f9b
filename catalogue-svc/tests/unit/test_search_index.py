"""The SQL search paths (one token, bounded heads, plain aggregate) return identical pages on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalogue_support import check_bounded_search_is_exact
from catalogue_svc.adapters import search_index
from catalogue_svc.adapters.orm import Base
from tongban_kit.db import make_engine, make_session_factory


@pytest.mark.parametrize(("seed", "driver_cap"), [(1, 3000), (2, 3000), (3, 50), (4, 0)])
async def test_bounded_and_single_token_search_equal_the_aggregate(
    tmp_path: Path, seed: int, driver_cap: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "_DRIVER_CAP", driver_cap)  # 0: the plain aggregate is the fallback
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        assert await check_bounded_search_is_exact(make_session_factory(engine), seed=seed) >= 40
    finally:
        await engine.dispose()
