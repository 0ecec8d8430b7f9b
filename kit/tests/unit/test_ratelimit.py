"""Token buckets: the arithmetic, the in-process store, and the Redis store's fallback."""

from __future__ import annotations

from tongban_kit.ratelimit import Limit, LocalBuckets, LocalLimiter, RedisBuckets, decide


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    buckets = LocalBuckets()
    limit = Limit(rate=2.0, burst=3)
    decisions = [buckets.take([("k", limit)], now=10.0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused.retry_after == 1 and refused.limit == 3 and refused.reset == 2
    assert dict(refused.headers())[b"retry-after"] == b"1"
    assert b"retry-after" not in dict(decisions[0].headers())
    assert buckets.take([("k", limit)], now=10.5).allowed  # 0.5 s at 2/s is one token
    assert not buckets.take([("k", limit)], now=10.5).allowed


def test_buckets_take_from_all_or_none() -> None:
    buckets = LocalBuckets()
    tight, loose = Limit(1.0, 1), Limit(1.0, 10)
    assert buckets.take([("ip", loose), ("client", tight)], now=0.0).allowed
    refused = buckets.take([("ip", loose), ("client", tight)], now=0.0)
    assert not refused.allowed and refused.limit == 1
    # The refused request did not spend from the loose bucket either.
    assert buckets.take([("ip", loose)], now=0.0).remaining == 8


def test_buckets_forget_idle_keys_when_full() -> None:
    buckets = LocalBuckets(max_keys=10)
    for i in range(10):
        buckets.take([(f"k{i}", Limit(1.0, 5))], now=0.0)
    buckets.take([("new", Limit(1.0, 5))], now=100.0)
    assert len(buckets) == 1


def test_a_slow_bucket_waits_for_a_whole_token() -> None:
    # Three a minute: a spent bucket has its next token in 20 s.
    buckets = LocalBuckets()
    limit = Limit(rate=3 / 60.0, burst=3)
    assert all(buckets.take([("g", limit)], now=0.0).allowed for _ in range(3))
    refused = buckets.take([("g", limit)], now=0.0)
    assert not refused.allowed and refused.retry_after == 20
    assert not buckets.take([("g", limit)], now=19.0).allowed
    assert buckets.take([("g", limit)], now=20.0).allowed
    assert buckets.take([("other", limit)], now=20.0).allowed


def test_decide_reports_the_tightest_bucket_and_the_longest_wait() -> None:
    fast, slow = Limit(rate=10.0, burst=10), Limit(rate=0.5, burst=4)
    decision = decide([(fast, 0.5), (slow, 0.0)], allowed=False)
    assert decision.limit == 4 and decision.remaining == 0
    assert decision.retry_after == 2  # the slow bucket needs 1 token at 0.5/s
    assert decision.reset == 8
    allowed = decide([(fast, 9.0), (slow, 3.0)], allowed=True)
    assert allowed.retry_after == 0 and allowed.limit == 4 and allowed.remaining == 3


async def test_local_limiter_is_the_async_face_of_local_buckets() -> None:
    limiter = LocalLimiter()
    limit = Limit(rate=1.0, burst=1)
    assert (await limiter.take([("k", limit)], now=0.0)).allowed
    assert not (await limiter.take([("k", limit)], now=0.0)).allowed
    assert len(limiter.buckets) == 1


async def test_redis_buckets_fall_back_to_local_buckets_when_redis_is_away() -> None:
    # Nothing listens on port 1: every take fails to connect and the replica limits alone.
    buckets = RedisBuckets("redis://127.0.0.1:1/0", "t:", timeout=0.2)
    try:
        limit = Limit(rate=1.0, burst=2)
        decisions = [await buckets.take([("k", limit)], now=0.0) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert buckets.failures == 3
        assert len(buckets.fallback) == 1
        assert not await buckets.ping()
    finally:
        await buckets.close()
