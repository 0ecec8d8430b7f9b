"""Appends to the exchange log with group commit: concurrent queries share one transaction.

Every query, allowed or refused, appends one entry and one event, and appends are serialised by the
chain's head. Rather than let each query hold a database connection while it waits for the head,
appends in this process queue in memory; whoever takes the turn writes everything queued so far in
one transaction (one head lock, one multi-row insert, one commit) and hands each waiter its entry.
With one query in flight this is the plain one-entry transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tongban_contracts.events import exchange as ev
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.service_layer.events import LOG_SUBJECT, emit


class AuditLog:
    """The exchange log's writer."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], settings: ServiceSettings) -> None:
        self.uow_factory = uow_factory
        self.settings = settings
        self._pending: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._turn = asyncio.Lock()

    async def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append one entry (chained fields but seq and hashes, plus latency_ms); return it chained."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, future))
        async with self._turn:
            if not future.done():  # nobody wrote it while we waited: write all that is queued
                batch, self._pending = self._pending, []
                try:
                    rows = await self._write([e for e, _ in batch])
                except BaseException as exc:
                    failure = RuntimeError(f"the exchange log could not be written: {exc!r}")
                    for _, waiter in batch:
                        if waiter is not future and not waiter.done():
                            waiter.set_exception(failure)
                    raise
                for (_, waiter), row in zip(batch, rows, strict=True):
                    if not waiter.done():
                        waiter.set_result(row)
        return await future

    async def _write(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with self.uow_factory() as uow:
            rows = await repo.append_entries(uow.session, entries)
            for row in rows:
                emit(uow, self.settings, "query-logged", LOG_SUBJECT, row["seq"], _event(row))
            await uow.commit()
        return rows


def _event(row: dict[str, Any]) -> ev.QueryLogged:
    return ev.QueryLogged(
        entry_id=row["id"],
        seq=row["seq"],
        at=row["at"],
        client_id=row["client_id"],
        actor=ev.Actor(**row["actor"]),
        resource_id=row["resource_id"],
        subject_hash=row["subject_hash"],
        case_id=row["case_id"],
        item_code=row["item_code"],
        mode=row["mode"],
        fields=row["fields"],
        outcome=row["outcome"],
        reason=row["reason"],
        grant_id=row["grant_id"],
        basis=row["basis"],
        latency_ms=row["latency_ms"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )
