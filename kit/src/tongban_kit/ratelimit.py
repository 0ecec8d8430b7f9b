"""Token buckets: kept in this process, or shared by every replica through Redis (one Lua script a take)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("tongban.ratelimit")


@dataclass(frozen=True)
class Limit:
    """A bucket refilling ``rate`` tokens per second up to ``burst``."""

    rate: float
    burst: int


@dataclass(frozen=True)
class Decision:
    """The outcome of taking one token from every bucket a request touches."""

    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-*`` headers (and ``Retry-After`` when refused)."""
        out = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
        ]
        if not self.allowed:
            out.append((b"retry-after", str(self.retry_after).encode()))
        return out


def decide(levels: Sequence[tuple[Limit, float]], allowed: bool, cost: float = 1.0) -> Decision:
    """Summarise buckets (limit, tokens left) into one decision; the tightest bucket is reported."""
    limit, tokens = min(levels, key=lambda lt: lt[1] / lt[0].burst)
    retry = 0.0
    if not allowed:
        retry = max((cost - left) / lim.rate for lim, left in levels if left < cost)
    reset = (limit.burst - tokens) / limit.rate
    return Decision(
        allowed=allowed,
        limit=limit.burst,
        remaining=max(0, math.floor(tokens)),
        reset=max(0, math.ceil(reset)),
        retry_after=max(1, math.ceil(retry)) if not allowed else 0,
    )


class LocalBuckets:
    """Buckets kept in this process; full buckets are forgotten so memory stays bounded."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self.max_keys = max_keys

    def take(self, keys: Sequence[tuple[str, Limit]], now: float, cost: float = 1.0) -> Decision:
        """Take ``cost`` from every bucket if all have it, else from none."""
        levels: list[tuple[Limit, float]] = []
        for key, limit in keys:
            tokens, stamp = self._buckets.get(key, (float(limit.burst), now))
            levels.append((limit, min(float(limit.burst), tokens + max(0.0, now - stamp) * limit.rate)))
        allowed = all(tokens >= cost for _, tokens in levels)
        if allowed:
            levels = [(limit, tokens - cost) for limit, tokens in levels]
        if len(self._buckets) >= self.max_keys:
            self._prune(now)
        for (key, _), (_, tokens) in zip(keys, levels, strict=True):
            self._buckets[key] = (tokens, now)
        return decide(levels, allowed, cost)

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled (they equal a fresh bucket); a crude bound under attack."""
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0}
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()

    def __len__(self) -> int:
        return len(self._buckets)


class Limiter(Protocol):
    """Anything that takes tokens from a set of buckets (in memory or in Redis)."""

    async def take(self, keys: Sequence[tuple[str, Limit]], now: float, cost: float = 1.0) -> Decision:
        """Take from every bucket or from none."""
        ...


class LocalLimiter:
    """Buckets in this process behind the same async interface as Redis."""

    def __init__(self) -> None:
        self.buckets = LocalBuckets()

    async def take(self, keys: Sequence[tuple[str, Limit]], now: float, cost: float = 1.0) -> Decision:
        """Take from every bucket or from none."""
        return self.buckets.take(keys, now, cost)


# KEYS: the buckets; ARGV[1]: cost, then rate and burst per bucket. Uses the server's clock so
# replicas with skewed clocks agree, takes from every bucket or from none, and lets idle buckets
# expire once they would be full again.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local levels = {}
local allowed = 1
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local v = redis.call('HMGET', KEYS[i], 't', 's')
  local tokens = tonumber(v[1])
  local stamp = tonumber(v[2])
  if tokens == nil or stamp == nil then
    tokens = burst
    stamp = now
  end
  tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
  levels[i] = tokens
  if tokens < cost then allowed = 0 end
end
local out = {allowed}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tokens = levels[i]
  if allowed == 1 then tokens = tokens - cost end
  redis.call('HSET', KEYS[i], 't', tostring(tokens), 's', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil((burst - tokens) / rate * 1000) + 1000)
  out[i + 1] = tostring(tokens)
end
return out
"""


class RedisBuckets:
    """Buckets in Redis; when Redis fails the replica falls back to its own buckets and says so."""

    def __init__(self, url: str, key_prefix: str, timeout: float) -> None:
        self.redis: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self.key_prefix = key_prefix
        self._script: Any = self.redis.register_script(TAKE_SCRIPT)
        self.fallback = LocalBuckets()
        self._warned_at = 0.0
        self.failures = 0

    async def take(self, keys: Sequence[tuple[str, Limit]], now: float, cost: float = 1.0) -> Decision:
        """Take from every bucket atomically across replicas (``now`` only matters in the fallback)."""
        args: list[Any] = [cost]
        for _, limit in keys:
            args.extend((limit.rate, limit.burst))
        try:
            result = await self._script(keys=[self.key_prefix + key for key, _ in keys], args=args)
        except (RedisError, OSError) as exc:
            self.failures += 1
            if time.monotonic() - self._warned_at > 10.0:
                self._warned_at = time.monotonic()
                log.warning(
                    "rate limit store unavailable; limiting per replica",
                    error=type(exc).__name__,
                    key_prefix=self.key_prefix,
                )
            return self.fallback.take(keys, now, cost)
        allowed = int(result[0]) == 1
        levels = [(limit, float(tokens)) for (_, limit), tokens in zip(keys, result[1:], strict=True)]
        return decide(levels, allowed, cost)

    async def ping(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(await self.redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
