"""Brute-force policy: free attempts, then growing waits, then a temporary lockout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottleState:
    """Failures counted against one account or one client address."""

    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """Whether an attempt may be checked now; otherwise how long to wait."""

    allowed: bool
    retry_after: float = 0.0
    locked: bool = False


@dataclass(frozen=True)
class ThrottlePolicy:
    """Growing delay after `free_failures`, lockout after `lockout_threshold` failures."""

    free_failures: int
    base_delay: float
    max_delay: float
    lockout_threshold: int
    lockout_seconds: float
    window_seconds: float | None = None

    def _current(self, state: ThrottleState, now: datetime) -> ThrottleState:
        """The state with an ended lockout or an elapsed counting window forgotten."""
        if state.locked_until is not None and state.locked_until <= now:
            return ThrottleState()
        if (
            self.window_seconds is not None
            and state.last_failure_at is not None
            and now - state.last_failure_at > timedelta(seconds=self.window_seconds)
        ):
            return ThrottleState()
        return state

    def delay_after(self, failures: int) -> float:
        """Seconds to wait before the next attempt after this many consecutive failures."""
        over = failures - self.free_failures
        if over <= 0 or self.base_delay <= 0:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2 ** (over - 1)))

    def check(self, state: ThrottleState, now: datetime) -> Decision:
        """May an attempt be evaluated now?"""
        state = self._current(state, now)
        if state.locked_until is not None:
            return Decision(False, (state.locked_until - now).total_seconds(), locked=True)
        if state.last_failure_at is not None:
            ready_at = state.last_failure_at + timedelta(seconds=self.delay_after(state.failures))
            if ready_at > now:
                return Decision(False, (ready_at - now).total_seconds())
        return Decision(True)

    def failed(self, state: ThrottleState, now: datetime) -> ThrottleState:
        """The state after one more failure; reaching the threshold locks."""
        state = self._current(state, now)
        failures = state.failures + 1
        locked_until = None
        if failures >= self.lockout_threshold:
            locked_until = now + timedelta(seconds=self.lockout_seconds)
        return ThrottleState(failures, now, locked_until)

    def succeeded(self) -> ThrottleState:
        """A success clears the count."""
        return ThrottleState()
