#!/usr/bin/env python3
"""Submissions per second and submit-to-event latency through the outbox relay to a Kafka consumer.

case-svc runs as real uvicorn processes (``CASE_BENCH_REPLICAS``, default 2, like two pods behind the
gateway; one relay wins the advisory lock) on PostgreSQL with the local broker. Clients POST
/v1/cases at a fixed concurrency; a consumer on the case topic timestamps each submitted event.
Environment: CASE_BENCH_N (default 4000 per level), CASE_BENCH_CONCURRENCY (requests in flight, a
comma-separated list of levels run one after another on the same processes; default 16,32),
CASE_BENCH_REPLICAS.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from aiokafka import AIOKafkaConsumer
from casebench import (
    HANDLING,
    RECEIVING,
    app_env,
    cpu_seconds,
    ms,
    now,
    percentile,
    proc_status,
    run,
    seed_catalogue,
    serve_jwks,
    wait_ready,
)
from tongban_contracts import topics
from tongban_kit import testing
from tongban_kit.identifiers import resident_id_check_digit
from tongban_kit.testkeys import TokenMinter

N = int(os.environ.get("CASE_BENCH_N", "4000"))
WARMUP = int(os.environ.get("CASE_BENCH_WARMUP", "300"))
LEVELS = [int(c) for c in os.environ.get("CASE_BENCH_CONCURRENCY", "16,32").split(",")]
REPLICAS = int(os.environ.get("CASE_BENCH_REPLICAS", "2"))


def body(i: int) -> dict[str, object]:
    """A valid online submission with a distinct applicant."""
    first17 = f"1101011990{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return {
        "basic_code": "XK-000123-01",
        "mode": "online",
        "receiving_region": RECEIVING,
        "handling_region": HANDLING,
        "applicant": {
            "type": "natural_person",
            "name": "张三",
            "id_number": first17 + resident_id_check_digit(first17),
        },
        "materials": [
            {"code": "M01", "licence_id": f"LIC-{i}"},
            {"code": "M02", "exchange_ref": f"EX-{i}"},
        ],
        "form": {"phone": "13800000000"},
        "delivery": {"method": "electronic"},
    }


async def consume(
    bootstrap: str, topic: str, seen: dict[str, float], ready: asyncio.Event, stop: asyncio.Event
) -> None:
    """Timestamp every event's arrival by case id."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    ready.set()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=2000)
            t = now()
            for records in batch.values():
                for record in records:
                    seen.setdefault(record.key.decode(), t)
    finally:
        await consumer.stop()


async def load(
    urls: list[str], token: str, count: int, offset: int, concurrency: int
) -> tuple[dict[str, float], dict[str, float], list[float], int]:
    """Submit ``count`` cases at the configured concurrency; return send and answer times, latencies, errors."""
    sent: dict[str, float] = {}
    answered: dict[str, float] = {}
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(offset + i)
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(session: aiohttp.ClientSession, base: str) -> None:
        nonlocal errors
        while not queue.empty():
            i = queue.get_nowait()
            start = now()
            async with session.post(base + "/v1/cases", json=body(i), headers=headers) as resp:
                payload = await resp.json()
            if resp.status != 201:
                errors += 1
                continue
            end = now()
            latencies.append(end - start)
            sent[payload["id"]] = start
            answered[payload["id"]] = end

    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, urls[w % len(urls)]) for w in range(concurrency)))
    return sent, answered, latencies, errors


async def measure(
    apps: list[testing.AppProcess], seen: dict[str, float], token: str, offset: int, concurrency: int
) -> None:
    """Submit N cases at one concurrency and print throughput, latencies and CPU."""
    urls = [a.base_url for a in apps]
    cpu_before = {a.pid: cpu_seconds(a.pid) for a in apps if a.pid}
    t0 = now()
    sent, answered, latencies, errors = await load(urls, token, N, offset, concurrency)
    t1 = now()
    cpu_after = {a.pid: cpu_seconds(a.pid) for a in apps if a.pid}
    deadline = now() + 60
    # The consumer task fills ``seen``; poll it until every submitted case's event arrived.
    while now() < deadline and not all(cid in seen for cid in sent):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    t2 = max((seen[c] for c in sent if c in seen), default=t1)
    delivered = [seen[c] - sent[c] for c in sent if c in seen]
    relay = [seen[c] - answered[c] for c in sent if c in seen]
    used = sum(cpu_after[p] - cpu_before[p] for p in cpu_after)
    print(f"  concurrency {concurrency}:")
    print(f"    submissions/s (HTTP 201s): {len(sent) / (t1 - t0):.0f}   errors: {errors}")
    print(
        f"    events/s through relay to consumer: {len(delivered) / (t2 - t0):.0f}"
        f"   missing: {len(sent) - len(delivered)}"
    )
    print(f"    HTTP latency p50 {ms(percentile(latencies, 0.5))}  p99 {ms(percentile(latencies, 0.99))}")
    print(
        f"    submit-to-event latency p50 {ms(percentile(delivered, 0.5))}"
        f"  p99 {ms(percentile(delivered, 0.99))}"
    )
    print(
        f"    after the HTTP answer (relay + broker + consumer) p50 {ms(percentile(relay, 0.5))}"
        f"  p99 {ms(percentile(relay, 0.99))}"
    )
    print(f"    app CPU per submission: {used / max(1, len(sent)) * 1000:.2f} ms (all replicas, incl. relay)")


async def main() -> None:
    bootstrap = testing.ensure_broker()
    db_url = await testing.create_database("case_bench_submit")
    prefix = testing.run_topic_prefix() + "benchsubmit."
    minter = TokenMinter()
    server, identity_url = serve_jwks(minter)
    apps: list[testing.AppProcess] = []
    stop = asyncio.Event()
    try:
        with tempfile.TemporaryDirectory() as blobs:
            # Local PostgreSQL over loopback: TLS off (production keeps it on for its network).
            env = app_env(db_url + "?ssl=disable", prefix, identity_url, blobs)
            first = testing.start_app("case_svc.main:create_app", env, testing.free_port(), "case-bench-1")
            apps.append(first)
            await wait_ready(first)  # it migrates; the others start on the migrated database
            for n in range(2, REPLICAS + 1):
                apps.append(
                    testing.start_app("case_svc.main:create_app", env, testing.free_port(), f"case-bench-{n}")
                )
            for app in apps[1:]:
                await wait_ready(app)
            await seed_catalogue(db_url)
            token = minter.mint(
                "cases:submit cases:read",
                audience="urn:tongban:case",
                client_id=f"platform-{RECEIVING}",
                region=RECEIVING,
                expires_in=3600,
            )
            seen: dict[str, float] = {}
            ready = asyncio.Event()
            consumer = asyncio.create_task(
                consume(bootstrap, prefix + topics.CASE_LIFECYCLE, seen, ready, stop)
            )
            await ready.wait()
            urls = [a.base_url for a in apps]
            await load(urls, token, WARMUP, 0, LEVELS[0])
            print(f"case-svc submit benchmark: {N} submissions per level, {len(apps)} app process(es)")
            offset = WARMUP
            for concurrency in LEVELS:
                await measure(apps, seen, token, offset, concurrency)
                offset += N
            stop.set()
            await consumer
            for app in apps:
                if app.pid:
                    print(f"  {app.name}: peak RSS {proc_status(app.pid, 'VmHWM')}")
    finally:
        stop.set()
        for app in apps:
            app.stop()
        server.shutdown()
        await testing.drop_database(db_url)


if __name__ == "__main__":
    run(main())
