"""Through a real gateway process to real upstream processes: every failure mode and what crosses."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tongban_kit.testing import AppProcess
from tongban_kit.testkeys import TokenMinter

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["detail"]
    return body


# --- authentication ------------------------------------------------------------------------------


def test_anonymous_catalogue_read_passes_without_a_token(
    gw: httpx.Client, mesh: Any, hits: Any, mark: str
) -> None:
    resp = gw.get(f"/catalogue/v1/items/{mark}", params={"q": "社保"})
    assert resp.status_code == 200
    seen = resp.json()
    assert seen["path"] == f"/v1/items/{mark}"
    assert seen["query"] == "q=%E7%A4%BE%E4%BF%9D"


def test_percent_encoding_and_query_reach_the_upstream_as_sent(gw: httpx.Client, mark: str) -> None:
    resp = gw.get(f"/catalogue/v1/items/{mark}%2Fa%20b?x=%2F&y=1")
    assert resp.status_code == 200
    assert resp.json()["raw_path"] == f"/v1/items/{mark}%2Fa%20b"
    assert resp.json()["query"] == "x=%2F&y=1"


def test_catalogue_write_needs_a_token(gw: httpx.Client, mesh: Any, hits: Any, mark: str) -> None:
    resp = gw.post(f"/catalogue/v1/items/{mark}", json={"name": "x"})
    assert_problem(resp, 401, "unauthorized")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert hits(mesh["echo_a"], mark) == [] and hits(mesh["echo_b"], mark) == []


def test_valid_token_is_passed_on_unchanged(
    gw: httpx.Client, mesh: Any, minter: TokenMinter, mark: str
) -> None:
    token = minter.mint("cases:read", audience=["urn:tongban:case", "urn:tongban:eseal"], client_id="valid-1")
    resp = gw.get(f"/cases/v1/cases/{mark}", headers=bearer(token))
    assert resp.status_code == 200
    assert resp.json()["headers"]["authorization"] == f"Bearer {token}"


def _forged(minter: TokenMinter) -> str:
    # Same kid as the trusted key, signed by another key: only the signature gives it away.
    other = TokenMinter(kid=minter.kid)
    return other.mint("cases:read", audience="urn:tongban:case")


BAD_TOKENS = {
    "forged": lambda m: _forged(m),
    "expired": lambda m: m.mint("cases:read", audience="urn:tongban:case", expires_in=-120),
    "wrong-audience": lambda m: m.mint("eseal:sign", audience="urn:tongban:eseal"),
    "foreign-audience": lambda m: m.mint("cases:read", audience="https://elsewhere.example"),
    "wrong-issuer": lambda m: TokenMinter(issuer="https://evil.example/identity", kid=m.kid).mint(
        "cases:read", audience="urn:tongban:case"
    ),
    "not-an-access-token": lambda m: m.mint("cases:read", audience="urn:tongban:case", typ="JWT"),
    "unknown-key": lambda m: TokenMinter().mint("cases:read", audience="urn:tongban:case"),
    "malformed": lambda m: "not.a.jwt",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_never_reach_the_upstream(
    gw: httpx.Client, mesh: Any, minter: TokenMinter, hits: Any, mark: str, kind: str
) -> None:
    token = BAD_TOKENS[kind](minter)
    resp = gw.post(f"/cases/v1/cases/{mark}", headers=bearer(token), json={"a": 1})
    body = assert_problem(resp, 401, "unauthorized")
    assert body["instance"] == f"/cases/v1/cases/{mark}"
    assert resp.headers["www-authenticate"].startswith("Bearer error=")
    assert hits(mesh["echo_a"], mark) == []


def test_basic_credentials_are_not_a_bearer_token(gw: httpx.Client, mesh: Any, hits: Any, mark: str) -> None:
    resp = gw.get(f"/cases/v1/cases/{mark}", auth=("user", "pass"))
    assert_problem(resp, 401, "unauthorized")
    assert hits(mesh["echo_a"], mark) == []


# --- routing and request checks -------------------------------------------------------------------


def test_unknown_route_is_404(gw: httpx.Client) -> None:
    body = assert_problem(gw.get("/nowhere/v1/x"), 404, "not-found")
    assert body["instance"] == "/nowhere/v1/x"


def _raw_get(base_url: str, raw_path: str) -> tuple[int, bytes]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {raw_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    "raw", ["/catalogue/v1/items/../../v1/secret", "/catalogue/v1/items/%2e%2e/%2E%2E/admin"]
)
def test_dot_segments_cannot_escape_an_anonymous_rule(mesh: Any, hits: Any, raw: str) -> None:
    status, body = _raw_get(mesh["main"].base_url, raw)
    assert status == 400
    assert json.loads(body)["code"] == "bad-path"


def test_declared_body_over_the_limit_is_413(
    cfg: Any, gw: httpx.Client, mesh: Any, minter: TokenMinter, hits: Any, mark: str
) -> None:
    token = minter.mint("cases:submit", audience="urn:tongban:case", client_id="big-1")
    resp = gw.post(
        f"/cases/v1/cases/{mark}", headers=bearer(token), content=b"x" * (cfg.CASES_BODY_LIMIT + 1)
    )
    assert_problem(resp, 413, "body-too-large")
    assert hits(mesh["echo_a"], mark) == []


def test_streamed_body_over_the_limit_is_413(gw: httpx.Client, minter: TokenMinter, mark: str) -> None:
    token = minter.mint("cases:submit", audience="urn:tongban:case", client_id="big-2")

    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b"y" * 8192  # 245,760 bytes, no Content-Length: chunked

    resp = gw.post(f"/cases/v1/cases/{mark}/materials", headers=bearer(token), content=chunks())
    assert_problem(resp, 413, "body-too-large")


def test_streamed_upload_within_the_limit_arrives_whole(
    gw: httpx.Client, minter: TokenMinter, mark: str
) -> None:
    token = minter.mint("cases:submit", audience="urn:tongban:case", client_id="upload-1")

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"z" * 9000

    resp = gw.post(f"/cases/v1/cases/{mark}/materials", headers=bearer(token), content=chunks())
    assert resp.status_code == 200
    assert resp.json()["body_len"] == 90_000


# --- rate limits ----------------------------------------------------------------------------------


def test_client_rate_limit_gives_429_with_headers(
    cfg: Any, gw: httpx.Client, minter: TokenMinter, mark: str
) -> None:
    token = minter.mint("cases:read", audience="urn:tongban:case", client_id=f"greedy-{mark}")
    statuses = []
    last = None
    for i in range(cfg.CLIENT_BURST + 1):
        last = gw.get(f"/cases/v1/cases/{mark}/{i}", headers=bearer(token))
        statuses.append(last.status_code)
        if i == 0:
            assert last.headers["ratelimit-limit"] == str(cfg.CLIENT_BURST)
            assert last.headers["ratelimit-remaining"] == str(cfg.CLIENT_BURST - 1)
    assert statuses == [200] * cfg.CLIENT_BURST + [429]
    assert last is not None
    assert_problem(last, 429, "rate-limited")
    assert int(last.headers["retry-after"]) >= 1
    assert last.headers["ratelimit-limit"] == str(cfg.CLIENT_BURST)
    assert last.headers["ratelimit-remaining"] == "0"
    assert int(last.headers["ratelimit-reset"]) >= 1
    # Another client is not affected.
    other = minter.mint("cases:read", audience="urn:tongban:case", client_id=f"modest-{mark}")
    assert gw.get(f"/cases/v1/cases/{mark}/x", headers=bearer(other)).status_code == 200


def test_two_gateways_sharing_redis_enforce_one_limit(
    cfg: Any, mesh: Any, minter: TokenMinter, mark: str
) -> None:
    token = minter.mint("cases:read", audience="urn:tongban:case", client_id=f"shared-{mark}")
    statuses = []
    for i in range(2 * cfg.SHARED_CLIENT_BURST):
        app: AppProcess = mesh["shared_a"] if i % 2 == 0 else mesh["shared_b"]
        # A fresh address each time behind the trusted proxy, so only the client's bucket binds.
        headers = {**bearer(token), "X-Forwarded-For": f"10.1.{i}.{len(mark)}"}
        statuses.append(httpx.get(f"{app.base_url}/cases/v1/{mark}", headers=headers, timeout=5).status_code)
    assert statuses.count(200) == cfg.SHARED_CLIENT_BURST, statuses
    assert statuses[cfg.SHARED_CLIENT_BURST :] == [429] * cfg.SHARED_CLIENT_BURST


def test_ip_limit_uses_the_address_behind_a_trusted_proxy(cfg: Any, mesh: Any, mark: str) -> None:
    ip = f"10.77.{int(mark[1:5], 16) % 250}.{int(mark[5:9], 16) % 250}"
    statuses = [
        httpx.get(
            f"{mesh['shared_a'].base_url}/catalogue/v1/items/{mark}",
            headers={"X-Forwarded-For": f"198.51.100.9, {ip}"},
            timeout=5,
        ).status_code
        for _ in range(cfg.SHARED_IP_BURST + 1)
    ]
    assert statuses == [200] * cfg.SHARED_IP_BURST + [429]
    other = httpx.get(
        f"{mesh['shared_b'].base_url}/catalogue/v1/items/{mark}",
        headers={"X-Forwarded-For": "10.78.0.1"},
        timeout=5,
    )
    assert other.status_code == 200
    assert other.json()["headers"]["x-forwarded-for"] == "10.78.0.1, 127.0.0.1"


# --- upstream failures ----------------------------------------------------------------------------


def test_slow_upstream_is_cut_at_its_timeout(
    cfg: Any, gw: httpx.Client, minter: TokenMinter, mark: str
) -> None:
    token = minter.mint("exchange:query", audience="urn:tongban:exchange", client_id="slow-1")
    began = time.monotonic()
    resp = gw.get(f"/exchange/v1/{mark}/slow", params={"seconds": 3}, headers=bearer(token))
    took = time.monotonic() - began
    body = assert_problem(resp, 504, "upstream-timeout")
    assert body["upstream"] == "exchange"
    assert "exchange" in body["detail"]
    assert cfg.EXCHANGE_TIMEOUT <= took < cfg.EXCHANGE_TIMEOUT + 1.0


def test_breaker_opens_after_failures_and_half_opens_later(
    cfg: Any, gw: httpx.Client, mesh: Any, minter: TokenMinter, hits: Any, mark: str
) -> None:
    token = minter.mint("eseal:verify", audience="urn:tongban:eseal", client_id="breaker-1")
    for i in range(cfg.BREAKER_FAILURES):
        resp = gw.get(f"/eseal/v1/{mark}/{i}/fail", headers=bearer(token))
        assert resp.status_code == 500  # the upstream's own error is relayed, and counted
    refused = gw.get(f"/eseal/v1/{mark}/ok", headers=bearer(token))
    body = assert_problem(refused, 503, "upstream-unavailable")
    assert body["upstream"] == "eseal"
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert hits(mesh["echo_a"], f"{mark}/ok") == []  # an open circuit sends nothing upstream

    time.sleep(cfg.BREAKER_COOLDOWN + 0.1)
    trial = gw.get(f"/eseal/v1/{mark}/fail", headers=bearer(token))
    assert trial.status_code == 500  # half-open let one trial through; it failed, so open again
    assert_problem(gw.get(f"/eseal/v1/{mark}/ok", headers=bearer(token)), 503, "upstream-unavailable")

    time.sleep(cfg.BREAKER_COOLDOWN + 0.1)
    assert gw.get(f"/eseal/v1/{mark}/ok", headers=bearer(token)).status_code == 200  # trial succeeded
    assert gw.get(f"/eseal/v1/{mark}/ok2", headers=bearer(token)).status_code == 200  # closed again
    assert len(hits(mesh["echo_a"], f"{mark}/ok")) == 2


def test_upstream_down_gives_502_then_503_once_the_breaker_opens(
    cfg: Any, gw: httpx.Client, minter: TokenMinter
) -> None:
    token = minter.mint("identity:admin", audience="urn:tongban:identity", client_id="down-1")
    statuses = []
    for _ in range(cfg.BREAKER_FAILURES + 1):
        resp = gw.post("/identity/v1/clients", headers=bearer(token), json={})
        statuses.append(resp.status_code)
        body = resp.json()
        assert body["upstream"] == "identity"
    assert statuses == [502] * cfg.BREAKER_FAILURES + [503]
    assert body["code"] == "upstream-unavailable"


def test_a_dead_instance_is_retried_elsewhere_for_reads_only(
    gw: httpx.Client, mesh: Any, minter: TokenMinter, hits: Any, mark: str
) -> None:
    token = minter.mint("exchange:query", audience="urn:tongban:exchange", client_id="dead-instance-1")
    posts = [gw.post(f"/exchange/v1/{mark}-post", headers=bearer(token), json={}) for _ in range(2)]
    # Round robin sends one of the two to the dead instance: refused, and not retried.
    assert sorted(p.status_code for p in posts) == [200, 502]
    assert len(hits(mesh["echo_a"], f"{mark}-post")) == 1
    gets = [gw.get(f"/exchange/v1/{mark}-get/{i}", headers=bearer(token)) for i in range(4)]
    assert [g.status_code for g in gets] == [200] * 4
    assert len(hits(mesh["echo_a"], f"{mark}-get")) == 4


def close_breaker(gw: httpx.Client, token: str) -> None:
    """A success resets the consecutive-failure count, so later tests start with a closed circuit."""
    assert gw.get("/cases/v1/ok", headers=bearer(token)).status_code == 200


def test_idempotent_requests_are_retried_and_others_are_not(
    gw: httpx.Client, mesh: Any, minter: TokenMinter, hits: Any, mark: str
) -> None:
    token = minter.mint("cases:handle", audience="urn:tongban:case", client_id="retry-1")
    got = gw.get(f"/cases/v1/flaky/{mark}-get", headers=bearer(token))
    assert got.status_code == 200
    assert len(hits(mesh["echo_a"], f"{mark}-get")) == 2

    put = gw.put(f"/cases/v1/flaky/{mark}-put", headers=bearer(token), content=b"p" * 1000)
    assert put.status_code == 200
    tries = hits(mesh["echo_a"], f"{mark}-put")
    assert [hit["body_len"] for hit in tries] == [1000, 1000]  # the body was sent again

    posted = gw.post(f"/cases/v1/flaky/{mark}-post", headers=bearer(token), content=b"q" * 1000)
    assert posted.status_code == 503  # relayed as the upstream said it, not retried
    [seen] = hits(mesh["echo_a"], f"{mark}-post")
    assert seen["body_len"] == 1000
    assert seen["headers"]["content-length"] == "1000"  # streamed, yet not re-chunked
    assert "transfer-encoding" not in seen["headers"]
    close_breaker(gw, token)

    patched = gw.patch(f"/cases/v1/flaky/{mark}-patch", headers=bearer(token), json={})
    assert patched.status_code == 503
    assert len(hits(mesh["echo_a"], f"{mark}-patch")) == 1
    close_breaker(gw, token)


def test_retries_stop_after_the_configured_attempts(
    gw: httpx.Client, mesh: Any, minter: TokenMinter, hits: Any, mark: str
) -> None:
    token = minter.mint("cases:handle", audience="urn:tongban:case", client_id="retry-2")
    resp = gw.get(f"/cases/v1/flaky/{mark}", params={"times": 5}, headers=bearer(token))
    assert resp.status_code == 503
    assert len(hits(mesh["echo_a"], mark)) == 2  # GATEWAY_RETRY_ATTEMPTS defaults to 2 tries
    close_breaker(gw, token)


# --- what crosses the gateway ---------------------------------------------------------------------


def test_forwarded_headers_request_id_and_hop_by_hop(gw: httpx.Client, mesh: Any, mark: str) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    resp = gw.get(
        f"/catalogue/v1/items/{mark}",
        headers={
            "X-Request-Id": "req-abc.123",
            "Connection": "keep-alive, X-Hop-Secret",
            "X-Hop-Secret": "must-not-cross",
            "Keep-Alive": "timeout=5",
            "X-Forwarded-For": "203.0.113.9",  # not believed: the peer is no trusted proxy
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            "X-Custom": "kept",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["x-request-id"] == "req-abc.123"
    assert resp.headers.get_list("x-request-id") == ["req-abc.123"]
    seen = resp.json()["headers"]
    host = mesh["main"].base_url.removeprefix("http://")
    assert seen["x-request-id"] == "req-abc.123"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == host
    assert seen["x-forwarded-prefix"] == "/catalogue"
    assert seen["x-custom"] == "kept"
    assert "x-hop-secret" not in seen and "keep-alive" not in seen
    assert seen["host"] != host  # the upstream is addressed as itself
    # The trace continues: same trace id, the gateway's own span as parent.
    version, tid, parent, _ = seen["traceparent"].split("-")
    assert (version, tid) == ("00", trace_id)
    assert parent != "00f067aa0ba902b7"


def test_without_an_exporter_the_callers_trace_context_passes_unchanged(mesh: Any, mark: str) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    resp = httpx.get(
        f"{mesh['shared_b'].base_url}/catalogue/v1/items/{mark}",
        headers={
            "traceparent": traceparent,
            "tracestate": "vendor=1",
            "X-Forwarded-For": f"10.3.{len(mark)}.1",
        },
        timeout=5,
    )
    assert resp.status_code == 200
    assert resp.json()["headers"]["traceparent"] == traceparent
    assert resp.json()["headers"]["tracestate"] == "vendor=1"


def test_request_id_is_created_when_absent_or_unusable(gw: httpx.Client) -> None:
    first = gw.get("/catalogue/v1/items/rid")
    assert len(first.headers["x-request-id"]) >= 16
    assert first.json()["headers"]["x-request-id"] == first.headers["x-request-id"]
    bad = gw.get("/catalogue/v1/items/rid", headers={"X-Request-Id": "no spaces allowed\t!"})
    assert bad.headers["x-request-id"] != "no spaces allowed\t!"


def test_large_response_is_streamed_through(gw: httpx.Client, mark: str) -> None:
    size = 20 * 1024 * 1024 + 123
    digest = hashlib.sha256()
    received = 0
    with gw.stream("GET", f"/catalogue/v1/items/{mark}/big", params={"size": size}) as resp:
        assert resp.status_code == 200
        assert "content-length" not in resp.headers  # chunked all the way: never buffered whole
        for chunk in resp.iter_raw():
            received += len(chunk)
            digest.update(chunk)
    block = bytes(range(256)) * 256
    expected = hashlib.sha256()
    left = size
    while left:
        part = block[: min(len(block), left)]
        expected.update(part)
        left -= len(part)
    assert received == size
    assert digest.hexdigest() == expected.hexdigest()


def test_a_caller_leaving_mid_stream_stops_the_upstream_read(cfg: Any, mesh: Any, mark: str) -> None:
    url = f"/catalogue/v1/items/{mark}/big"
    with (
        httpx.Client(base_url=mesh["main"].base_url, timeout=10) as client,
        client.stream("GET", url, params={"size": 2_000_000_000}) as resp,
    ):
        assert resp.status_code == 200
        next(resp.iter_raw())
    # Leaving the block closed the connection after one chunk of 2 GB.
    deadline = time.monotonic() + cfg.ACCESS_LOG_WAIT
    statuses: list[int] = []
    while time.monotonic() < deadline and not statuses:
        for line in mesh["main"].log_path.read_text().splitlines():
            if mark in line and line.startswith("{"):
                statuses.append(json.loads(line)["status"])
        time.sleep(0.1)
    assert statuses == [499]


def test_requests_are_balanced_over_instances(gw: httpx.Client) -> None:
    instances = [gw.get("/catalogue/v1/items/rr").json()["instance"] for _ in range(4)]
    assert sorted(instances) == ["a", "a", "b", "b"]


def test_cors_preflight_and_actual_request(
    cfg: Any, gw: httpx.Client, hits: Any, mesh: Any, mark: str
) -> None:
    pre = gw.options(
        f"/cases/v1/cases/{mark}",
        headers={
            "Origin": cfg.ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == cfg.ALLOWED_ORIGIN
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "authorization, content-type, idempotency-key"
    assert pre.headers["access-control-max-age"] == "600"
    assert hits(mesh["echo_a"], mark) == []  # answered by the gateway, no token needed

    denied = gw.options(
        "/cases/v1/cases", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert_problem(denied, 403, "cors-origin-denied")

    actual = gw.get(f"/catalogue/v1/items/{mark}", headers={"Origin": cfg.ALLOWED_ORIGIN})
    assert actual.headers["access-control-allow-origin"] == cfg.ALLOWED_ORIGIN
    assert "X-Request-Id" in actual.headers["access-control-expose-headers"]
    foreign = gw.get(f"/catalogue/v1/items/{mark}", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers


# --- the gateway's own endpoints ------------------------------------------------------------------


def test_readyz_needs_every_upstream(mesh: Any) -> None:
    not_ready = httpx.get(f"{mesh['main'].base_url}/readyz", timeout=10)
    assert not_ready.status_code == 503
    checks = not_ready.json()["checks"]
    assert checks["identity"] == "0/1 healthy"
    assert checks["catalogue"] == "2/2 healthy"
    assert checks["jwks"] == "ok"
    ready = httpx.get(f"{mesh['shared_a'].base_url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["checks"]["redis"] == "ok"


def test_metrics_count_requests_per_route_and_upstream(gw: httpx.Client) -> None:
    gw.get("/catalogue/v1/items/metrics")
    text = gw.get("/metrics").text
    assert (
        'tongban_gateway_requests_total{method="GET",route="catalogue",status="200",upstream="catalogue"}'
        in text
    )
    assert (
        'tongban_gateway_request_duration_seconds_bucket{le="0.005",route="catalogue",upstream="catalogue"}'
        in text
    )
    assert "tongban_gateway_upstream_duration_seconds_count" in text


def test_openapi_is_merged_under_prefixes_and_docs_render(mesh: Any) -> None:
    doc = httpx.get(f"{mesh['shared_a'].base_url}/openapi.json", timeout=10).json()
    for prefix in ("catalogue", "cases", "identity", "eseal", "exchange"):
        assert f"/{prefix}/v1/things/{{id}}" in doc["paths"]
    op = doc["paths"]["/cases/v1/things/{id}"]["get"]
    assert op["operationId"] == "cases.get_thing"
    assert (
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        == "#/components/schemas/cases.Thing"
    )
    assert op["security"] == [{"cases.bearer": []}]
    assert "cases.Thing" in doc["components"]["schemas"] and "eseal.Thing" in doc["components"]["schemas"]
    assert "/healthz" in doc["paths"]
    page = httpx.get(f"{mesh['shared_a'].base_url}/docs", timeout=10)
    assert page.status_code == 200
    assert "/openapi.json" in page.text and "swagger" in page.text.lower()


def test_access_log_has_one_json_line_per_request(
    gw: httpx.Client, mesh: Any, minter: TokenMinter, mark: str
) -> None:
    token = minter.mint("cases:read", audience="urn:tongban:case", client_id="logged-client")
    gw.get(f"/cases/v1/cases/{mark}", headers=bearer(token))
    deadline = time.monotonic() + 5
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not lines:
        for line in mesh["main"].log_path.read_text().splitlines():
            if mark in line and line.startswith("{"):
                lines.append(json.loads(line))
        time.sleep(0.05)
    assert len(lines) == 1
    entry = lines[0]
    assert entry["event"] == "request"
    assert entry["route"] == "cases" and entry["upstream"] == "case"
    assert entry["status"] == 200
    assert entry["client_id"] == "logged-client"
    assert isinstance(entry["latency_ms"], float) and entry["latency_ms"] > 0
    assert entry["request_id"]


def test_own_endpoints_only_take_get(gw: httpx.Client) -> None:
    assert_problem(gw.post("/healthz"), 405, "method-not-allowed")
    assert gw.get("/healthz").json() == {"status": "ok"}
