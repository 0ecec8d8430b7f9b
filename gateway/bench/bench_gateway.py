"""Gateway bench: a small GET served directly and through the gateway (token verified), alternated.

Starts a JWKS server, a small FastAPI upstream and one gateway per upstream HTTP client (aiohttp,
httpx, httpx over the aiohttp transport), then alternates runs against each over loopback:

* closed loop (fixed concurrency, as fast as it goes): requests/s, p50, p99;
* open loop (a fixed, moderate request rate): p50, p99 — the latency the gateway adds;

and reports the median of the rounds, the gateway/direct throughput ratio and the added p50,
then profiles one gateway under load with cProfile and prints where its time goes. The load
generator shares the machine's cores with the servers, as the issue asks.

    .venv/bin/python gateway/bench/bench_gateway.py [--rounds 5] [--seconds 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from tongban_kit.testing import AppProcess, free_port, start_app
from tongban_kit.testkeys import TokenMinter

HERE = Path(__file__).resolve().parent
CLIENTS = ("aiohttp", "httpx", "httpx-aiohttp")


@dataclass
class Result:
    """One run against one target."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


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
        len(latencies) / elapsed, percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3, errors
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
        len(latencies) / elapsed, percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3, errors
    )


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
    """A gateway in front of the bench upstream, limits off (the bench measures the path, not 429s)."""
    env = {
        "TONGBAN_ENV": "test",
        "TONGBAN_IDENTITY_URL": jwks.base_url,
        "GATEWAY_HTTP_CLIENT": client,
        "GATEWAY_RATE_LIMIT_CLIENT_RATE": "0",
        "GATEWAY_RATE_LIMIT_IP_RATE": "0",
        "UVICORN_PROXY_HEADERS": "false",
    }
    for name in ("CATALOGUE", "CASE", "IDENTITY", "ESEAL", "EXCHANGE"):
        env[f"GATEWAY_UPSTREAM_{name}"] = upstream.base_url
    return env


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
    ("tongban_kit", "kit (request-id middleware, verifier)"),
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


async def run_bench(args: argparse.Namespace) -> int:
    minter = TokenMinter()
    token = minter.mint(
        "cases:read", audience="urn:tongban:case", client_id="platform-440000", region="440000"
    )
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    pythonpath = {"PYTHONPATH": str(HERE)}
    apps: list[AppProcess] = []
    profiled: subprocess.Popen[bytes] | None = None
    try:
        jwks = start_app(
            "bench_apps:create_jwks",
            {**pythonpath, "BENCH_JWKS": json.dumps(minter.jwks)},
            free_port(),
            "bench-jwks",
        )
        upstream = start_app("bench_apps:create_upstream", pythonpath, free_port(), "bench-upstream")
        apps += [jwks, upstream]
        jwks.wait_ready("/healthz")
        upstream.wait_ready("/healthz")
        gateways = {}
        for client in args.clients:
            gw = start_app(
                "tongban_gateway.main:create_app",
                gateway_env(jwks, upstream, client),
                free_port(),
                f"bench-gateway-{client}",
            )
            apps.append(gw)
            gateways[client] = gw
        for gw in gateways.values():
            gw.wait_ready("/readyz")

        path = "/v1/cases/01a21ad4-5bcb-7649-a904-cbd348f11919"
        targets = {"direct": upstream.base_url + path}
        targets.update({f"gateway[{c}]": gw.base_url + "/cases" + path for c, gw in gateways.items()})
        for url in targets.values():  # fail early on a broken setup
            resp = await asyncio.to_thread(httpx.get, url, headers=headers, timeout=5)
            if resp.status_code != 200:
                print(f"setup check failed: GET {url} -> {resp.status_code} {resp.text[:200]}")
                return 1
        for url in targets.values():  # warm pools, token cache, code paths
            await closed_loop(url, headers, args.concurrency, 1.0)

        # CPU per request of each process, measured over the closed-loop runs.
        cpu: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        pids = {"upstream": upstream.pid, **{f"gateway[{c}]": gw.pid for c, gw in gateways.items()}}
        closed: dict[str, list[Result]] = defaultdict(list)
        opened: dict[str, list[Result]] = defaultdict(list)
        print(
            f"bench: {args.rounds} rounds x {args.seconds:g} s per target; closed loop at concurrency "
            f"{args.concurrency}, open loop at {args.rate:g} req/s; {os.cpu_count()} cores shared with the load generator"
        )
        for round_no in range(args.rounds):
            order = list(targets) if round_no % 2 == 0 else list(reversed(targets))
            for name in order:
                before = {proc: cpu_seconds(pid) for proc, pid in pids.items()}
                load_before = time.process_time()
                result = await closed_loop(targets[name], headers, args.concurrency, args.seconds)
                count = result.rps * args.seconds
                closed[name].append(result)
                cpu[name]["load generator"].append((time.process_time() - load_before) / count * 1e6)
                for proc in ("upstream", name) if name != "direct" else ("upstream",):
                    cpu[name][proc].append((cpu_seconds(pids[proc]) - before[proc]) / count * 1e6)
            for name in order:
                opened[name].append(await open_loop(targets[name], headers, args.rate, args.seconds))
            print(f"  round {round_no + 1}: " + ", ".join(f"{n} {closed[n][-1].rps:.0f}/s" for n in targets))

        def med(results: list[Result], field: str) -> float:
            return float(statistics.median(float(getattr(r, field)) for r in results))

        print()
        print(
            f"{'target':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | {'open p50':>9} {'open p99':>9} {'errors':>7}"
        )
        for name in targets:
            errors = sum(r.errors for r in closed[name] + opened[name])
            print(
                f"{name:24} {med(closed[name], 'rps'):8.0f} {med(closed[name], 'p50_ms'):8.2f} "
                f"{med(closed[name], 'p99_ms'):8.2f} | {med(opened[name], 'p50_ms'):9.2f} "
                f"{med(opened[name], 'p99_ms'):9.2f} {errors:7d}"
            )
        print()
        direct_rps = med(closed["direct"], "rps")
        direct_p50 = med(opened["direct"], "p50_ms")
        for client in gateways:
            name = f"gateway[{client}]"
            ratio = med(closed[name], "rps") / direct_rps
            added = med(opened[name], "p50_ms") - direct_p50
            print(
                f"{name:24} throughput {ratio * 100:5.1f}% of direct (target >= 75%: "
                f"{'met' if ratio >= 0.75 else 'missed'}), added p50 at {args.rate:g} req/s {added:+.2f} ms "
                f"(target <= 1 ms: {'met' if added <= 1.0 else 'missed'})"
            )
        print()
        print("CPU per request in the closed loop (median, microseconds; 10 ms clock ticks):")
        for name in targets:
            parts = ", ".join(f"{proc} {statistics.median(v):.0f}" for proc, v in cpu[name].items())
            print(f"  {name:24} {parts}")
        best = max(gateways, key=lambda c: med(closed[f"gateway[{c}]"], "rps"))
        print(f"fastest upstream client: {best}")
        print()
        print("peak RSS (MiB): " + ", ".join(f"{app.name} {peak_rss_mib(app.pid):.0f}" for app in apps))

        if args.profile:
            print()
            prof = Path(tempfile.mkdtemp(prefix="gateway-prof-")) / "gateway.prof"
            port = free_port()
            env = {**os.environ, **gateway_env(jwks, upstream, best), "PYTHONUNBUFFERED": "1"}
            log = (prof.parent / "gateway.log").open("wb")
            env["PROFILE_OUT"] = str(prof)
            profiled = subprocess.Popen(  # noqa: ASYNC220 - started once, outside the measured runs
                [sys.executable, str(HERE / "profiled_gateway.py"), str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            url = f"http://127.0.0.1:{port}/cases{path}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    probe = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/healthz", timeout=1)
                    if probe.status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.25)
            await closed_loop(url, headers, args.concurrency, 1.0)
            profiled.send_signal(signal.SIGUSR2)
            under = await closed_loop(url, headers, args.concurrency, args.profile_seconds)
            profiled.send_signal(signal.SIGUSR1)
            await asyncio.to_thread(profiled.wait, 30)
            log.close()
            print(
                f"profile of gateway[{best}] under closed-loop load ({args.profile_seconds:g} s, "
                f"{under.rps:.0f} req/s with the profiler's overhead):"
            )
            print(summarise_profile(prof))
        return 0
    finally:
        if profiled is not None and profiled.poll() is None:
            profiled.kill()
        for app in reversed(apps):
            app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop connections")
    parser.add_argument(
        "--rate", type=float, default=300.0, help="open-loop requests per second (moderate load)"
    )
    parser.add_argument("--clients", type=lambda s: s.split(","), default=list(CLIENTS))
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--profile-seconds", type=float, default=5.0)
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
