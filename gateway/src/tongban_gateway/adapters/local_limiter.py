"""The in-memory limiter (one replica's buckets) behind the same async interface as Redis."""

from __future__ import annotations

from collections.abc import Sequence

from tongban_gateway.domain.ratelimit import Decision, Limit, LocalBuckets


class LocalLimiter:
    """Buckets in this process."""

    def __init__(self) -> None:
        self.buckets = LocalBuckets()

    async def take(self, keys: Sequence[tuple[str, Limit]], now: float, cost: float = 1.0) -> Decision:
        """Take from every bucket or from none."""
        return self.buckets.take(keys, now, cost)
