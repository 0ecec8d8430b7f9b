"""Retry policy: which methods may be retried, and a budget so retries cannot multiply load."""

from __future__ import annotations

import time
from collections.abc import Callable

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})


class RetryBudget:
    """Each request earns ``ratio`` of a retry, plus ``min_per_second`` for quiet periods; capped."""

    def __init__(
        self,
        ratio: float,
        min_per_second: float,
        cap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.cap = cap if cap is not None else max(10.0, min_per_second * 10.0)
        self._clock = clock
        self._balance = self.cap
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._balance = min(self.cap, self._balance + (now - self._stamp) * self.min_per_second)
        self._stamp = now

    def on_request(self) -> None:
        """Credit a first attempt."""
        self._balance = min(self.cap, self._balance + self.ratio)

    def try_spend(self) -> bool:
        """Take one retry from the budget if there is one."""
        self._refill()
        if self._balance >= 1.0:
            self._balance -= 1.0
            return True
        return False

    @property
    def balance(self) -> float:
        """Retries available now."""
        self._refill()
        return self._balance
