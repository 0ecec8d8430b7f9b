"""Brute-force policy: free attempts, growing delays, lockout and its end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity_svc.domain.lockout import ThrottlePolicy, ThrottleState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = ThrottlePolicy(
    free_failures=3, base_delay=1.0, max_delay=8.0, lockout_threshold=10, lockout_seconds=900
)


def fail_n(n: int, policy: ThrottlePolicy = POLICY, start: datetime = T0) -> tuple[ThrottleState, datetime]:
    state, now = ThrottleState(), start
    for _ in range(n):
        now += timedelta(seconds=60)  # far enough apart that no delay blocks
        state = policy.failed(state, now)
    return state, now


def test_free_failures_cost_nothing() -> None:
    state, now = fail_n(3)
    assert POLICY.check(state, now).allowed


def test_delay_grows_and_is_capped() -> None:
    assert [POLICY.delay_after(n) for n in range(3, 10)] == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    state, now = fail_n(5)
    decision = POLICY.check(state, now + timedelta(seconds=1))
    assert not decision.allowed and not decision.locked
    assert decision.retry_after == 1.0
    assert POLICY.check(state, now + timedelta(seconds=2)).allowed


def test_tenth_failure_locks_until_lockout_ends() -> None:
    state, now = fail_n(9)
    assert state.locked_until is None
    state = POLICY.failed(state, now)
    assert state.locked_until == now + timedelta(seconds=900)
    decision = POLICY.check(state, now + timedelta(seconds=899))
    assert decision.locked and not decision.allowed
    after = now + timedelta(seconds=900)
    assert POLICY.check(state, after).allowed
    # After the lockout the count starts again: one more failure does not relock.
    assert POLICY.failed(state, after).locked_until is None
    assert POLICY.failed(state, after).failures == 1


def test_success_clears() -> None:
    assert POLICY.succeeded() == ThrottleState()


def test_window_forgets_old_failures() -> None:
    windowed = ThrottlePolicy(
        free_failures=1, base_delay=1, max_delay=1, lockout_threshold=3, lockout_seconds=10, window_seconds=60
    )
    state = windowed.failed(ThrottleState(), T0)
    state = windowed.failed(state, T0 + timedelta(seconds=120))
    assert state.failures == 1


def test_zero_base_delay_disables_delays() -> None:
    policy = ThrottlePolicy(
        free_failures=0, base_delay=0, max_delay=0, lockout_threshold=5, lockout_seconds=1
    )
    state = policy.failed(ThrottleState(), T0)
    assert policy.check(state, T0).allowed
