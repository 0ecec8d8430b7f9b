"""Brute-force protection: per-account lockout after 10 failures, growing delays, per-address limits."""

from __future__ import annotations

import asyncio
from typing import Any

from identity_svc.service_layer import dev_realm


async def test_ten_wrong_passwords_lock_the_account_and_the_lock_ends(
    make_harness: Any, helpers: Any
) -> None:
    harness = await make_harness(lockout_seconds=1.0, throttle_base_delay=0.0)
    _, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    for attempt in range(10):
        wrong = await harness.post_login(page, "zhangsan", f"wrong-password-{attempt}")
        assert wrong.status_code == 401, (attempt, wrong.status_code)
    # Locked: even the right password is not checked now.
    locked = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert locked.status_code == 429 and "locked" in locked.text
    assert int(locked.headers["retry-after"]) >= 1
    assert "location" not in locked.headers
    # Another account from the same address is not affected by zhangsan's lock.
    harness.client.cookies.clear()
    other_page = await harness.authorize(challenge=challenge)
    other = await harness.post_login(other_page, "lisi", dev_realm.DEMO_PASSWORD)
    assert other.status_code == 200 and 'name="otp"' in other.text
    await asyncio.sleep(1.1)
    harness.client.cookies.clear()
    page = await harness.authorize(challenge=challenge)
    unlocked = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert unlocked.status_code == 303 and "code" in helpers.callback_params(unlocked)
    failed = await harness.events("login-failed.v1")
    assert failed[9]["data"]["failures"] == 10 and failed[9]["data"]["locked_until"] is not None
    assert failed[10]["data"]["reason"] == "account-locked"


async def test_delays_grow_after_the_free_attempts(make_harness: Any, helpers: Any) -> None:
    harness = await make_harness(throttle_base_delay=30.0, throttle_free_failures=3)
    _, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    for _ in range(4):
        assert (await harness.post_login(page, "zhangsan", "wrong-password-x")).status_code == 401
    slowed = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert slowed.status_code == 429 and "wait" in slowed.text
    assert 1 <= int(slowed.headers["retry-after"]) <= 30


async def test_per_address_throttle_covers_unknown_usernames(make_harness: Any, helpers: Any) -> None:
    harness = await make_harness(ip_free_failures=0, ip_lockout_threshold=3, lockout_seconds=60)
    _, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    for i in range(3):
        assert (await harness.post_login(page, f"ghost{i}", "wrong-password-x")).status_code == 401
    blocked = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert blocked.status_code == 429
    # A different client address (through the trusted gateway) is not blocked.
    fields = harness.form_fields(page.text)
    elsewhere = await harness.client.post(
        "/oauth2/login",
        data={**fields, "username": "zhangsan", "password": dev_realm.DEMO_PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert elsewhere.status_code == 303


async def test_argon2_hash_is_upgraded_on_login_when_parameters_change(
    make_harness: Any, helpers: Any, tmp_path: Any
) -> None:
    from identity_svc.adapters.orm import NaturalPersonRow
    from sqlalchemy import select

    harness = await make_harness(argon2_time_cost=2)
    runtime = harness.app.state.runtime
    async with runtime.uow() as uow:
        row = (
            await uow.session.scalars(select(NaturalPersonRow).where(NaturalPersonRow.username == "zhangsan"))
        ).one()
        # Simulate an account hashed under older, weaker parameters.
        from argon2 import PasswordHasher

        row.password_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
            dev_realm.DEMO_PASSWORD
        )
        await uow.commit()
        old = row.password_hash
    assert "t=1" in old
    await harness.code_flow("zhangsan")
    async with runtime.uow() as uow:
        new = (
            await uow.session.scalars(
                select(NaturalPersonRow.password_hash).where(NaturalPersonRow.username == "zhangsan")
            )
        ).one()
    assert new != old and "$argon2id$" in new and "t=2" in new
