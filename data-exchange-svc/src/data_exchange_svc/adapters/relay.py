"""The outbox relay with a short linger, so a busy hub relays its log events in batches.

Every query writes one event. The kit's relay runs one pass (a select, the sends, an update, a
commit, and a liveness check of its election lock) as soon as it is woken, so at a steady rate
each event costs a whole pass. Waiting ``linger`` seconds after a wake-up lets the events of that
interval share one pass; they reach Kafka up to ``linger`` later, which an audit stream can afford.
Election, ordering and bookkeeping are the kit's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from tongban_kit.outbox import OutboxRelay


class LingeringRelay(OutboxRelay):
    """The kit's relay, pausing ``linger`` seconds between passes that did not fill a batch."""

    def __init__(self, *args: Any, linger: float = 0.05, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger = linger

    async def _relay_loop(self, lock_conn: Any = None) -> None:
        while not self._stopping.is_set():
            sent = await self.relay_once()
            if lock_conn is not None:
                # As in the kit: proves the election lock's session is alive.
                await lock_conn.execute(text("SELECT 1"))
                await lock_conn.commit()
            if sent == 0:
                await self.signal.wait(self.idle_poll_seconds)
            if sent < self.batch_size and self.linger > 0 and not self._stopping.is_set():
                await asyncio.sleep(self.linger)
