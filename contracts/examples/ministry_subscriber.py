#!/usr/bin/env python3
"""A ministry system following every case on Tongban's case topic.

It uses only aiokafka and the CloudEvents SDK, so it runs against any deployment:

    python ministry_subscriber.py --bootstrap kafka:9092 --group ministry-mohrss

Each case's events arrive in order on one partition (the key is the case id) and carry a gap-free
``ce_sequence``. The subscriber checks both and prints one JSON line per event. It commits offsets
only after handling an event, and it ignores an event it has already seen (same ``ce_id``), so a
redelivery after a crash or a broker outage has no second effect.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

CASE_TOPIC = "tongban.case.lifecycle.v1"


@dataclass
class CaseFollower:
    """What the subscriber knows: the last sequence per case, the events seen, and any gaps."""

    last_sequence: dict[str, int] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)
    events: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    duplicates: int = 0

    def handle(self, message: KafkaMessage) -> dict[str, Any] | None:
        """Apply one Kafka message; return the event as a dict, or None for a duplicate."""
        event = from_binary(message, JSONFormat())
        event_id = event.get_id()
        if event_id in self.seen_ids:
            self.duplicates += 1
            return None
        self.seen_ids.add(event_id)
        case_id = event.get_subject() or ""
        sequence = int(event.get_extension("sequence") or 0)
        expected = self.last_sequence.get(case_id, 0) + 1
        if sequence != expected:
            self.problems.append(f"case {case_id}: expected sequence {expected}, got {sequence}")
        self.last_sequence[case_id] = max(sequence, self.last_sequence.get(case_id, 0))
        when = event.get_time()
        record = {
            "id": event_id,
            "type": event.get_type(),
            "case": case_id,
            "sequence": sequence,
            "receiving_region": event.get_extension("receivingregion"),
            "handling_region": event.get_extension("handlingregion"),
            "time": when.isoformat() if when else None,
            "data": event.get_data(),
        }
        self.events.append(record)
        return record


async def follow(
    bootstrap: str,
    group: str,
    topic: str = CASE_TOPIC,
    *,
    follower: CaseFollower | None = None,
    stop: Callable[[CaseFollower], bool] | None = None,
    idle_timeout: float | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> CaseFollower:
    """Consume the case topic with our own consumer group until ``stop`` says so (or forever)."""
    follower = follower or CaseFollower()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
    )
    await consumer.start()
    try:
        idle = 0.0
        while not (stop and stop(follower)):
            batch = await consumer.getmany(timeout_ms=500)
            if not batch:
                idle += 0.5
                if idle_timeout is not None and idle >= idle_timeout:
                    break
                continue
            idle = 0.0
            for records in batch.values():
                for rec in records:
                    message = KafkaMessage(headers=dict(rec.headers), key=rec.key, value=rec.value or b"")
                    record = follower.handle(message)
                    if record is not None and on_event is not None:
                        on_event(record)
            await consumer.commit()  # after handling: a crash replays, the id check makes it harmless
    finally:
        await consumer.stop()
    return follower


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--group", default="ministry-subscriber")
    parser.add_argument("--topic", default=CASE_TOPIC)
    parser.add_argument("--idle-exit", type=float, default=None, help="stop after this many idle seconds")
    args = parser.parse_args()

    def show(record: dict[str, Any]) -> None:
        print(json.dumps(record, ensure_ascii=False), flush=True)

    follower = asyncio.run(
        follow(args.bootstrap, args.group, args.topic, idle_timeout=args.idle_exit, on_event=show)
    )
    for problem in follower.problems:
        print(problem, file=sys.stderr)
    return 1 if follower.problems else 0


if __name__ == "__main__":
    sys.exit(main())
