"""Two hubs (two replicas over one database) share each grant's rate limit through the real Redis."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tongban_kit.ids import new_id
from tongban_kit.testing import ensure_redis

pytestmark = pytest.mark.integration

LIMIT = 3
ITEM = "GG00031001"


def _hubkit() -> Any:
    if "exchange_hubkit" in sys.modules:
        return sys.modules["exchange_hubkit"]
    spec = importlib.util.spec_from_file_location("exchange_hubkit", Path(__file__).parents[1] / "hubkit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["exchange_hubkit"] = module
    spec.loader.exec_module(module)
    return module


@contextlib.asynccontextmanager
async def two_hubs(tmp: Path, **overrides: Any) -> AsyncIterator[tuple[Any, Any]]:
    """Two hub apps on one SQLite file; the second trusts the first's tokens and sees its cases."""
    hubkit = _hubkit()
    async with hubkit.running_hub(tmp, **overrides) as one, hubkit.running_hub(tmp, **overrides) as two:
        two.app.state.runtime.verifier.set_keys(one.minter.jwks)
        two.cases.cases = one.cases.cases
        yield one, two


async def _queries_allowed(one: Any, two: Any) -> list[int]:
    """Grant LIMIT a minute, then send 2 × LIMIT queries alternating between the hubs."""
    emp = await one.resource("employment")
    await one.grant(
        resource_id=emp["id"], items=[ITEM], allowed_fields=["employment_status"], rate_limit_per_minute=LIMIT
    )
    person = one.subject()
    case_id = one.cases.add(item_code=ITEM)
    await one.consent(person, case_id, ["employment"])
    statuses = []
    for i in range(2 * LIMIT):
        hub = (one, two)[i % 2]
        r = await hub.query(
            person,
            case_id,
            resource="employment",
            item=ITEM,
            fields=["employment_status"],
            headers=one.platform(),
        )
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.json()["code"] == "rate-limited"
            # One token a 20 s at three a minute: the wait is whole seconds, never zero.
            assert 1 <= int(r.headers["Retry-After"]) <= 20
    refused = [e for e in await one.audit(case_id=case_id) if e["reason"] == "rate-limited"]
    assert len(refused) == statuses.count(429)
    assert all(e["outcome"] == "refused" for e in refused)
    return statuses


async def test_two_hubs_sharing_redis_allow_only_the_grant_limit(tmp_path: Path) -> None:
    url = ensure_redis()
    prefix = f"tongban:test:exchange:{new_id()}:"
    async with two_hubs(tmp_path, redis_url=url, redis_key_prefix=prefix) as (one, two):
        statuses = await _queries_allowed(one, two)
        # The slow refill (one token each 20 s) cannot add a token within the test.
        assert statuses.count(200) == LIMIT, statuses
        assert statuses.count(429) == LIMIT, statuses
        limiter = one.app.state.runtime.extras["limiter"]
        assert limiter.failures == 0 and len(limiter.fallback) == 0
        keys = [k async for k in limiter.redis.scan_iter(match=prefix + "*")]
        assert len(keys) == 1
        await limiter.redis.delete(*keys)


async def test_without_redis_each_hub_has_its_own_buckets(tmp_path: Path) -> None:
    # The contrast that shows the shared case is not vacuous: per process, two hubs allow twice.
    async with two_hubs(tmp_path) as (one, two):
        statuses = await _queries_allowed(one, two)
        assert statuses.count(200) == 2 * LIMIT, statuses
