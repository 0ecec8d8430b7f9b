"""The exchange log's chain end to end: intact, then one row tampered with, then a row removed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from exchange_hubkit import running_hub  # type: ignore[import-not-found]
from sqlalchemy import text


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Any]:
    async with running_hub(tmp_path) as running:
        yield running


async def _exec(hub: Any, sql: str) -> None:
    async with hub.app.state.runtime.engine.begin() as conn:
        await conn.execute(text(sql))


async def _verify(hub: Any) -> dict[str, Any]:
    r = await hub.client.get("/v1/audit/verify", headers=hub.admin())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _some_traffic(hub: Any) -> None:
    person = hub.subject()
    case_id = hub.cases.add()
    await hub.query(person, case_id)  # refused: no consent yet
    await hub.consent(person, case_id, ["household-registration"])
    for _ in range(3):
        assert (await hub.query(person, case_id)).status_code == 200
    await hub.query(person, case_id, resource="tax", fields=["tax_year"])  # refused: no grant


async def test_empty_chain_verifies(fresh: Any) -> None:
    result = await _verify(fresh)
    assert result["ok"] is True
    assert result["checked"] == 0
    assert result["head"] == {"seq": 0, "hash": "0" * 64}


async def test_tampering_with_one_row_is_found_at_that_row(fresh: Any) -> None:
    await _some_traffic(fresh)
    intact = await _verify(fresh)
    assert intact == {**intact, "ok": True, "checked": 5, "first_broken": None, "algorithm": "sm3"}
    # an operator turns a refusal into an allowed exchange
    await _exec(fresh, "UPDATE exchange_log SET outcome = 'allowed', reason = NULL WHERE seq = 1")
    broken = await _verify(fresh)
    assert broken["ok"] is False
    assert broken["first_broken"]["seq"] == 1
    assert broken["first_broken"]["reason"] == "content-altered"
    assert broken["checked"] == 0


async def test_tampering_in_the_middle_names_that_row(fresh: Any) -> None:
    await _some_traffic(fresh)
    await _exec(fresh, 'UPDATE exchange_log SET fields = \'["name", "ethnicity"]\' WHERE seq = 3')
    broken = await _verify(fresh)
    assert broken["first_broken"]["seq"] == 3
    assert broken["checked"] == 2


async def test_removed_rows_are_found(fresh: Any) -> None:
    await _some_traffic(fresh)
    await _exec(fresh, "DELETE FROM exchange_log WHERE seq = 2")
    gap = await _verify(fresh)
    assert (gap["first_broken"]["seq"], gap["first_broken"]["reason"]) == (2, "missing-entry")


async def test_truncated_tail_is_found_against_the_head(fresh: Any) -> None:
    await _some_traffic(fresh)
    await _exec(fresh, "DELETE FROM exchange_log WHERE seq = 5")
    tail = await _verify(fresh)
    assert tail["ok"] is False
    assert (tail["first_broken"]["seq"], tail["first_broken"]["reason"]) == (5, "missing-entry")


async def test_concurrent_appends_share_transactions_and_keep_the_chain(fresh: Any) -> None:
    from data_exchange_svc.service_layer.audit_log import AuditLog

    runtime = fresh.app.state.runtime
    opened = 0

    def counting_uow() -> Any:
        nonlocal opened
        opened += 1
        return runtime.uow()

    log = AuditLog(counting_uow, runtime.settings)
    entry = {
        "at": datetime.now(UTC),
        "client_id": "c",
        "actor": {"client_id": "c"},
        "resource_id": "r",
        "subject_hash": None,
        "case_id": "k",
        "item_code": "i",
        "mode": "share",
        "fields": ["b", "a"],
        "outcome": "refused",
        "reason": "no-grant",
        "grant_id": None,
        "basis": None,
        "latency_ms": 1,
    }
    rows = await asyncio.gather(*(log.append({**entry, "id": f"e{i}"}) for i in range(12)))
    assert sorted(r["seq"] for r in rows) == list(range(1, 13))
    assert {r["id"]: r["seq"] for r in rows} == {f"e{i}": i + 1 for i in range(12)}  # queue order kept
    assert rows[0]["fields"] == ["a", "b"]
    assert opened < 12  # group commit: later appenders found their entries already written
    result = await _verify(fresh)
    assert result["ok"] is True
    assert result["checked"] == 12
