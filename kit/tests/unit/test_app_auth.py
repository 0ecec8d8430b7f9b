"""The app factory in-process on SQLite: tokens, problems, request ids, body limits, outbox rows."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from tongban_kit.outbox import OutboxMessage
from tongban_kit.testkeys import TokenMinter


def _load_demo() -> Any:
    if "kit_demo_app" in sys.modules:  # both test modules share one copy (one set of tables)
        return sys.modules["kit_demo_app"]
    path = Path(__file__).parents[1] / "demo_app.py"
    spec = importlib.util.spec_from_file_location("kit_demo_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["kit_demo_app"] = module
    spec.loader.exec_module(module)
    return module


demo = _load_demo()
AUD = "urn:tongban:demo"


@pytest.fixture(scope="module")
def minter() -> TokenMinter:
    return TokenMinter()


@pytest.fixture
async def client(tmp_path: Path, minter: TokenMinter) -> AsyncIterator[httpx.AsyncClient]:
    settings = demo.DemoSettings(
        env="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db",
        migrate_on_start=False,
        kafka_bootstrap="127.0.0.1:1",  # nothing listens: the app must serve anyway
        max_body_bytes=2048,
    )
    app = demo.create_app(settings)
    async with LifespanManager(app) as manager:
        app.state.runtime.verifier.set_keys(minter.jwks)
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def _outbox_rows(c: httpx.AsyncClient) -> int:
    async with c.app.state.runtime.session_factory() as session:  # type: ignore[attr-defined]
        return int((await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one())


async def test_valid_token_creates_and_writes_outbox(client: httpx.AsyncClient, minter: TokenMinter) -> None:
    token = minter.mint("demo:write", audience=[AUD])
    r = await client.post("/v1/widgets", json={"name": "a"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    assert await _outbox_rows(client) == 1


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("none", 401, "unauthorized"),
        ("wrong-signature", 401, "unauthorized"),
        ("wrong-audience", 401, "unauthorized"),
        ("expired", 401, "unauthorized"),
        ("wrong-typ", 401, "unauthorized"),
        ("missing-scope", 403, "insufficient-scope"),
    ],
)
async def test_bad_tokens_are_refused_with_problems(
    client: httpx.AsyncClient, minter: TokenMinter, case: str, status: int, code: str
) -> None:
    tokens = {
        "none": None,
        "wrong-signature": TokenMinter(kid=minter.kid).mint("demo:write", audience=[AUD]),
        "wrong-audience": minter.mint("demo:write", audience=["urn:tongban:case"]),
        "expired": minter.mint("demo:write", audience=[AUD], expires_in=-120),
        "wrong-typ": minter.mint("demo:write", audience=[AUD], typ="JWT"),
        "missing-scope": minter.mint("demo:read", audience=[AUD]),
    }
    token = tokens[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = await client.post("/v1/widgets", json={"name": "a"}, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == code and body["status"] == status and "detail" in body
    assert await _outbox_rows(client) == 0


async def test_validation_problem_lists_fields_and_changes_nothing(
    client: httpx.AsyncClient, minter: TokenMinter
) -> None:
    token = minter.mint("demo:write", audience=[AUD])
    r = await client.post(
        "/v1/widgets", json={"name": "", "extra": 1}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.name", "body.extra"} <= fields
    assert await _outbox_rows(client) == 0


async def test_request_id_is_echoed_or_created(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-Id": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    r2 = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r2.headers["x-request-id"] != "bad id with spaces" and len(r2.headers["x-request-id"]) == 36


async def test_body_limit_is_413_problem(client: httpx.AsyncClient, minter: TokenMinter) -> None:
    token = minter.mint("demo:write", audience=[AUD])
    r = await client.post("/v1/widgets", content=b"x" * 5000, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 413
    assert r.json()["code"] == "body-too-large"


async def test_readyz_reports_broker_without_blocking(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "kafka": "unavailable"}
    assert (await client.get("/healthz")).status_code == 200


async def test_request_logs_keep_the_service_and_name_request_and_trace(client: httpx.AsyncClient) -> None:
    import structlog

    seen: dict[str, object] = {}

    @client.app.get("/v1/log-probe")  # type: ignore[attr-defined]
    async def probe() -> dict[str, str]:
        seen.update(structlog.contextvars.get_contextvars())
        return {}

    client.app.router.routes.insert(0, client.app.router.routes.pop())  # type: ignore[attr-defined]
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    r = await client.get(
        "/v1/log-probe",
        headers={"X-Request-Id": "rid-1", "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert r.status_code == 200
    assert seen["request_id"] == "rid-1"
    assert seen["trace_id"] == trace_id
    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_every_log_line_names_the_service(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import structlog

    structlog.get_logger("t").info("hello", n=1)
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # The first app a process builds names its logs (in a combined test run that may be another).
    assert isinstance(line.get("service"), str)
    assert line["service"]
    assert line["event"] == "hello"


async def test_unhandled_error_is_a_500_problem_without_details(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "internal-error"
    assert "secret internal detail" not in r.text
    assert (await client.get("/healthz")).status_code == 200


async def test_verified_token_cache_rechecks_claims_and_drops_rotated_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time as time_mod

    from tongban_kit.auth import JWKSVerifier, TokenError

    minter = TokenMinter()
    verifier = JWKSVerifier("http://127.0.0.1:9/jwks", minter.issuer, AUD)
    verifier.set_keys(minter.jwks)
    token = minter.mint("demo:read", audience=[AUD], expires_in=60)
    assert (await verifier.verify(token))["scope"] == "demo:read"
    assert token in verifier._verified
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(TokenError, match="signature"):
        await verifier.verify(forged)  # a different text never hits the cache
    real = time_mod.time
    monkeypatch.setattr(time_mod, "time", lambda: real() + 200)
    with pytest.raises(TokenError, match="expired"):
        await verifier.verify(token)  # the cached claims are checked again
    assert token not in verifier._verified
    monkeypatch.setattr(time_mod, "time", real)
    await verifier.verify(token)
    verifier.set_keys(TokenMinter().jwks)  # the signing key left the key set
    assert token not in verifier._verified
    with pytest.raises(TokenError, match="unknown key"):
        await verifier.verify(token)


@pytest.mark.parametrize("freeze", [False, True])
async def test_objects_made_at_start_are_frozen_out_of_the_collector_when_asked(
    tmp_path: Path, freeze: bool
) -> None:
    import gc

    gc.unfreeze()
    settings = demo.DemoSettings(
        env="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db",
        migrate_on_start=False,
        kafka_bootstrap="127.0.0.1:1",
        gc_freeze=freeze,
    )
    try:
        async with LifespanManager(demo.create_app(settings)):
            assert (gc.get_freeze_count() > 0) is freeze
    finally:
        gc.unfreeze()
