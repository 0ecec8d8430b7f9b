"""Appends to the exchange log with group commit: concurrent queries share one transaction.

Every query, allowed or refused, appends one entry and one event, and appends are serialised by the
chain's head. Rather than let each query hold a database connection while it waits for the head,
appends in this process queue in memory; whoever takes the turn writes everything queued so far in
one transaction and hands each waiter its entry. With one query in flight this is the plain one-entry
transaction.

On PostgreSQL the writer remembers the head it last wrote and chains the next entries after it, then
writes them in one statement that advances the head only if it is still there (one round trip, no
BEGIN or COMMIT of its own). If another replica appended in between, nothing is written and the
entries are chained again under the head's row lock in a transaction (the only path on SQLite). Either
way an entry is returned only once it and its event are committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from tongban_contracts.events import exchange as ev
from tongban_contracts.topics import EXCHANGE_AUDIT
from tongban_kit.outbox import OutboxSignal, outbox_values
from tongban_kit.settings import ServiceSettings
from tongban_kit.uow import UnitOfWork, current_traceparent

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.domain import audit
from data_exchange_svc.service_layer.events import LOG_SUBJECT, emit, envelope

LOGGED = "query-logged"


class AuditLog:
    """The exchange log's writer."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        settings: ServiceSettings,
        *,
        engine: AsyncEngine | None = None,
        signal: OutboxSignal | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.settings = settings
        self._pending: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._turn = asyncio.Lock()
        # The one-statement append needs PostgreSQL, and a signal that wakes the relay in any replica
        # (the locked path's unit of work otherwise sends a NOTIFY inside its transaction).
        self._engine = engine if engine is not None and engine.dialect.name == "postgresql" else None
        self._signal = signal if signal is not None and signal.reaches_other_replicas else None
        self._head: tuple[int, str] | None = None  # (seq, hash) this writer last committed
        self.head_moves = 0  # appends that found another writer had moved the head (diagnostics)

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
        head, self._head = self._head, None  # unknown until this write's outcome is
        if head is not None and self._engine is not None and self._signal is not None:
            rows = await self._write_at_head(self._engine, self._signal, head, entries)
            if rows is not None:
                self._head = (rows[-1]["seq"], rows[-1]["hash"])
                return rows
            self.head_moves += 1
        rows = await self._write_locked(entries)
        self._head = (rows[-1]["seq"], rows[-1]["hash"])
        return rows

    async def _write_at_head(
        self, engine: AsyncEngine, signal: OutboxSignal, head: tuple[int, str], entries: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | None:
        rows = audit.link(entries, *head)
        topic = self.settings.topic(EXCHANGE_AUDIT)
        traceparent = current_traceparent()
        outbox = []
        for row in rows:
            event = envelope(LOGGED, LOG_SUBJECT, row["seq"], _event(row))
            if traceparent:
                event = event.model_copy(update={"traceparent": traceparent})
            outbox.append(outbox_values(topic, event))
        async with engine.connect() as conn:
            # The driver's own connection: no transaction is opened, so the statement autocommits.
            driver = (await conn.get_raw_connection()).driver_connection
            written = await repo.append_at_head(driver, head, rows, outbox)
        if not written:
            return None
        signal.committed()
        return rows

    async def _write_locked(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with self.uow_factory() as uow:
            rows = await repo.append_entries(uow.session, entries)
            for row in rows:
                emit(uow, self.settings, LOGGED, LOG_SUBJECT, row["seq"], _event(row))
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
