#!/usr/bin/env python3
"""SM2 signing and verification per second: through the API (in-process) and with the library directly.

The API figures are for ``POST /v1/signatures`` with a batch of digests and ``POST
/v1/signatures/verify/batch`` with as many signatures, over httpx's ASGI transport (token check,
JSON, database read of the seal, key unwrap cache, SES_Signature building, DER and base64). The
library figures are the same work without HTTP: ``ses.sign`` and ``ses.verify_ses_signature`` on the
same seal and key. The raw GmSSL primitive rates are printed for context. Rounds alternate between
the two sides so that load from other processes hits both alike; medians are reported.

Environment: BENCH_BATCH (default 100), BENCH_ROUNDS (default 7).
"""

from __future__ import annotations

import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TONGBAN_ENV", "test")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "eseal-svc" / "src"))

import httpx  # noqa: E402
from asgi_lifespan import LifespanManager  # noqa: E402
from eseal_svc.adapters.crypto import ses, sm  # noqa: E402
from eseal_svc.adapters.orm import SealRow  # noqa: E402
from eseal_svc.config import Settings, platform_org  # noqa: E402
from eseal_svc.main import create_app  # noqa: E402
from eseal_svc.service_layer.context import EsealContext  # noqa: E402
from sqlalchemy import select  # noqa: E402
from tongban_kit.testkeys import TokenMinter  # noqa: E402

BATCH = int(os.environ.get("BENCH_BATCH", "100"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
REGION = "310000"
TARGET = 0.70


def rate(count: int, seconds: float) -> float:
    """Operations per second."""
    return count / seconds if seconds > 0 else float("inf")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of a call and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


async def atimed(coro: Any) -> tuple[float, Any]:
    """Wall time of an awaited call and its result."""
    start = time.perf_counter()
    result = await coro
    return time.perf_counter() - start, result


def primitive_rates(n: int = 200) -> tuple[float, float]:
    """Raw SM2 sign and verify per second (GmSSL via gmssl-pyx)."""
    private_key, public_key = sm.sm2_generate_keypair()
    message = os.urandom(64)
    seconds, _ = timed(lambda: [sm.sm2_sign(private_key, public_key, message) for _ in range(n)])
    signature = sm.sm2_sign(private_key, public_key, message)
    vseconds, _ = timed(lambda: [sm.sm2_verify(public_key, message, signature) for _ in range(n)])
    return rate(n, seconds), rate(n, vseconds)


async def main() -> int:
    """Run the benchmark and print its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            env="test",
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            kafka_bootstrap="127.0.0.1:1",
            log_level="WARNING",
            max_batch=max(BATCH, 1000),
        )
        minter = TokenMinter()
        app = create_app(settings)
        async with LifespanManager(app, startup_timeout=120) as manager:
            app.state.runtime.verifier.set_keys(minter.jwks)
            ctx: EsealContext = app.state.runtime.extras["eseal"]
            async with ctx.uow() as uow:
                seal = (
                    await uow.session.execute(select(SealRow).where(SealRow.uscc == platform_org(REGION)))
                ).scalar_one()
            signer = ctx.keyring.seal_signer(seal.id, seal.wrapped_key)
            trust = await ctx.trust.snapshot()
            token = minter.mint(
                "eseal:sign eseal:verify",
                audience=["urn:tongban:eseal"],
                client_id=f"platform-{REGION}",
                region=REGION,
                org=platform_org(REGION),
            )
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://eseal", timeout=120
            ) as client:
                digests = [sm.sm3(os.urandom(32)) for _ in range(BATCH)]
                sign_body = {
                    "seal_id": seal.id,
                    "digests": [{"algorithm": "sm3", "value": d.hex()} for d in digests],
                }

                def lib_sign() -> list[bytes]:
                    now = ctx.clock()
                    return [
                        ses.sign(
                            seal_der=seal.seal_der,
                            signer=signer,
                            signer_certificate=seal.signer_certificate,
                            data_hash=d,
                            signed_at=now,
                        )
                        for d in digests
                    ]

                async def api_sign() -> list[str]:
                    r = await client.post("/v1/signatures", json=sign_body, headers=headers)
                    r.raise_for_status()
                    return [s["signature"] for s in r.json()["signatures"]]

                signatures = lib_sign()
                revoked: dict[ses.SealReference, Any] = {}

                def lib_verify() -> int:
                    now = ctx.clock()
                    passed = 0
                    for signature, d in zip(signatures, digests, strict=True):
                        report = ses.verify_ses_signature(
                            signature,
                            ses.DocumentDigest(d),
                            trust_anchors=trust.certificates,
                            revocation_lookup=revoked.get,
                            validation_time=now,
                        )
                        passed += report.passed
                    return passed

                verify_body = {
                    "items": [
                        {
                            "signature": base64.b64encode(s).decode(),
                            "digest": {"algorithm": "sm3", "value": d.hex()},
                        }
                        for s, d in zip(signatures, digests, strict=True)
                    ]
                }

                async def api_verify() -> int:
                    r = await client.post("/v1/signatures/verify/batch", json=verify_body, headers=headers)
                    r.raise_for_status()
                    return sum(rep["indication"] == "TOTAL_PASSED" for rep in r.json()["reports"])

                # Warm up both paths (imports, key cache, connection pools).
                await api_sign()
                assert await api_verify() == BATCH
                assert lib_verify() == BATCH

                figures: dict[str, list[float]] = {
                    k: [] for k in ("lib_sign", "api_sign", "lib_verify", "api_verify")
                }
                for _ in range(ROUNDS):
                    seconds, _ = timed(lib_sign)
                    figures["lib_sign"].append(rate(BATCH, seconds))
                    seconds, _ = await atimed(api_sign())
                    figures["api_sign"].append(rate(BATCH, seconds))
                    seconds, passed = timed(lib_verify)
                    assert passed == BATCH
                    figures["lib_verify"].append(rate(BATCH, seconds))
                    seconds, passed = await atimed(api_verify())
                    assert passed == BATCH
                    figures["api_verify"].append(rate(BATCH, seconds))

    raw_sign, raw_verify = primitive_rates()
    median = {k: statistics.median(v) for k, v in figures.items()}
    sign_ratio = median["api_sign"] / median["lib_sign"]
    verify_ratio = median["api_verify"] / median["lib_verify"]
    print(f"SM2 (SM3withSM2, GB/T 38540 SES_Signature v4), batch {BATCH}, {ROUNDS} rounds, medians:")
    print(f"  raw GmSSL primitive      sign {raw_sign:8.1f}/s   verify {raw_verify:8.1f}/s")
    print(
        f"  library (ses.sign/verify) sign {median['lib_sign']:8.1f}/s   verify {median['lib_verify']:8.1f}/s"
    )
    print(
        f"  API (in-process, batch)  sign {median['api_sign']:8.1f}/s   verify {median['api_verify']:8.1f}/s"
    )
    print(
        f"  API / library            sign {sign_ratio:8.1%}     verify {verify_ratio:8.1%}   (target >= {TARGET:.0%})"
    )
    met = sign_ratio >= TARGET and verify_ratio >= TARGET
    print(f"  target {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
