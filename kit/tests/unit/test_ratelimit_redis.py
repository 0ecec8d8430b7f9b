"""The Redis bucket store against the real local Redis: two stores (two replicas) share one budget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tongban_kit.ids import new_id
from tongban_kit.ratelimit import Limit, RedisBuckets
from tongban_kit.testing import ensure_redis

pytestmark = pytest.mark.integration


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[RedisBuckets, RedisBuckets]]:
    url, prefix = ensure_redis(), f"tongban:test:rl:{new_id()}:"
    one, two = RedisBuckets(url, prefix, 1.0), RedisBuckets(url, prefix, 1.0)
    try:
        yield one, two
    finally:
        keys = [k async for k in one.redis.scan_iter(match=prefix + "*")]
        if keys:
            await one.redis.delete(*keys)
        await one.close()
        await two.close()


async def test_two_stores_share_one_bucket(replicas: tuple[RedisBuckets, RedisBuckets]) -> None:
    one, two = replicas
    assert await one.ping()
    # A slow refill (one token a minute) so the server clock cannot add a token during the test.
    limit = Limit(rate=1 / 60.0, burst=4)
    decisions = [await (one if i % 2 else two).take([("grant", limit)], now=0.0) for i in range(8)]
    assert [d.allowed for d in decisions] == [True] * 4 + [False] * 4
    assert decisions[3].remaining == 0
    assert all(d.retry_after >= 59 for d in decisions[4:])
    assert one.failures == two.failures == 0
    assert len(one.fallback) == len(two.fallback) == 0


async def test_redis_takes_from_all_buckets_or_none(replicas: tuple[RedisBuckets, RedisBuckets]) -> None:
    one, two = replicas
    tight, loose = Limit(1 / 60.0, 1), Limit(1 / 60.0, 10)
    assert (await one.take([("ip", loose), ("client", tight)], now=0.0)).allowed
    refused = await two.take([("ip", loose), ("client", tight)], now=0.0)
    assert not refused.allowed and refused.limit == 1
    assert (await one.take([("ip", loose)], now=0.0)).remaining == 8


async def test_idle_buckets_expire_in_redis(replicas: tuple[RedisBuckets, RedisBuckets]) -> None:
    one, _ = replicas
    await one.take([("k", Limit(rate=1.0, burst=5))], now=0.0)
    ttl = await one.redis.pttl(one.key_prefix + "k")
    # One token short of full at 1/s: full again in 1 s, kept 1 s longer.
    assert 0 < ttl <= 2000
