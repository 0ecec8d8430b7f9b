"""An outbox relay that sends different cases' events concurrently and each case's events in order.

The kit's relay waits for the broker's acknowledgement of every message before sending the next, so
its throughput is one round trip per event. Here each batch is grouped by key (the case id): keys
are sent concurrently, the events of one key strictly one after another, so ``ce_sequence`` order
per case is kept exactly as the kit's relay keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import structlog
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_contracts.envelope import EventEnvelope
from tongban_kit.db import utcnow
from tongban_kit.events import to_kafka
from tongban_kit.outbox import OutboxMessage, OutboxRelay

log = structlog.get_logger("case.relay")

# PostgreSQL channel on which every replica's commits wake the one elected relay.
CHANNEL = "case_outbox"


async def wake_relay(session: AsyncSession) -> None:
    """Ask PostgreSQL to notify the relay when this transaction commits (no-op on SQLite).

    A replica's own relay is woken in-process; the elected relay may run in another replica.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


class KeyParallelRelay(OutboxRelay):
    """Same election, wake-up and bookkeeping as the kit's relay; concurrent across keys."""

    async def _relay_loop(self, lock_conn: Any = None) -> None:
        """While elected on PostgreSQL, LISTEN on the lock's connection so other replicas wake us."""
        driver = None
        if lock_conn is not None:
            raw = await lock_conn.get_raw_connection()
            driver = raw.driver_connection
            await driver.add_listener(CHANNEL, self._on_notify)
        try:
            await super()._relay_loop(lock_conn)
        finally:
            if driver is not None:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, self._on_notify)

    def _on_notify(self, *args: Any) -> None:
        self.signal.notify()

    async def relay_once(self) -> int:
        """Send one batch of unsent rows; return how many were sent."""
        async with self.session_factory() as session:
            rows = (
                (
                    await session.execute(
                        select(OutboxMessage)
                        .where(OutboxMessage.sent_at.is_(None))
                        .order_by(OutboxMessage.position)
                        .limit(self.batch_size)
                    )
                )
                .scalars()
                .all()
            )
            if not rows:
                return 0
            by_key: dict[str, list[OutboxMessage]] = defaultdict(list)
            for row in rows:
                by_key[row.key].append(row)
            sent_ids: list[int] = []
            failed: list[tuple[int, str]] = []

            async def send_in_order(group: list[OutboxMessage]) -> None:
                for row in group:
                    try:
                        key, value, headers = to_kafka(EventEnvelope.model_validate(row.envelope))
                        await self.publisher.send(row.topic, key, value, headers)
                    except Exception as exc:
                        # Later events of this case wait for the next round: their order is kept.
                        failed.append((row.position, str(exc)[:500]))
                        return
                    sent_ids.append(row.position)

            await asyncio.gather(*(send_in_order(group) for group in by_key.values()))
            for position, error in failed:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.position == position)
                    .values(attempts=OutboxMessage.attempts + 1, last_error=error)
                )
            if sent_ids:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.position.in_(sent_ids)).values(sent_at=utcnow())
                )
            await session.commit()
            self.sent_total += len(sent_ids)
            if failed:
                log.warning("outbox events not sent; retrying", count=len(failed), error=failed[0][1])
                await asyncio.sleep(self.retry_seconds)
            return len(sent_ids)
