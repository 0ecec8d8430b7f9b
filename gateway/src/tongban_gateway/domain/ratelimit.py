"""Token-bucket arithmetic and the in-memory bucket store."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


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
