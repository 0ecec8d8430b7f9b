"""Benchmark: client_credentials tokens per second through the in-process app, and kit verifications.

Run: `.venv/bin/python identity-svc/bench/bench_tokens.py [--runs 5] [--tokens 400] [--verify 5000]`.
The app runs in this process (httpx ASGITransport) on a temporary SQLite database, so the figure
includes client authentication, signing, the token record and the audit event in the outbox.
Verification uses tongban_kit.auth.JWKSVerifier exactly as every service does, on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_VERIFY_PER_S = 5000
SERVICE_SECRET = "dev-service-secret"


def _prepare_env(tmp: Path) -> None:
    os.environ["TONGBAN_ENV"] = "test"
    os.environ["IDENTITY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp / 'identity-bench.db'}"
    os.environ.setdefault("TONGBAN_TOPIC_PREFIX", f"bench{secrets.token_hex(4)}.")
    os.environ.setdefault("TONGBAN_LOG_LEVEL", "WARNING")
    os.environ.setdefault("CASE_CLIENT_SECRET", SERVICE_SECRET)


async def _issue(client: Any, n: int, concurrency: int) -> float:
    """Issue n client_credentials tokens with `concurrency` requests in flight; tokens/s."""
    done = 0

    async def worker(count: int) -> None:
        nonlocal done
        for _ in range(count):
            response = await client.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials", "scope": "cases:read"},
                auth=("svc-case", SERVICE_SECRET),
            )
            if response.status_code != 200:
                raise RuntimeError(f"token request failed: {response.status_code} {response.text}")
            done += 1

    per_worker = [n // concurrency + (1 if i < n % concurrency else 0) for i in range(concurrency)]
    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in per_worker))
    return done / (time.perf_counter() - start)


async def _verify(verifier: Any, token: str, n: int) -> float:
    """Verify the same token n times in this one thread; verifications/s."""
    start = time.perf_counter()
    for _ in range(n):
        await verifier.verify(token)
    return n / (time.perf_counter() - start)


async def run(
    runs: int, tokens: int, verifications: int, concurrency: list[int]
) -> tuple[dict[int, list[float]], list[float], int]:
    """Start the app, warm up, then measure both figures `runs` times."""
    import httpx
    from asgi_lifespan import LifespanManager
    from identity_svc.config import Settings
    from identity_svc.main import create_app
    from tongban_kit.auth import JWKSVerifier

    settings = Settings()
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=120) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
            await _issue(client, 20, 1)  # warm-up: caches the secret check, JIT-free but warms SQLite
            issue_rates = {c: [await _issue(client, tokens, c) for _ in range(runs)] for c in concurrency}
            response = await client.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials", "scope": "cases:read"},
                auth=("svc-case", SERVICE_SECRET),
            )
            token = response.json()["access_token"]
            jwks = (await client.get("/.well-known/jwks.json")).json()
    # No verified-token cache: the figure is the signature check itself.
    verifier = JWKSVerifier(
        "http://unused.invalid/jwks", settings.issuer, "urn:tongban:case", verified_cache_size=0
    )
    verifier.set_keys(jwks)
    await _verify(verifier, token, 200)
    verify_rates = [await _verify(verifier, token, verifications) for _ in range(runs)]
    return issue_rates, verify_rates, len(token)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str]) -> int:
    """Print the medians (and each run); with --strict exit 1 when verification misses its target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=400, help="tokens issued per run")
    parser.add_argument("--verify", type=int, default=5000, help="verifications per run")
    parser.add_argument("--concurrency", default="1,8", help="requests in flight, comma-separated")
    parser.add_argument("--strict", action="store_true", help="exit 1 below the verification target")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="identity-bench-") as tmp:
        _prepare_env(Path(tmp))
        levels = [int(c) for c in args.concurrency.split(",")]
        issue, verify, size = asyncio.run(run(args.runs, args.tokens, args.verify, levels))
    verify_median = statistics.median(verify)
    ok = verify_median >= TARGET_VERIFY_PER_S
    print(f"identity-svc bench ({args.runs} runs, medians; token size {size} bytes)")
    for level, rates in issue.items():
        print(
            f"  client_credentials tokens/s   {statistics.median(rates):9.1f}   "
            f"(in-process app, SQLite, {level} in flight; runs: " + ", ".join(f"{r:.0f}" for r in rates) + ")"
        )
    print(
        f"  kit JWKSVerifier.verify/s     {verify_median:9.1f}   "
        f"(one core; target >= {TARGET_VERIFY_PER_S}: {'ok' if ok else 'BELOW TARGET'}; runs: "
        + ", ".join(f"{r:.0f}" for r in verify)
        + ")"
    )
    print(f"  peak RSS                      {_peak_rss_mib():9.1f} MiB")
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
