"""Shared plumbing of case-svc's benchmarks: PostgreSQL, broker, a JWKS server, the app as a process."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the test factories describe the seeded item

from case_factories import HANDLING, PARTICIPANT_A, PARTICIPANT_B, RECEIVING, item_payload, offer_payload  # noqa: E402
from tongban_kit import testing  # noqa: E402
from tongban_kit.testkeys import TokenMinter  # noqa: E402

REGIONS = ["110000", "310000", "440000", "320000", "330000", "510000"]


def serve_jwks(minter: TokenMinter) -> tuple[ThreadingHTTPServer, str]:
    """A tiny identity stand-in serving the minter's JWKS; returns the server and its base URL."""
    body = json.dumps(minter.jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path.endswith("/jwks.json") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    port = testing.free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def app_env(db_url: str, prefix: str, identity_url: str, blob_dir: str, **extra: str) -> dict[str, str]:
    """Environment of a case-svc process for a benchmark."""
    return {
        "TONGBAN_ENV": "test",
        "TONGBAN_LOG_LEVEL": "WARNING",
        "TONGBAN_KAFKA_BOOTSTRAP": testing.kafka_bootstrap(),
        "TONGBAN_TOPIC_PREFIX": prefix,
        "TONGBAN_IDENTITY_URL": identity_url,
        "CASE_DATABASE_URL": db_url,
        "CASE_BLOB_DIR": blob_dir,
        "CASE_DEADLINE_WORKER": "false",
        "CASE_CONSUME_CATALOGUE": "false",
        **extra,
    }


async def seed_catalogue(db_url: str) -> None:
    """Write the benchmark item and every region's offer straight into the read model."""
    from case_svc.adapters.readmodel import ItemStore
    from tongban_kit.db import make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            store = ItemStore(session)
            await store.put_item(item_payload())
            for region in {*REGIONS, HANDLING, RECEIVING, PARTICIPANT_A, PARTICIPANT_B}:
                await store.put_offer(offer_payload(region))
            await session.commit()
    finally:
        await engine.dispose()


def proc_status(pid: int, field: str) -> str:
    """A field of /proc/<pid>/status (e.g. VmHWM, the peak RSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return "?"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    """Seconds as milliseconds text."""
    return f"{seconds * 1000:.1f} ms"


async def wait_ready(app: testing.AppProcess, within: float = 120) -> None:
    """Wait until the app answers /readyz."""
    await app.wait_ready_async("/readyz", within=within)


def now() -> float:
    """Monotonic seconds."""
    return time.monotonic()


def run(coro: Any) -> Any:
    """Run the benchmark's main coroutine on uvloop when available."""
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)
