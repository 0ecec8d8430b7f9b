"""Bench of the data-exchange hub on PostgreSQL: verification queries per second, and the latency the
hub adds over calling the provider directly (p50/p99) at a fixed offered rate.

Everything runs as real processes over real HTTP: the hub (``data_exchange_svc.main``), the sandbox
providers, and a stand-in for identity-svc and case-svc (``data_exchange_svc.sandbox.mesh_stub``).
The same client, signing the same verify request with the hub's key, measures the direct call to the
sandbox and the call through the hub, so the difference is what the hub adds: token check, grant,
case, consent, rate limit, the signed provider call, the hash-chained log write with its outbox event
(committed before the answer is sent), and the signed answer.

Each of ``--subjects`` people has a case of their own and is asked about in turn, so at 100/s with 200
subjects every case comes round every 2 s: at the edge of the hub's 2 s case cache. A cached answer in
the second half of its life is served while case-svc is asked again in the background, so case-svc is
still asked about once per query, mostly off the query's path. ``EXCHANGE_CASE_CACHE_SECONDS=0`` in
the environment makes every query wait for case-svc (the cold-case figure).

The client does not collect garbage while a run is timed (its own pauses are not the hub's), and the
report names PostgreSQL's ``fsync`` and ``synchronous_commit``: with them off, as on the local dev
server, a commit does not wait for the disk, and a durable server adds a WAL flush per log commit.

    .venv/bin/python data-exchange-svc/bench/bench_exchange.py [--rate 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from data_exchange_svc.adapters.signing import HubSigner, generate_key
from data_exchange_svc.sandbox.mesh_stub import stub_case_id
from data_exchange_svc.sandbox.records import Person, population
from tongban_kit.crypto import subject_hash
from tongban_kit.settings import DEV_SUBJECT_HASH_KEY
from tongban_kit.testing import (
    AppProcess,
    create_database_sync,
    drop_database_sync,
    ensure_broker,
    free_port,
    start_app,
)
from tongban_kit.testkeys import TokenMinter

AUD = "urn:tongban:exchange"
ITEM = "XK00003001"
CLIENT = "platform-bench"
REGION = "440000"
RESOURCE = "household-registration"
DURABILITY = ("fsync", "synchronous_commit")


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the values, in the same unit."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[rank]


async def durability(database_url: str) -> str:
    """PostgreSQL's fsync and synchronous_commit, as the hub's commits see them."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return ", ".join([f"{name} {await conn.fetchval(f'SHOW {name}')}" for name in DURABILITY])
    finally:
        await conn.close()


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time a process has used so far."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int | None) -> float | None:
    """VmHWM of a process (its peak resident set) in MiB."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """No garbage collection in this (the measuring) process while a run is timed.

    A full collection of the client's own heap stalled every request in flight for ~60 ms; that pause
    is the bench's, not the hub's or the provider's, and it landed on either run at random.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def open_loop(
    rate: float, seconds: float, send: Callable[[int], Awaitable[bool]]
) -> tuple[list[float], int]:
    """Offer ``rate`` requests per second for ``seconds``; latency counts from each scheduled start."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.05

    async def one(i: int) -> None:
        nonlocal errors
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            ok = await send(i)
        except httpx.HTTPError:
            ok = False
        latencies.append((time.perf_counter() - scheduled) * 1000)
        if not ok:
            errors += 1

    await asyncio.gather(*(one(i) for i in range(total)))
    return latencies, errors


async def closed_loop(
    concurrency: int, seconds: float, send: Callable[[int], Awaitable[bool]]
) -> tuple[int, int]:
    """As many requests as ``concurrency`` workers complete in ``seconds``; returns (done, errors)."""
    deadline = time.perf_counter() + seconds
    done = errors = 0
    counter = 0

    async def worker() -> None:
        nonlocal done, errors, counter
        while time.perf_counter() < deadline:
            counter += 1
            try:
                ok = await send(counter)
            except httpx.HTTPError:
                ok = False
            done += 1
            errors += 0 if ok else 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, errors


class Bench:
    """The processes, tokens and prepared subjects of one run."""

    def __init__(self, hub: AppProcess, sandbox: AppProcess, minter: TokenMinter, signer: HubSigner) -> None:
        self.hub = hub
        self.sandbox = sandbox
        self.minter = minter
        self.signer = signer
        self.pairs: list[tuple[str, str, str]] = []  # (resident id, case id, name)

    def token(self, scopes: str, client_id: str, **claims: Any) -> dict[str, str]:
        token = self.minter.mint(scopes, audience=[AUD], client_id=client_id, expires_in=3600, **claims)
        return {"Authorization": f"Bearer {token}"}

    async def prepare(self, client: httpx.AsyncClient, subjects: int) -> None:
        admin = self.token("exchange:admin", "admin-dev")
        resource = (await client.get(f"{self.hub.base_url}/v1/resources/{RESOURCE}", headers=admin)).json()
        grant = await client.post(
            f"{self.hub.base_url}/v1/grants",
            headers=admin,
            json={
                "client_id": CLIENT,
                "resource_id": resource["id"],
                "items": [ITEM],
                "allowed_fields": ["name", "birth_date", "marital_status"],
                "modes": ["verify", "share"],
                "rate_limit_per_minute": 600_000,
                "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
        )
        grant.raise_for_status()
        until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        for rid in population(subjects, seed="bench"):
            case_id = stub_case_id(REGION, "110000", ITEM)
            citizen = self.token(
                "exchange:query",
                CLIENT,
                region=REGION,
                subject="p",
                subject_hash=subject_hash(rid, DEV_SUBJECT_HASH_KEY),
            )
            r = await client.post(
                f"{self.hub.base_url}/v1/consents",
                headers=citizen,
                json={"case_id": case_id, "resource_ids": [RESOURCE], "until": until},
            )
            r.raise_for_status()
            record = Person(rid).records()[RESOURCE]
            assert record is not None
            self.pairs.append((rid, case_id, record["name"]))

    def hub_sender(self, client: httpx.AsyncClient) -> Callable[[int], Awaitable[bool]]:
        headers = self.token("exchange:query", CLIENT, region=REGION)
        url = f"{self.hub.base_url}/v1/queries"

        async def send(i: int) -> bool:
            rid, case_id, name = self.pairs[i % len(self.pairs)]
            body = {
                "resource_id": RESOURCE,
                "subject_id_number": rid,
                "case_id": case_id,
                "item_code": ITEM,
                "mode": "verify",
                "fact": {"name": name},
            }
            r = await client.post(url, json=body, headers=headers)
            return r.status_code == 200 and r.json().get("verified") is True

        return send

    def direct_sender(self, client: httpx.AsyncClient) -> Callable[[int], Awaitable[bool]]:
        path = f"/providers/{RESOURCE}"
        url = self.sandbox.base_url + path

        async def send(i: int) -> bool:
            rid, case_id, name = self.pairs[i % len(self.pairs)]
            body = json.dumps(
                {
                    "request_id": str(i),
                    "mode": "verify",
                    "subject_id_number": rid,
                    "case_id": case_id,
                    "item_code": ITEM,
                    "client_id": CLIENT,
                    "fact": {"name": name},
                },
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode()
            headers = {
                "content-type": "application/json",
                "Tongban-Signature": self.signer.sign_request("POST", path, body, RESOURCE),
            }
            r = await client.post(url, content=body, headers=headers)
            return r.status_code == 200 and r.json().get("match") is True

        return send


async def run(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    # idle connections expire before uvicorn's 5 s keep-alive closes them under us
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200, keepalive_expiry=4.0)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as client:
        await bench.prepare(client, args.subjects)
        hub_send, direct_send = bench.hub_sender(client), bench.direct_sender(client)
        await open_loop(args.rate, args.warmup, direct_send)
        await open_loop(args.rate, args.warmup, hub_send)
        sandbox_before = cpu_seconds(bench.sandbox.pid)
        with client_gc_paused():
            direct, direct_errors = await open_loop(args.rate, args.seconds, direct_send)
        sandbox_cpu_ms = (cpu_seconds(bench.sandbox.pid) - sandbox_before) * 1000 / max(1, len(direct))
        with client_gc_paused():
            via_hub, hub_errors = await open_loop(args.rate, args.seconds, hub_send)
        cpu_before = cpu_seconds(bench.hub.pid)
        with client_gc_paused():
            done, tp_errors = await closed_loop(args.concurrency, args.throughput_seconds, hub_send)
        hub_cpu_ms = (cpu_seconds(bench.hub.pid) - cpu_before) * 1000 / max(1, done)
        check = (
            await client.get(
                f"{bench.hub.base_url}/v1/audit/verify", headers=bench.token("exchange:admin", "admin-dev")
            )
        ).json()
    result = {
        "offered_rate_per_s": args.rate,
        "queries_each": len(direct),
        "direct_p50_ms": percentile(direct, 50),
        "direct_p99_ms": percentile(direct, 99),
        "hub_p50_ms": percentile(via_hub, 50),
        "hub_p99_ms": percentile(via_hub, 99),
        "hub_mean_ms": statistics.fmean(via_hub),
        "errors": direct_errors + hub_errors,
        "verify_throughput_per_s": done / args.throughput_seconds,
        "throughput_concurrency": args.concurrency,
        "throughput_errors": tp_errors,
        "hub_cpu_ms_per_query": hub_cpu_ms,
        "sandbox_cpu_ms_per_call": sandbox_cpu_ms,
        "load_average": os.getloadavg(),
        "audit_chain_ok": check.get("ok"),
        "audit_entries": check.get("checked"),
        "peak_rss_mib": {
            "hub": peak_rss_mib(bench.hub.pid),
            "sandbox": peak_rss_mib(bench.sandbox.pid),
        },
    }
    result["added_p50_ms"] = result["hub_p50_ms"] - result["direct_p50_ms"]
    result["added_p99_ms"] = result["hub_p99_ms"] - result["direct_p99_ms"]
    return result


def report(r: dict[str, Any]) -> str:
    rss = ", ".join(f"{k} {v:.0f} MiB" for k, v in r["peak_rss_mib"].items() if v is not None)
    return "\n".join(
        [
            f"data-exchange hub on PostgreSQL — verify mode, {r['queries_each']} queries each at "
            f"{r['offered_rate_per_s']:.0f}/s",
            f"  direct to provider : p50 {r['direct_p50_ms']:6.2f} ms   p99 {r['direct_p99_ms']:6.2f} ms",
            f"  through the hub    : p50 {r['hub_p50_ms']:6.2f} ms   p99 {r['hub_p99_ms']:6.2f} ms",
            f"  added by the hub   : p50 {r['added_p50_ms']:6.2f} ms   p99 {r['added_p99_ms']:6.2f} ms"
            "   (target p99 < 15 ms)",
            f"  errors             : {r['errors']}",
            f"  verify throughput  : {r['verify_throughput_per_s']:.0f} queries/s "
            f"(closed loop, {r['throughput_concurrency']} in flight, {r['throughput_errors']} errors)",
            f"  hub CPU per query  : {r['hub_cpu_ms_per_query']:.2f} ms (user+system, from /proc); "
            f"the sandbox's per direct call: {r['sandbox_cpu_ms_per_call']:.2f} ms",
            f"  load average       : {' '.join(f'{x:.1f}' for x in r['load_average'])} (machine shared with other work)",
            f"  PostgreSQL         : {r['postgresql']}",
            f"  case cache         : {r['case_cache']}",
            f"  exchange log       : {r['audit_entries']} entries, chain ok = {r['audit_chain_ok']}",
            f"  peak RSS           : {rss}",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="offered queries per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each latency run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--throughput-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--no-kafka", action="store_true", help="leave events in the outbox")
    parser.add_argument("--no-pg-tls", action="store_true", help="plain TCP to the loopback PostgreSQL")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    minter, hub_key = TokenMinter(), generate_key()
    database = create_database_sync("exchange_bench")
    base = {"TONGBAN_ENV": "test", "TONGBAN_LOG_LEVEL": "WARNING"}
    processes: list[AppProcess] = []
    try:
        stub = start_app(
            "data_exchange_svc.sandbox.mesh_stub:create_app",
            {**base, "STUB_SIGNING_KEY": json.dumps(minter.key.as_dict(private=True))},
            free_port(),
            "bench-exchange-stub",
        )
        processes.append(stub)
        sandbox = start_app(
            "data_exchange_svc.sandbox:create_app",
            {**base, "SANDBOX_HUB_JWKS": json.dumps({"keys": [hub_key.as_dict(private=False)]})},
            free_port(),
            "bench-exchange-sandbox",
        )
        processes.append(sandbox)
        stub.wait_ready("/healthz")
        sandbox.wait_ready("/healthz")
        hub = start_app(
            "data_exchange_svc.main:create_app",
            {
                **base,
                "EXCHANGE_DATABASE_URL": database + ("?ssl=disable" if args.no_pg_tls else ""),
                "EXCHANGE_SIGNING_KEY": json.dumps(hub_key.as_dict(private=True)),
                "EXCHANGE_CASE_URL": stub.base_url,
                "EXCHANGE_SANDBOX_URL": sandbox.base_url,
                "TONGBAN_IDENTITY_URL": stub.base_url,
                "TONGBAN_KAFKA_BOOTSTRAP": "127.0.0.1:1" if args.no_kafka else ensure_broker(),
                "TONGBAN_TOPIC_PREFIX": f"bench{os.getpid()}.",
            },
            free_port(),
            "bench-exchange-hub",
        )
        processes.append(hub)
        hub.wait_ready("/v1/keys", timeout=90)
        postgresql = asyncio.run(durability(database))
        result = asyncio.run(run(args, Bench(hub, sandbox, minter, HubSigner(hub_key))))
        result["postgresql"] = postgresql
        cache = os.environ.get("EXCHANGE_CASE_CACHE_SECONDS")
        result["case_cache"] = f"{cache} s (EXCHANGE_CASE_CACHE_SECONDS)" if cache else "2 s (the default)"
        result["peak_rss_mib"]["stub"] = peak_rss_mib(stub.pid)
    finally:
        for process in reversed(processes):
            process.stop()
        drop_database_sync(database)
    print(report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["errors"] == 0 and result["audit_chain_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
