"""Gateway bench: a small GET served directly by a service and through the gateway, alternated.

By default the upstream is a real service: case-svc (FastAPI, its own token verification, a
database read on a SQLite file) with one seeded case, read with ``GET /v1/cases/{id}`` and a
``cases:read`` token of region 440000 — directly, and through the gateway as
``/cases/v1/cases/{id}``. A small JWKS server serves the test key set to both verifiers, and a
stand-in catalogue answers case-svc's one item lookup while the case is seeded.
``--upstream stub`` measures the old stand-in instead (a minimal FastAPI app answering a constant
document, ~80 µs of CPU per request), ``--upstream both`` measures both.

Per upstream it alternates runs against each target over loopback:

* closed loop (fixed concurrency, as fast as it goes): requests/s, p50, p99;
* open loop (a fixed, moderate request rate): p50, p99 — the latency the gateway adds;
* the same open loop with direct and gateway requests interleaved one by one, so that both see the
  same machine (the load other processes put on shared cores drifts more than the difference);

and reports the median of the rounds, the gateway/direct throughput ratio, the added p50, CPU
per request of every process, peak RSS and the machine's load average, then profiles one gateway
under load with cProfile and prints where its time goes. The load generator shares the machine's
cores with the servers, as the issue asks.

    .venv/bin/python gateway/bench/bench_gateway.py [--upstream case|stub|both] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from tongban_kit.identifiers import resident_id_check_digit
from tongban_kit.testing import AppProcess, free_port, run_topic_prefix, start_app
from tongban_kit.testkeys import TokenMinter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from helper_apps import BENCH_BASIC_CODE  # noqa: E402

CLIENTS = ("aiohttp", "httpx", "httpx-aiohttp")
UPSTREAMS = ("case", "stub")
# The mesh's public URL as both verifiers see it; tokens are issued by PUBLIC_URL + "/identity".
PUBLIC_URL = "http://127.0.0.1:8000"
LOCAL_BROKER = ("127.0.0.1", 19092)
REGION = "440000"


@dataclass
class Result:
    """One run against one target."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    count: int


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


async def closed_loop(url: str, headers: dict[str, str], concurrency: int, seconds: float) -> Result:
    """``concurrency`` workers each sending the next request when the last one answered."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                began = time.perf_counter()
                async with session.get(url, headers=headers) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return Result(
        len(latencies) / elapsed,
        percentile(latencies, 0.5) * 1e3,
        percentile(latencies, 0.99) * 1e3,
        errors,
        len(latencies),
    )


async def open_loop(url: str, headers: dict[str, str], rate: float, seconds: float) -> Result:
    """Requests started at a fixed rate whatever the answers do; latency counted from the planned start."""
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:

        async def one(planned: float) -> None:
            nonlocal errors
            async with session.get(url, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - planned)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for i in range(total):
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(planned)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()
    return Result(
        len(latencies) / elapsed,
        percentile(latencies, 0.5) * 1e3,
        percentile(latencies, 0.99) * 1e3,
        errors,
        len(latencies),
    )


async def open_loop_interleaved(
    urls: list[str], headers: dict[str, str], rate: float, seconds: float
) -> list[list[float]]:
    """One open loop sending its requests to the targets in turn; each target's latencies (seconds).

    Direct and gateway requests alternate one by one at the same total rate, so both meet the same
    machine: on shared cores the load other processes put on it drifts within seconds, and that
    drift is larger than the difference being measured.
    """
    latencies: list[list[float]] = [[] for _ in urls]
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) for _ in urls]
    try:

        async def one(target: int, planned: float) -> None:
            async with sessions[target].get(urls[target], headers=headers) as resp:
                await resp.read()
                if resp.status == 200:
                    latencies[target].append(time.perf_counter() - planned)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i % len(urls), planned)))
        await asyncio.gather(*tasks)
    finally:
        for session in sessions:
            await session.close()
    return latencies


async def gateway_timings(gateway: AppProcess) -> tuple[float, float, float]:
    """From the gateway's /metrics: seconds spent on requests, seconds waiting for upstream heads, requests."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(gateway.base_url + "/metrics")).text
    total = upstream = count = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tongban_gateway_request_duration_seconds_sum":
                total += sample.value
            elif sample.name == "tongban_gateway_request_duration_seconds_count":
                count += sample.value
            elif sample.name == "tongban_gateway_upstream_duration_seconds_sum":
                upstream += sample.value
    return total, upstream, count


def cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time a process has used so far."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int | None) -> float:
    """VmHWM of a process, in MiB."""
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def gateway_env(jwks: AppProcess, upstream: AppProcess, client: str) -> dict[str, str]:
    """A gateway in front of the bench upstream with every feature on (access log, limits, breakers).

    The rate limits are on but high, so each request pays for its buckets without being refused.
    """
    env = {
        "TONGBAN_ENV": "test",
        "TONGBAN_IDENTITY_URL": jwks.base_url,
        "TONGBAN_PUBLIC_URL": PUBLIC_URL,
        "GATEWAY_HTTP_CLIENT": client,
        "GATEWAY_RATE_LIMIT_CLIENT_RATE": "1000000",
        "GATEWAY_RATE_LIMIT_CLIENT_BURST": "1000000",
        "GATEWAY_RATE_LIMIT_IP_RATE": "1000000",
        "GATEWAY_RATE_LIMIT_IP_BURST": "1000000",
        "UVICORN_PROXY_HEADERS": "false",
    }
    for name in ("CATALOGUE", "CASE", "IDENTITY", "ESEAL", "EXCHANGE"):
        env[f"GATEWAY_UPSTREAM_{name}"] = upstream.base_url
    return env


def broker_is_up() -> bool:
    """True when the local Kafka broker accepts connections (case-svc's relay then has somewhere to go)."""
    try:
        with socket.create_connection(LOCAL_BROKER, timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Scenario:
    """One upstream, the gateways in front of it, and the request to measure."""

    name: str
    upstream: AppProcess
    gateways: dict[str, AppProcess]
    path: str
    headers: dict[str, str]
    rate: float
    notes: list[str] = field(default_factory=list)
    scratch: Path | None = None


def _id_number() -> str:
    body = "44010619900307" + "123"
    return body + resident_id_check_digit(body)


async def seed_case(case: AppProcess, minter: TokenMinter) -> str:
    """Submit one proxy case from Guangdong to Beijing directly to case-svc; its id."""
    token = minter.mint(
        "cases:submit",
        audience="urn:tongban:case",
        client_id=f"platform-{REGION}",
        region=REGION,
        expires_in=3600,
    )
    body = {
        "basic_code": BENCH_BASIC_CODE,
        "mode": "proxy",
        "receiving_region": REGION,
        "handling_region": "110000",
        "applicant": {"type": "natural_person", "name": "张三", "id_number": _id_number()},
        "materials": [{"code": "M01", "licence_id": "LIC-440000-1"}],
        "form": {"phone": "13800000000"},
        "delivery": {"method": "post", "address": "广州市天河区体育西路1号"},
    }
    async with httpx.AsyncClient(base_url=case.base_url, timeout=10) as client:
        resp = await client.post(
            "/v1/cases", json=body, headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "bench-1"}
        )
    if resp.status_code != 201:
        raise RuntimeError(f"seeding the case failed: {resp.status_code} {resp.text[:500]}")
    case_id: str = resp.json()["id"]
    return case_id


async def start_case_scenario(
    args: argparse.Namespace, minter: TokenMinter, jwks: AppProcess, apps: list[AppProcess]
) -> Scenario:
    """case-svc on a SQLite file with one seeded case, and one gateway per client in front of it."""
    tmp = Path(tempfile.mkdtemp(prefix="gateway-bench-case-"))
    catalogue = start_app(
        "helper_apps:create_catalogue", {"PYTHONPATH": str(HERE)}, free_port(), "bench-catalogue"
    )
    apps.append(catalogue)
    await catalogue.wait_ready_async("/healthz")
    broker = broker_is_up()
    case = start_app(
        "case_svc.main:create_app",
        {
            "TONGBAN_ENV": "test",
            "TONGBAN_IDENTITY_URL": jwks.base_url,
            "TONGBAN_PUBLIC_URL": PUBLIC_URL,
            # Reads do not touch Kafka; with the local broker up the seeded case's event goes out
            # under a topic prefix of its own, otherwise it waits in the outbox.
            "TONGBAN_KAFKA_BOOTSTRAP": "{}:{}".format(*LOCAL_BROKER) if broker else "127.0.0.1:9",
            "TONGBAN_TOPIC_PREFIX": f"gwbench-{run_topic_prefix()}",
            "CASE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/case.db",
            "CASE_BLOB_DIR": str(tmp / "blobs"),
            "CASE_CATALOGUE_URL": catalogue.base_url,
            "CASE_CONSUME_CATALOGUE": "false",
            "CASE_DEADLINE_WORKER": "false",
            "UVICORN_PROXY_HEADERS": "false",
        },
        free_port(),
        "bench-case-svc",
    )
    apps.append(case)
    gateways = {
        c: start_app(
            "tongban_gateway.main:create_app",
            gateway_env(jwks, case, c),
            free_port(),
            f"bench-gateway-case-{c}",
        )
        for c in args.clients
    }
    apps.extend(gateways.values())
    await case.wait_ready_async("/healthz", 90)
    case_id = await seed_case(case, minter)
    catalogue.stop()  # only the seeding needed it; it must not share the CPU during the runs
    for gw in gateways.values():
        await gw.wait_ready_async("/readyz", 90)
    token = minter.mint(
        "cases:read",
        audience="urn:tongban:case",
        client_id=f"platform-{REGION}",
        region=REGION,
        expires_in=3600,
    )
    return Scenario(
        name="case-svc",
        upstream=case,
        gateways=gateways,
        path=f"/v1/cases/{case_id}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        rate=args.rate if args.rate else args.case_rate,
        scratch=tmp,
        notes=[
            f"case-svc on SQLite (a file in {tmp}), Kafka {'local broker' if broker else 'unreachable (outbox only)'}; "
            f"GET /v1/cases/{case_id} with a cases:read token of {REGION}"
        ],
    )


async def start_stub_scenario(
    args: argparse.Namespace, minter: TokenMinter, jwks: AppProcess, apps: list[AppProcess]
) -> Scenario:
    """The stand-in upstream (a constant document) and one gateway per client in front of it."""
    upstream = start_app("helper_apps:create_upstream", {"PYTHONPATH": str(HERE)}, free_port(), "bench-stub")
    apps.append(upstream)
    gateways = {
        c: start_app(
            "tongban_gateway.main:create_app",
            gateway_env(jwks, upstream, c),
            free_port(),
            f"bench-gateway-stub-{c}",
        )
        for c in args.clients
    }
    apps.extend(gateways.values())
    await upstream.wait_ready_async("/healthz")
    for gw in gateways.values():
        await gw.wait_ready_async("/readyz", 90)
    token = minter.mint(
        "cases:read",
        audience="urn:tongban:case",
        client_id=f"platform-{REGION}",
        region=REGION,
        expires_in=3600,
    )
    return Scenario(
        name="stub",
        upstream=upstream,
        gateways=gateways,
        path="/v1/cases/01a21ad4-5bcb-7649-a904-cbd348f11919",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        rate=args.rate if args.rate else args.stub_rate,
        notes=[
            "stand-in upstream: a minimal FastAPI app answering a constant document (no token check, no DB)"
        ],
    )


def summarise_profile(path: Path, top: int = 22) -> str:
    """Group the profile's own time by library and list the costliest functions."""
    stats = pstats.Stats(str(path))
    groups: dict[str, float] = defaultdict(float)
    total = 0.0
    rows = []
    for (filename, line, func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        groups[_group(filename, func)] += tottime
        rows.append((tottime, f"{_short(filename)}:{line}({func})"))
    out = ["  where the gateway's CPU time goes (cProfile own time, grouped):"]
    for name, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        if seconds / total >= 0.005:
            out.append(f"    {seconds / total * 100:5.1f}%  {name}")
    out.append(f"  top {top} functions by own time:")
    for seconds, name in sorted(rows, reverse=True)[:top]:
        out.append(f"    {seconds / total * 100:5.1f}%  {name}")
    return "\n".join(out)


_GROUPS = (
    ("tongban_gateway", "gateway code (routing, headers, limits, retries)"),
    ("tongban_kit", "kit (token verifier, problem documents)"),
    ("aiohttp", "aiohttp client (upstream calls; its _write holds the socket send syscalls)"),
    ("multidict", "aiohttp client (upstream calls; its _write holds the socket send syscalls)"),
    ("yarl", "aiohttp client (upstream calls; its _write holds the socket send syscalls)"),
    ("httpx", "httpx client"),
    ("httpcore", "httpx client"),
    ("uvicorn", "uvicorn server (parsing, ASGI plumbing; its send holds the socket send syscalls)"),
    ("httptools", "uvicorn server (parsing, ASGI plumbing; its send holds the socket send syscalls)"),
    ("joserfc", "token verification (joserfc, cryptography)"),
    ("cryptography", "token verification (joserfc, cryptography)"),
    ("opentelemetry", "tracing (OpenTelemetry spans, propagation)"),
    ("structlog", "structlog and logging"),
    ("logging", "structlog and logging"),
    ("prometheus_client", "metrics (prometheus_client)"),
    ("asyncio", "event loop and tasks"),
    ("uvloop", "event loop and tasks"),
)


def _group(filename: str, func: str) -> str:
    for needle, name in _GROUPS:
        if f"/{needle}/" in filename or filename.endswith(f"/{needle}.py"):
            return name
    if filename == "~":
        if any(k in func for k in ("socket", "send", "recv", "write", "read")):
            return "socket and C built-ins (I/O)"
        return "C built-ins (other)"
    return "other Python"


def _short(filename: str) -> str:
    marker = "site-packages/"
    if marker in filename:
        return filename.split(marker, 1)[1]
    return filename.rsplit("/src/", 1)[-1]


class _CannedResponse:
    """A response head and body the in-process measurement hands the proxy without any socket."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status = status
        self.raw_headers = raw_headers
        self._body = body
        self.content_length: int | None = len(body)

    async def read(self) -> bytes:
        return self._body

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._body

    def release(self) -> None:
        return None


class _CannedClient:
    """An upstream client that answers every request with the same response at once."""

    def __init__(self, response: _CannedResponse) -> None:
        self.response = response

    async def send(self, *args: object) -> _CannedResponse:
        return self.response

    async def close(self) -> None:
        return None


async def own_code_cost(
    scenario: Scenario, minter: TokenMinter, requests: int = 4000, reps: int = 7
) -> float:
    """Microseconds per request of the gateway's own ASGI app, in process, with a canned upstream.

    Everything the gateway adds runs (request-id middleware, routing, token check from its cache,
    both rate-limit buckets, header rewriting, breaker, metrics, access log to /dev/null); the HTTP
    server, the upstream client, the event loop's socket work and the kernel do not. The canned
    answer is the real upstream's response head and body. Best of ``reps`` runs: the machine is shared.
    """
    from tongban_gateway.config import Settings
    from tongban_gateway.main import create_app

    url = scenario.upstream.base_url + scenario.path
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url, headers=scenario.headers) as resp,
    ):
        canned = _CannedResponse(resp.status, list(resp.raw_headers), await resp.read())
    settings = Settings(
        env="test",
        public_url=PUBLIC_URL,
        rate_limit_client_rate=1e6,
        rate_limit_client_burst=10**6,
        rate_limit_ip_rate=1e6,
        rate_limit_ip_burst=10**6,
    )
    app: Any = create_app(settings)
    gateway = app.app
    gateway.verifier.set_keys(minter.jwks)
    devnull = os.open(os.devnull, os.O_WRONLY)
    if gateway.proxy.log is not None:
        gateway.proxy.log.fd = devnull
    for upstream in gateway.upstreams.values():
        await upstream.client.close()
        upstream.client = _CannedClient(canned)
    path = "/cases" + scenario.path
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", f"Python/3.11 aiohttp/{aiohttp.__version__}".encode()),
        (b"accept-encoding", b"gzip, deflate"),
        *((k.lower().encode(), v.encode()) for k, v in scenario.headers.items()),
    ]
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    try:
        best = float("inf")
        for rep in range(reps + 1):
            began = time.perf_counter()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            if rep:  # the first run warms caches and buckets
                best = min(best, (time.perf_counter() - began) / requests * 1e6)
        if set(statuses) != {canned.status}:
            raise RuntimeError(f"in-process gateway answered {sorted(set(statuses))}")
        return best
    finally:
        await gateway.shutdown()
        os.close(devnull)


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages."""
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


async def measure(scenario: Scenario, args: argparse.Namespace, minter: TokenMinter) -> None:
    """Alternate closed- and open-loop runs against direct and every gateway; print the medians."""
    up = scenario.name
    targets = {"direct": scenario.upstream.base_url + scenario.path}
    targets.update(
        {f"gateway[{c}]": gw.base_url + "/cases" + scenario.path for c, gw in scenario.gateways.items()}
    )
    for url in targets.values():  # fail early on a broken setup
        resp = await asyncio.to_thread(httpx.get, url, headers=scenario.headers, timeout=5)
        if resp.status_code != 200:
            raise RuntimeError(f"setup check failed: GET {url} -> {resp.status_code} {resp.text[:300]}")
    for url in targets.values():  # warm pools, token caches, code paths
        await closed_loop(url, scenario.headers, args.concurrency, 1.0)

    # CPU per request of each process, measured over the closed-loop runs.
    cpu: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    pids = {up: scenario.upstream.pid, **{f"gateway[{c}]": gw.pid for c, gw in scenario.gateways.items()}}
    closed: dict[str, list[Result]] = defaultdict(list)
    opened: dict[str, list[Result]] = defaultdict(list)
    mixed: dict[str, list[float]] = defaultdict(list)
    inside: dict[str, list[float]] = {c: [0.0, 0.0, 0.0] for c in scenario.gateways}
    print()
    print(f"== upstream: {up}")
    for note in scenario.notes:
        print(f"   {note}")
    print(
        f"   {args.rounds} rounds x {args.seconds:g} s per target; closed loop at concurrency "
        f"{args.concurrency}, open loop at {scenario.rate:g} req/s; {os.cpu_count()} cores shared with "
        f"the load generator; load average before: {load_average()}"
    )
    for round_no in range(args.rounds):
        order = list(targets) if round_no % 2 == 0 else list(reversed(targets))
        for name in order:
            before = {proc: cpu_seconds(pid) for proc, pid in pids.items()}
            load_before = time.process_time()
            result = await closed_loop(targets[name], scenario.headers, args.concurrency, args.seconds)
            count = max(1, result.count)
            closed[name].append(result)
            cpu[name]["load generator"].append((time.process_time() - load_before) / count * 1e6)
            for proc in (up, name) if name != "direct" else (up,):
                cpu[name][proc].append((cpu_seconds(pids[proc]) - before[proc]) / count * 1e6)
        for name in order:
            opened[name].append(await open_loop(targets[name], scenario.headers, scenario.rate, args.seconds))
        before_metrics = {c: await gateway_timings(gw) for c, gw in scenario.gateways.items()}
        lists = await open_loop_interleaved(
            [targets[n] for n in order], scenario.headers, scenario.rate, args.seconds
        )
        for c, gw in scenario.gateways.items():
            after = await gateway_timings(gw)
            for i in range(3):
                inside[c][i] += after[i] - before_metrics[c][i]
        for name, values in zip(order, lists, strict=True):
            mixed[name].extend(values)
        print(
            f"   round {round_no + 1}: "
            + ", ".join(f"{n} {closed[n][-1].rps:.0f}/s p50 {opened[n][-1].p50_ms:.2f} ms" for n in targets)
        )

    def med(results: list[Result], attr: str) -> float:
        return float(statistics.median(float(getattr(r, attr)) for r in results))

    print()
    print(
        f"   {'target':22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | {'open p50':>9} {'open p99':>9} {'errors':>7}"
    )
    for name in targets:
        errors = sum(r.errors for r in closed[name] + opened[name])
        print(
            f"   {name:22} {med(closed[name], 'rps'):8.0f} {med(closed[name], 'p50_ms'):8.2f} "
            f"{med(closed[name], 'p99_ms'):8.2f} | {med(opened[name], 'p50_ms'):9.2f} "
            f"{med(opened[name], 'p99_ms'):9.2f} {errors:7d}"
        )
    print()
    for name in targets:
        mixed[name].sort()
    print(
        f"   interleaved open loop ({scenario.rate:g} req/s in all, alternately to each target; all rounds "
        "pooled):"
    )
    for name in targets:
        values = mixed[name]
        print(
            f"     {name:22} p50 {percentile(values, 0.5) * 1e3:6.2f} ms  p99 {percentile(values, 0.99) * 1e3:6.2f} ms"
            f"  ({len(values)} requests)"
        )
    print()
    direct_rps = med(closed["direct"], "rps")
    direct_p50 = med(opened["direct"], "p50_ms")
    direct_mixed = percentile(mixed["direct"], 0.5) * 1e3
    for client in scenario.gateways:
        name = f"gateway[{client}]"
        ratio = med(closed[name], "rps") / direct_rps
        ratios = sorted(g.rps / d.rps for g, d in zip(closed[name], closed["direct"], strict=True))
        added = med(opened[name], "p50_ms") - direct_p50
        added_mixed = percentile(mixed[name], 0.5) * 1e3 - direct_mixed
        print(
            f"   {name:22} throughput {ratio * 100:5.1f}% of direct (per round {ratios[0] * 100:.0f}-"
            f"{ratios[-1] * 100:.0f}%; target >= 75%: {'met' if ratio >= 0.75 else 'missed'})"
        )
        print(
            f"   {'':22} added p50 {added_mixed:+.2f} ms interleaved, {added:+.2f} ms from separate runs "
            f"(target <= 1 ms: {'met' if added_mixed <= 1.0 else 'missed'})"
        )
        total, upstream, served = inside[client]
        if served:
            print(
                f"   {'':22} inside the gateway's app (its /metrics, interleaved runs, mean): "
                f"{total / served * 1e3:.2f} ms per request, of which {upstream / served * 1e3:.2f} ms until the "
                f"upstream's response head -> {(total - upstream) / served * 1e3:.2f} ms of its own on the path"
            )
    print()
    print("   CPU per request in the closed loop (median, microseconds; 10 ms clock ticks):")
    for name in targets:
        parts = ", ".join(f"{proc} {statistics.median(v):.0f}" for proc, v in cpu[name].items())
        print(f"     {name:22} {parts}")
    if len(scenario.gateways) > 1:
        best = max(scenario.gateways, key=lambda c: med(closed[f"gateway[{c}]"], "rps"))
        print(f"   fastest upstream client: {best}")
    for client in scenario.gateways:
        name = f"gateway[{client}]"
        gateway_cpu = statistics.median(cpu[name][name])
        share = gateway_cpu / statistics.median(cpu[name][up])
        direct_cpu = statistics.median(cpu["direct"][up]) + statistics.median(cpu["direct"]["load generator"])
        print(
            f"   {name}'s CPU per request is {share * 100:.0f}% of {up}'s; if the cores were the only limit, "
            f"the gateway would keep {direct_cpu / (direct_cpu + gateway_cpu) * 100:.0f}% of the direct "
            "throughput (load generator + upstream CPU direct, over that plus the gateway's)"
        )
    print(f"   load average after: {load_average()}")
    own = await own_code_cost(scenario, minter)
    gw_cpu = [statistics.median(cpu[f"gateway[{c}]"][f"gateway[{c}]"]) for c in scenario.gateways]
    print(
        f"   the gateway's own code in process (request-id middleware, routing, token cache, both rate-limit "
        f"buckets, headers, breaker, metrics, access log; canned upstream answer, no sockets): {own:.0f} µs per "
        f"request (best of 7), against {min(gw_cpu):.0f} µs of gateway CPU per request under load; the rest is "
        f"the HTTP server (uvicorn, httptools), the upstream client (aiohttp), the event loop and the kernel's "
        f"loopback socket work"
    )


async def profile_gateway(scenario: Scenario, args: argparse.Namespace, jwks: AppProcess) -> None:
    """Run one gateway under cProfile in front of the scenario's upstream and summarise it."""
    client = args.clients[0]
    prof = Path(tempfile.mkdtemp(prefix="gateway-prof-")) / "gateway.prof"
    port = free_port()
    env = {
        **os.environ,
        **gateway_env(jwks, scenario.upstream, client),
        "PYTHONUNBUFFERED": "1",
        "PROFILE_OUT": str(prof),
        "PROFILE_CLOCK": args.profile_clock,
    }
    log = (prof.parent / "gateway.log").open("wb")
    profiled = subprocess.Popen(  # noqa: ASYNC220 - started once, outside the measured runs
        [sys.executable, str(HERE / "profiled_gateway.py"), str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/cases{scenario.path}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                probe = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/healthz", timeout=1)
                if probe.status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.25)
        await closed_loop(url, scenario.headers, args.concurrency, 1.0)
        profiled.send_signal(signal.SIGUSR2)
        under = await closed_loop(url, scenario.headers, args.concurrency, args.profile_seconds)
        profiled.send_signal(signal.SIGUSR1)
        await asyncio.to_thread(profiled.wait, 30)
    finally:
        if profiled.poll() is None:
            profiled.kill()
            profiled.wait()
        log.close()
    print()
    print(
        f"   profile of gateway[{client}] in front of {scenario.name} under closed-loop load "
        f"({args.profile_seconds:g} s, {under.rps:.0f} req/s with the profiler's overhead; "
        f"{args.profile_clock} clock):"
    )
    print(summarise_profile(prof))


async def run_bench(args: argparse.Namespace) -> int:
    minter = TokenMinter(issuer=PUBLIC_URL + "/identity")
    apps: list[AppProcess] = []
    started = time.monotonic()
    try:
        jwks = start_app(
            "helper_apps:create_jwks",
            {"PYTHONPATH": str(HERE), "BENCH_JWKS": json.dumps(minter.jwks)},
            free_port(),
            "bench-jwks",
        )
        apps.append(jwks)
        await jwks.wait_ready_async("/healthz")
        wanted = UPSTREAMS if args.upstream == "both" else (args.upstream,)
        for which in wanted:
            begin = len(apps)
            if which == "case":
                scenario = await start_case_scenario(args, minter, jwks, apps)
            else:
                scenario = await start_stub_scenario(args, minter, jwks, apps)
            await measure(scenario, args, minter)
            print()
            print(
                "   peak RSS (MiB): "
                + ", ".join(
                    f"{app.name} {peak_rss_mib(app.pid):.0f}"
                    for app in [jwks, *apps[begin:]]
                    if app.is_running()
                )
            )
            if args.profile:
                await profile_gateway(scenario, args, jwks)
            for app in reversed(apps[begin:]):  # the next scenario gets the machine to itself
                app.stop()
            if scenario.scratch is not None:
                shutil.rmtree(scenario.scratch, ignore_errors=True)
        print(f"\nbench took {time.monotonic() - started:.0f} s; load average at the end: {load_average()}")
        return 0
    finally:
        for app in reversed(apps):
            app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upstream", choices=(*UPSTREAMS, "both"), default="case")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop connections")
    parser.add_argument("--rate", type=float, default=0.0, help="open-loop req/s for every upstream")
    parser.add_argument("--case-rate", type=float, default=50.0, help="open-loop req/s against case-svc")
    parser.add_argument("--stub-rate", type=float, default=300.0, help="open-loop req/s against the stub")
    parser.add_argument(
        "--clients",
        type=lambda s: s.split(","),
        default=["aiohttp"],
        help=f"gateway upstream clients, comma-separated ({', '.join(CLIENTS)}); the first is profiled",
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-seconds", type=float, default=5.0)
    parser.add_argument(
        "--profile-clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: thread CPU time (a preempted socket write is not charged); wall: cProfile's default",
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1.5 s, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.profile_seconds = 2, 1.5, 2.0
    unknown = set(args.clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(run_bench(args)))


if __name__ == "__main__":
    main()
