"""Round robin over an upstream's instances, skipping those whose circuit is open."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tongban_gateway.domain.breaker import CircuitBreaker


@dataclass(eq=False)
class Instance:
    """One base URL of an upstream service and its breaker."""

    url: str
    breaker: CircuitBreaker
    reported_open: bool | None = None  # what the metrics last said, so they change only on a change


class Balancer:
    """Picks instances in turn; with ``avoid`` it prefers instances a retry has not tried yet."""

    def __init__(self, urls: Sequence[str], make_breaker: Callable[[], CircuitBreaker]) -> None:
        self.instances = [Instance(url, make_breaker()) for url in urls]
        self._next = 0

    def pick(self, avoid: Sequence[Instance] = ()) -> Instance | None:
        """The next instance whose breaker lets a request through, or None when all are open."""
        count = len(self.instances)
        fallback: Instance | None = None
        for step in range(count):
            instance = self.instances[(self._next + step) % count]
            if instance in avoid:
                if fallback is None and instance.breaker.would_allow():
                    fallback = instance
                continue
            if instance.breaker.allow():
                self._next = (self._next + step + 1) % count
                return instance
        if fallback is not None and fallback.breaker.allow():
            return fallback
        return None

    def retry_after(self) -> float:
        """Seconds until some instance accepts a trial request."""
        return min(instance.breaker.retry_after() for instance in self.instances)
