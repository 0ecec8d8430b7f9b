"""Per-grant rate limits: a token bucket refilled at the grant's rate per minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``capacity`` per 60 seconds."""

    capacity: int
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; 0.0 when taken, else the seconds until one is available."""
        rate = self.capacity / 60.0
        self.tokens = min(float(self.capacity), self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate


class RateLimiter:
    """One bucket per grant in this process (replicas each enforce the limit; see README)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, grant_id: str, per_minute: int) -> float:
        """Take one call from the grant's budget; 0.0 if allowed, else seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(grant_id)
        if bucket is None or bucket.capacity != per_minute:
            bucket = TokenBucket(per_minute, float(per_minute), now)
            self._buckets[grant_id] = bucket
        return bucket.take(now)
