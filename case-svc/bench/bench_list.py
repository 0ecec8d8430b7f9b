#!/usr/bin/env python3
"""The case list (GET /v1/cases filtered by region and status) over 1,000,000 cases in PostgreSQL.

Cases and their party rows are bulk-loaded with COPY (secondary indexes dropped and rebuilt from
their own definitions), then 16 concurrent clients, each a provincial platform, page through their
region's cases by status. Prints p50/p99, throughput, and the plan PostgreSQL chose.
Environment: CASE_BENCH_CASES (default 1000000), CASE_BENCH_CLIENTS (16), CASE_BENCH_SECONDS (20),
CASE_BENCH_REPLICAS (2).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
import asyncpg
from casebench import (
    REGIONS,
    app_env,
    cpu_seconds,
    ms,
    now,
    percentile,
    proc_status,
    run,
    serve_jwks,
    wait_ready,
)
from tongban_kit import testing
from tongban_kit.testkeys import TokenMinter

CASES = int(os.environ.get("CASE_BENCH_CASES", "1000000"))
CLIENTS = int(os.environ.get("CASE_BENCH_CLIENTS", "16"))
SECONDS = float(os.environ.get("CASE_BENCH_SECONDS", "20"))
REPLICAS = int(os.environ.get("CASE_BENCH_REPLICAS", "2"))
STATUSES = [
    ("submitted", 5),
    ("transferred", 5),
    ("accepted", 20),
    ("correction_requested", 3),
    ("suspended", 2),
    ("concluded", 15),
    ("delivered", 45),
    ("rejected", 3),
    ("withdrawn", 2),
]
QUERIED = ["accepted", "transferred", "submitted", "correction_requested", "concluded"]

CASE_COLUMNS = [
    "id", "number", "basic_code", "item_version", "mode", "receiving_region", "handling_region", "status",
    "applicant_kind", "applicant_name_enc", "applicant_id_enc", "subject_hash", "masked_id", "submitted_by",
    "delivery_method", "policy", "participants", "materials", "pauses", "extension_days", "correction_rounds",
    "accepted_on", "statutory_due", "statutory_provisional", "promised_due", "promised_provisional",
    "submitted_at", "accepted_at", "concluded_at", "transfer", "result", "delivery_proof", "on_time",
    "handling_working_days", "version", "event_sequence", "updated_at",
]  # fmt: skip
PARTY_COLUMNS = ["region", "case_id", "status", "is_receiving", "is_handling", "is_participant"]


def uuid7(ms_time: int, rnd: random.Random) -> str:
    """A UUIDv7 string for a millisecond timestamp."""
    value = (ms_time & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rnd.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rnd.getrandbits(62)
    return str(uuid.UUID(int=value))


def generate(count: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Case rows and party rows, oldest first, over the last 365 days."""
    rnd = random.Random(20261127)
    weights = [w for _, w in STATUSES]
    names = [s for s, _ in STATUSES]
    start = datetime.now(UTC) - timedelta(days=365)
    step_ms = int(365 * 86400 * 1000 / count)
    policy = json.dumps({"basic_code": "XK-000123-01", "version": 3, "name": "异地就医结算备案",
                         "statutory_limit_days": 20, "promised_limit_days": 10, "suspension_allowed": True,
                         "suspension_max_days": 30, "extension_allowed": True, "extension_max_days": 10,
                         "joint_roles": [], "material_codes": ["M01", "M02", "M03"], "result_type": "licence",
                         "result_licence_type": "MED_FILING"})  # fmt: skip
    materials = json.dumps([{"code": "M01", "source": "licence", "licence_id": "LIC-1"}])
    cipher = "AQ" + "x" * 60  # stand-in ciphertext: the list never decrypts
    cases: list[tuple[object, ...]] = []
    parties: list[tuple[object, ...]] = []
    statuses = rnd.choices(names, weights, k=count)
    base_ms = int(start.timestamp() * 1000)
    for i in range(count):
        submitted = start + timedelta(milliseconds=i * step_ms)
        case_id = uuid7(base_ms + i * step_ms, rnd)
        receiving, handling = rnd.sample(REGIONS, 2)
        status = statuses[i]
        accepted = status not in ("submitted", "transferred", "rejected")
        accepted_on: date | None = submitted.date() if accepted else None
        concluded = status in ("concluded", "delivered")
        cases.append(
            (
                case_id, f"{handling}-{submitted:%Y%m%d}-{i:06d}", "XK-000123-01", 3, rnd.choice(["online", "proxy"]),
                receiving, handling, status, "natural_person", cipher, cipher, f"{i:064x}", "110101********0000",
                '{"client_id": "platform"}', "electronic", policy, "{}", materials, "[]", 0, rnd.choice([0, 0, 0, 1]),
                accepted_on, accepted_on + timedelta(days=28) if accepted_on else None, False,
                accepted_on + timedelta(days=14) if accepted_on else None, False, submitted,
                submitted + timedelta(hours=2) if accepted else None,
                submitted + timedelta(days=5) if concluded else None, "{}", "{}", "{}",
                True if concluded else None, 5 if concluded else None, 3, 3, submitted,
            )
        )  # fmt: skip
        parties.append((receiving, case_id, status, True, False, False))
        parties.append((handling, case_id, status, False, True, False))
    return cases, parties


async def bulk_load(dsn: str, count: int) -> float:
    """COPY the rows in with secondary indexes dropped, then rebuild them; return the seconds it took."""
    t0 = now()
    cases, parties = generate(count)
    t_gen = now() - t0
    conn = await asyncpg.connect(dsn)
    try:
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('cases', 'case_parties') "
            "AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'"
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        await conn.execute("SET session_replication_role = replica")  # skip FK checks during the load
        await conn.copy_records_to_table("cases", records=cases, columns=CASE_COLUMNS)
        await conn.copy_records_to_table("case_parties", records=parties, columns=PARTY_COLUMNS)
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for row in indexes:
            await conn.execute(row["indexdef"])
        await conn.execute("ANALYZE cases")
        await conn.execute("ANALYZE case_parties")
    finally:
        await conn.close()
    took = now() - t0
    print(f"  loaded {count} cases and {2 * count} party rows in {took:.0f} s (generation {t_gen:.0f} s)")
    return took


async def explain(dsn: str) -> None:
    """Show the plan of the list query the app runs for a platform and a status."""
    conn = await asyncpg.connect(dsn)
    try:
        plan = await conn.fetch(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT cases.* FROM cases JOIN case_parties "
            "ON case_parties.case_id = cases.id WHERE case_parties.region = $1 AND case_parties.status = $2 "
            "ORDER BY case_parties.case_id DESC LIMIT 51",
            "110000",
            "accepted",
        )
    finally:
        await conn.close()
    print("  plan of the list query (region 110000, status accepted):")
    for line in plan:
        print("    " + line[0])


async def clients(urls: list[str], tokens: dict[str, str], seconds: float) -> tuple[list[float], int, int]:
    """CLIENTS concurrent platforms listing their cases by status (half also read page two)."""
    latencies: list[float] = []
    errors = 0
    items = 0
    stop_at = now() + seconds

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        nonlocal errors, items
        rnd = random.Random(n)
        base = urls[n % len(urls)]
        while now() < stop_at:
            region = rnd.choice(REGIONS)
            params = {"status": rnd.choice(QUERIED), "limit": "50"}
            headers = {"Authorization": f"Bearer {tokens[region]}"}
            for _page in range(2 if rnd.random() < 0.5 else 1):
                start = now()
                async with session.get(base + "/v1/cases", params=params, headers=headers) as resp:
                    body = await resp.read()
                latencies.append(now() - start)
                if resp.status != 200:
                    errors += 1
                    break
                page = json.loads(body)
                items += len(page["items"])
                if not page["next_cursor"]:
                    break
                params["cursor"] = page["next_cursor"]

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS * 2)) as session:
        await asyncio.gather(*(one(session, n) for n in range(CLIENTS)))
    return latencies, errors, items


async def main() -> None:
    testing.ensure_broker()
    db_url = await testing.create_database("case_bench_list")
    dsn = testing._plain_url(db_url)
    prefix = testing.run_topic_prefix() + "benchlist."
    minter = TokenMinter()
    server, identity_url = serve_jwks(minter)
    apps: list[testing.AppProcess] = []
    try:
        with tempfile.TemporaryDirectory() as blobs:
            env = app_env(db_url + "?ssl=disable", prefix, identity_url, blobs)
            first = testing.start_app("case_svc.main:create_app", env, testing.free_port(), "case-list-1")
            apps.append(first)
            await wait_ready(first)
            print(f"case-svc list benchmark: {CASES} cases, {CLIENTS} concurrent clients, {SECONDS:.0f} s")
            await bulk_load(dsn, CASES)
            await explain(dsn)
            for n in range(2, REPLICAS + 1):
                apps.append(
                    testing.start_app("case_svc.main:create_app", env, testing.free_port(), f"case-list-{n}")
                )
            for app in apps[1:]:
                await wait_ready(app)
            tokens = {
                r: minter.mint("cases:read", audience="urn:tongban:case", client_id=f"platform-{r}", region=r,
                               expires_in=3600)
                for r in REGIONS
            }  # fmt: skip
            urls = [a.base_url for a in apps]
            await clients(urls, tokens, 3)  # warm the caches and connection pools for a moment
            cpu_before = {a.pid: cpu_seconds(a.pid) for a in apps if a.pid}
            t0 = now()
            latencies, errors, items = await clients(urls, tokens, SECONDS)
            took = now() - t0
            used = sum(cpu_seconds(p) - c for p, c in cpu_before.items())
            print(
                f"  {len(apps)} app process(es); requests: {len(latencies)}  errors: {errors}  items: {items}"
            )
            print(f"  throughput: {len(latencies) / took:.0f} requests/s")
            print(f"  latency p50 {ms(percentile(latencies, 0.5))}  p90 {ms(percentile(latencies, 0.9))}"
                  f"  p99 {ms(percentile(latencies, 0.99))}")  # fmt: skip
            print(f"  app CPU per request: {used / max(1, len(latencies)) * 1000:.2f} ms; load average now "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")  # fmt: skip
            for app in apps:
                if app.pid:
                    print(f"  {app.name}: peak RSS {proc_status(app.pid, 'VmHWM')}")
    finally:
        for app in apps:
            app.stop()
        server.shutdown()
        await testing.drop_database(db_url)


if __name__ == "__main__":
    run(main())
