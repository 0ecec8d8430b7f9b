"""Token buckets shared by every gateway replica through Redis (one atomic Lua script per request)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tongban_gateway.domain.ratelimit import Decision, Limit, LocalBuckets, decide

log = structlog.get_logger("tongban.gateway.ratelimit")

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
        """Take from every bucket atomically across replicas."""
        args: list[Any] = [cost]
        for _, limit in keys:
            args.extend((limit.rate, limit.burst))
        try:
            result = await self._script(keys=[self.key_prefix + key for key, _ in keys], args=args)
        except (RedisError, OSError) as exc:
            self.failures += 1
            if time.monotonic() - self._warned_at > 10.0:
                self._warned_at = time.monotonic()
                log.warning("rate limit store unavailable; limiting per replica", error=type(exc).__name__)
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
