"""Unit tests of the gateway's rules and adapters that need no process and no network."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from tongban_gateway.adapters.tokens import GatewayVerifier
from tongban_gateway.config import Settings
from tongban_gateway.domain.balancer import Balancer
from tongban_gateway.domain.breaker import BreakerState, CircuitBreaker
from tongban_gateway.domain.openapi_merge import merge_documents
from tongban_gateway.domain.retry import RetryBudget
from tongban_gateway.domain.routes import ANONYMOUS, SERVICES, PathRule, Route, RouteTable, has_dot_segments
from tongban_gateway.entrypoints.forwarding import TrustedProxies
from tongban_gateway.main import build_routes
from tongban_gateway.openapi import render
from tongban_kit.auth import TokenError
from tongban_kit.testkeys import TokenMinter

AUDIENCES = [audience for _, audience in SERVICES.values()]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- routes ---------------------------------------------------------------------------------------


def table() -> RouteTable:
    return build_routes(Settings(env="test"))


def test_route_match_strips_the_prefix() -> None:
    routes = table()
    route, rest = routes.match("/cases/v1/cases/1") or (None, None)
    assert route is not None and route.upstream == "case" and route.audience == "urn:tongban:case"
    assert rest == "/v1/cases/1"
    assert routes.match("/cases")[1] == "/"  # type: ignore[index]
    assert routes.match("/casesx/v1") is None
    assert routes.match("/") is None


@pytest.mark.parametrize(
    ("route", "method", "path", "anonymous"),
    [
        ("catalogue", "GET", "/v1/items", True),
        ("catalogue", "HEAD", "/v1/items/330000/guide", True),
        ("catalogue", "GET", "/v1/faqs", True),
        ("catalogue", "POST", "/v1/items", False),
        ("catalogue", "GET", "/v1/itemsx", False),
        ("catalogue", "GET", "/v1/drafts", False),
        ("identity", "POST", "/oauth2/token", True),
        ("identity", "GET", "/.well-known/jwks.json", True),
        ("identity", "POST", "/login/totp", True),
        ("identity", "GET", "/userinfo", True),
        ("identity", "POST", "/v1/clients", False),
        ("eseal", "GET", "/v1/status-lists/7", True),
        ("eseal", "POST", "/v1/signatures", False),
        ("cases", "GET", "/v1/cases", False),
        ("exchange", "GET", "/v1/resources", False),
    ],
)
def test_anonymous_rules(route: str, method: str, path: str, anonymous: bool) -> None:
    r = Route(name=route, upstream=route, audience="x", anonymous=ANONYMOUS.get(route, ()))
    assert r.is_anonymous(method, path) is anonymous


def test_path_rule_kinds() -> None:
    assert PathRule("/a/**").matches("GET", "/a") and PathRule("/a/**").matches("GET", "/a/b")
    assert not PathRule("/a/**").matches("GET", "/ab")
    assert PathRule("/login*").matches("POST", "/login-form")
    assert PathRule("/x").matches("PUT", "/x") and not PathRule("/x").matches("PUT", "/x/y")
    assert not PathRule("/x", frozenset({"GET"})).matches("POST", "/x")


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("/a/b", False),
        ("/a/v1.2/b", False),
        ("/a/../b", True),
        ("/a/./b", True),
        ("/a/..", True),
        ("/a\\b", True),
    ],
)
def test_dot_segments(path: str, bad: bool) -> None:
    assert has_dot_segments(path) is bad


# --- breaker, budget, balancer -------------------------------------------------------------------


def test_breaker_opens_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, cooldown=5.0, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow() and breaker.state is BreakerState.CLOSED
    breaker.record_success()
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_after() == 5.0
    clock.now += 5.0
    assert breaker.allow() and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.release()  # the trial's caller went away: the slot is free again
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0


def test_retry_budget_limits_retries_to_a_share_of_requests() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.5, min_per_second=0.0, cap=2.0, clock=clock)
    assert budget.try_spend() and budget.try_spend() and not budget.try_spend()
    budget.on_request()
    assert not budget.try_spend()
    budget.on_request()
    assert budget.try_spend()
    refill = RetryBudget(ratio=0.0, min_per_second=1.0, cap=1.0, clock=clock)
    assert refill.try_spend() and not refill.try_spend()
    clock.now += 1.0
    assert refill.try_spend()


def test_balancer_round_robin_skips_open_circuits_and_prefers_untried() -> None:
    clock = Clock()
    balancer = Balancer(["http://a", "http://b", "http://c"], lambda: CircuitBreaker(1, 10.0, clock))
    assert [balancer.pick().url for _ in range(4)] == ["http://a", "http://b", "http://c", "http://a"]  # type: ignore[union-attr]
    b = balancer.instances[1]
    b.breaker.record_failure()
    assert [balancer.pick().url for _ in range(3)] == ["http://c", "http://a", "http://c"]  # type: ignore[union-attr]
    first = balancer.pick()
    assert first is not None and balancer.pick([first]) not in (first, b)
    for inst in balancer.instances:
        inst.breaker.record_failure()
    assert balancer.pick() is None
    assert balancer.retry_after() == 10.0
    single = Balancer(["http://only"], lambda: CircuitBreaker(5, 10.0, clock))
    only = single.pick()
    assert single.pick([only]) is only  # nothing untried left: the same instance again  # type: ignore[list-item]


# --- forwarding -----------------------------------------------------------------------------------


def test_trusted_proxies_pick_the_first_untrusted_hop_from_the_right() -> None:
    trusted = TrustedProxies(["10.0.0.0/8", "127.0.0.1"])
    assert trusted.client_address("10.1.2.3", "203.0.113.7, 198.51.100.2, 10.9.9.9") == (
        "198.51.100.2",
        "203.0.113.7, 198.51.100.2, 10.9.9.9, 10.1.2.3",
    )
    assert trusted.client_address("192.0.2.1", "203.0.113.7") == ("192.0.2.1", "192.0.2.1")  # not believed
    assert trusted.client_address("127.0.0.1", None) == ("127.0.0.1", "127.0.0.1")
    assert not TrustedProxies([])


# --- OpenAPI --------------------------------------------------------------------------------------


def test_merge_prefixes_paths_and_namespaces_components() -> None:
    doc: dict[str, Any] = {
        "info": {"title": "case-svc"},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/cases": {
                "post": {
                    "operationId": "submit",
                    "requestBody": {"$ref": "#/components/requestBodies/Submit"},
                    "responses": {"201": {"$ref": "#/components/responses/Created"}},
                },
                "parameters": [{"$ref": "#/components/parameters/Limit"}],
            }
        },
        "components": {
            "schemas": {
                "Case": {"properties": {"m": {"$ref": "#/components/schemas/Material"}}},
                "Material": {},
            },
            "requestBodies": {"Submit": {}},
            "responses": {"Created": {}},
            "parameters": {"Limit": {}},
            "securitySchemes": {"bearer": {"type": "http"}},
        },
    }
    merged = merge_documents({"openapi": "3.1.0", "paths": {"/healthz": {}}}, {"cases": ("/cases", doc)})
    item = merged["paths"]["/cases/v1/cases"]
    assert item["post"]["operationId"] == "cases.submit"
    assert item["post"]["requestBody"]["$ref"] == "#/components/requestBodies/cases.Submit"
    assert item["post"]["security"] == [{"cases.bearer": []}]
    assert item["post"]["tags"] == ["cases"]
    assert item["parameters"][0]["$ref"] == "#/components/parameters/cases.Limit"
    schemas = merged["components"]["schemas"]
    assert schemas["cases.Case"]["properties"]["m"]["$ref"] == "#/components/schemas/cases.Material"
    assert "cases.bearer" in merged["components"]["securitySchemes"]
    assert "/healthz" in merged["paths"]
    assert doc["paths"]["/v1/cases"]["post"]["operationId"] == "submit"  # input untouched


def test_contract_file_is_current() -> None:
    path = Path(__file__).resolve().parents[2] / "contracts" / "openapi" / "gateway.json"
    assert path.read_text(encoding="utf-8") == render(), "run: python -m tongban_gateway.openapi"


# --- settings -------------------------------------------------------------------------------------


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_ENV", "test")
    monkeypatch.setenv("GATEWAY_UPSTREAM_CASES", "http://a:1/, http://b:2")
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://x.gov.cn, https://y.gov.cn")
    monkeypatch.setenv("GATEWAY_ROUTE_TIMEOUTS", '{"catalogue": 2.5}')
    monkeypatch.setenv("GATEWAY_MAX_BODY_BYTES", "1000")
    settings = Settings()
    assert settings.upstream_urls("case") == ["http://a:1", "http://b:2"]
    assert settings.upstream_urls("catalogue") == ["http://127.0.0.1:8001"]
    assert settings.cors_origins == ["https://x.gov.cn", "https://y.gov.cn"]
    assert settings.route_timeout("catalogue") == 2.5 and settings.route_timeout("exchange") == 10.0
    assert settings.route_body_limit("exchange") == 1000 and settings.route_body_limit("cases") > 1000


def test_extra_anonymous_rules_come_from_settings() -> None:
    settings = Settings(env="test", anonymous_extra={"identity": ["/consent*", "GET,HEAD /v1/public/**"]})
    route, _ = build_routes(settings).match("/identity/consent") or (None, None)
    assert route is not None
    assert route.is_anonymous("POST", "/consent/42") and route.is_anonymous("GET", "/v1/public/x")
    assert not route.is_anonymous("POST", "/v1/public/x")
    assert route.is_anonymous("POST", "/oauth2/token")  # the built-in rules stay
    with pytest.raises(ValueError, match="unknown routes"):
        build_routes(Settings(env="test", anonymous_extra={"nowhere": ["/x"]}))
    with pytest.raises(ValueError, match="not a path rule"):
        build_routes(Settings(env="test", anonymous_extra={"cases": ["x y z"]}))


def test_settings_refuse_an_empty_upstream() -> None:
    with pytest.raises(ValueError, match="GATEWAY_UPSTREAM_ESEAL"):
        Settings(env="test", upstream_eseal=" , ").upstream_urls("eseal")


def test_settings_refuse_dev_secrets_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TONGBAN_ENV", raising=False)
    with pytest.raises(ValueError, match="default secrets"):
        Settings()


# --- token verification ---------------------------------------------------------------------------


def verifier(minter: TokenMinter) -> GatewayVerifier:
    v = GatewayVerifier("http://127.0.0.1:9/jwks", minter.issuer, AUDIENCES)
    v.set_keys(minter.jwks)
    return v


async def test_verifier_demands_the_route_audience() -> None:
    minter = TokenMinter()
    v = verifier(minter)
    token = minter.mint("cases:read eseal:verify", audience=["urn:tongban:case", "urn:tongban:eseal"])
    assert (await v.verify_for(token, "urn:tongban:case"))["aud"] == ["urn:tongban:case", "urn:tongban:eseal"]
    assert await v.verify_for(token, "urn:tongban:eseal")
    with pytest.raises(TokenError, match="not meant for urn:tongban:catalogue"):
        await v.verify_for(token, "urn:tongban:catalogue")  # from the cache, still refused
    foreign = minter.mint("x", audience="https://elsewhere")
    with pytest.raises(TokenError, match="not meant for this platform"):
        await v.verify_for(foreign, "urn:tongban:case")


async def test_verifier_cache_honours_expiry_and_key_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    minter = TokenMinter()
    v = verifier(minter)
    token = minter.mint("cases:read", audience="urn:tongban:case", expires_in=60)
    await v.verify_for(token, "urn:tongban:case")
    assert token in v._verified
    import tongban_kit.auth as tokens_mod

    real = tokens_mod.time.time
    monkeypatch.setattr(tokens_mod.time, "time", lambda: real() + 200)
    with pytest.raises(TokenError, match="expired"):
        await v.verify_for(token, "urn:tongban:case")
    assert token not in v._verified
    monkeypatch.setattr(tokens_mod.time, "time", real)
    await v.verify_for(token, "urn:tongban:case")
    v.set_keys(TokenMinter().jwks)  # the old key is gone: its tokens must be checked again
    assert token not in v._verified
    with pytest.raises(TokenError):
        await v.verify_for(token, "urn:tongban:case")


async def test_verifier_backs_off_when_the_key_server_is_down() -> None:
    minter = TokenMinter()
    v = verifier(minter)
    v._fetched_at -= v.cache_seconds + 1  # stale: the next use tries to refetch
    assert not await v.refresh()
    assert not v.last_fetch_ok
    # The old keys stay in use and the next attempt waits min_refresh_interval.
    token = minter.mint("cases:read", audience="urn:tongban:case")
    assert await asyncio.wait_for(v.verify_for(token, "urn:tongban:case"), 1.0)


# --- CORS and the access log ----------------------------------------------------------------------


async def _call(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": "/cases/v1/x", "headers": headers}
    await app(scope, receive, send)
    return sent


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"access-control-allow-origin", b"x")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


async def test_cors_any_origin_never_allows_credentials() -> None:
    from tongban_gateway.entrypoints.cors import CORSMiddleware

    app = CORSMiddleware(_ok, ["*"], allow_credentials=True, max_age=60)
    sent = await _call(app, "GET", [(b"origin", b"https://a.example")])
    headers = dict(sent[0]["headers"])
    assert headers[b"access-control-allow-origin"] == b"*"  # the upstream's own value was replaced
    assert b"access-control-allow-credentials" not in headers
    pre = await _call(
        app, "OPTIONS", [(b"origin", b"https://a.example"), (b"access-control-request-method", b"PUT")]
    )
    assert pre[0]["status"] == 204 and dict(pre[0]["headers"])[b"access-control-max-age"] == b"60"


async def test_cors_listed_origin_with_credentials_is_echoed() -> None:
    from tongban_gateway.entrypoints.cors import CORSMiddleware

    app = CORSMiddleware(_ok, ["https://a.example/"], allow_credentials=True, max_age=60)
    headers = dict((await _call(app, "GET", [(b"origin", b"https://a.example")]))[0]["headers"])
    assert headers[b"access-control-allow-origin"] == b"https://a.example"
    assert headers[b"access-control-allow-credentials"] == b"true"
    plain = dict((await _call(app, "GET", []))[0]["headers"])
    assert plain[b"access-control-allow-origin"] == b"x"  # no Origin: untouched


async def test_request_id_is_kept_when_valid_replaced_otherwise_and_bound_for_logs() -> None:
    import structlog
    from tongban_gateway.entrypoints.requestid import RequestIdMiddleware

    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["state"] = scope["state"]["request_id"]
        seen["bound"] = structlog.contextvars.get_contextvars().get("request_id")
        await _ok(scope, receive, send)

    middleware = RequestIdMiddleware(app)
    outside = structlog.contextvars.get_contextvars()

    async def call(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
        # Its own task, as the server runs every request.
        sent = await asyncio.create_task(_call(middleware, "GET", headers))
        return [value for name, value in sent[0]["headers"] if name == b"x-request-id"]

    assert await call([(b"x-request-id", b"req-abc.123")]) == [b"req-abc.123"]
    assert seen == {"state": "req-abc.123", "bound": "req-abc.123"}
    for unusable in (b"no spaces allowed", b"x" * 129, b"", b"a\nb"):
        echoed = await call([(b"x-request-id", unusable)])
        assert len(echoed) == 1 and echoed[0] != unusable and len(echoed[0]) >= 16
        assert seen["state"] == seen["bound"] == echoed[0].decode()
    first, second = await call([]), await call([])
    assert first != second  # created per request
    assert structlog.contextvars.get_contextvars() == outside  # bound inside each request's task only

    passed: list[str] = []

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["type"])

    await RequestIdMiddleware(lifespan_app)({"type": "lifespan"}, _ok, _ok)
    assert passed == ["lifespan"]


async def test_access_log_batches_lines(tmp_path: Path) -> None:
    import json
    import os

    from tongban_gateway.entrypoints.accesslog import AccessLog

    target = tmp_path / "access.log"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT)
    try:
        log = AccessLog("gateway", fd=fd, interval=0.02)
        log.write({"status": 200, "path": "/a"})
        log.write({"status": 404, "path": "/b"})
        assert target.read_text() == ""  # not yet: batched
        await asyncio.sleep(0.06)
        lines = [json.loads(line) for line in target.read_text().splitlines()]
        assert [line["status"] for line in lines] == [200, 404]
        assert lines[0]["event"] == "request" and lines[0]["timestamp"].endswith("Z")
        log.write({"status": 500})
        log.flush()
        assert len(target.read_text().splitlines()) == 3
    finally:
        os.close(fd)


# --- the proxy in process -------------------------------------------------------------------------


class ExplodingClient:
    async def send(self, *args: Any) -> Any:
        raise RuntimeError("a bug, not an upstream failure")

    async def close(self) -> None:
        return None


async def test_an_unexpected_error_becomes_a_500_problem() -> None:
    import json

    from tongban_gateway.main import create_app

    app: Any = create_app(Settings(env="test", access_log=False))
    gateway = app.app
    await gateway.upstreams["catalogue"].client.close()
    gateway.upstreams["catalogue"].client = ExplodingClient()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/catalogue/v1/items/x",
        "raw_path": b"/catalogue/v1/items/x",
        "query_string": b"",
        "headers": [(b"host", b"gw")],
        "client": ("192.0.2.1", 5000),
        "scheme": "http",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 500
    body = json.loads(sent[1]["body"])
    assert body["code"] == "internal-error" and "bug" not in body["detail"]
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/problem+json"
    await gateway.shutdown()


class _DocResponse:
    status = 200

    async def read(self) -> bytes:
        return b'{"openapi": "3.1.0", "paths": {"/v1/things": {"get": {"responses": {"200": {}}}}}}'

    def release(self) -> None:
        return None


class _LateUpstream:
    """Refuses connections until it is switched on, like a service still starting."""

    def __init__(self) -> None:
        self.up = False

    async def send(self, *args: Any) -> Any:
        from tongban_gateway.adapters.upstream import UpstreamConnectError

        if not self.up:
            raise UpstreamConnectError("connection refused")
        return _DocResponse()


async def test_openapi_missing_after_startup_is_fetched_while_the_caller_waits() -> None:
    import orjson
    from tongban_gateway.adapters.openapi_source import OpenAPISource

    late = _LateUpstream()
    source = OpenAPISource(
        {"openapi": "3.1.0", "paths": {}}, {"cases": ("/cases", ["http://cases"], late)}, 60.0
    )
    await source.refresh()  # at start-up, before the service listens
    # Within a second of the last attempt the partial document is answered at once.
    assert "/cases/v1/things" not in orjson.loads(await source.merged())["paths"]
    late.up = True
    source._refreshed_at -= 2
    assert "/cases/v1/things" in orjson.loads(await source.merged())["paths"]  # this very call gets it
    late.up = False
    source._refreshed_at -= 120  # complete: later refreshes run behind and keep the last good copy
    assert "/cases/v1/things" in orjson.loads(await source.merged())["paths"]
    await source.close()
