"""The hot path: route, check the token, limit, forward with timeouts, retries and breakers, stream back."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextvars import Token
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Tracer
from starlette.types import Message, Receive, Scope, Send
from tongban_kit.auth import TokenError
from tongban_kit.problems import Problem
from tongban_kit.ratelimit import Decision, Limit, Limiter

from tongban_gateway.adapters.tokens import GatewayVerifier
from tongban_gateway.adapters.upstream import (
    Body,
    UpstreamClient,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamResponse,
    UpstreamTimeout,
)
from tongban_gateway.domain.balancer import Balancer, Instance
from tongban_gateway.domain.breaker import BreakerState
from tongban_gateway.domain.retry import IDEMPOTENT_METHODS, RETRYABLE_STATUSES, RetryBudget
from tongban_gateway.domain.routes import Route, RouteTable, has_dot_segments
from tongban_gateway.entrypoints import metrics
from tongban_gateway.entrypoints.accesslog import AccessLog
from tongban_gateway.entrypoints.forwarding import (
    REQUEST_DROP,
    RESPONSE_DROP,
    TRACE_HEADERS,
    TrustedProxies,
)
from tongban_gateway.entrypoints.responses import send_problem

log = structlog.get_logger("tongban.gateway.proxy")

# Bodies up to this size are read whole and sent in one message; larger ones are streamed.
SMALL_BODY = 65_536
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass
class Upstream:
    """An upstream service: its instances with their breakers, its pooled client, its retry budget."""

    name: str
    balancer: Balancer
    client: UpstreamClient
    budget: RetryBudget


class _TooLarge(Exception):
    """The request body grew past the route's limit while streaming."""


class _Disconnected(Exception):
    """The caller went away before its body was read."""


def _problem(status: int, code: str, detail: str, **kw: Any) -> Problem:
    return Problem(status, code, detail, **kw)


class Proxy:
    """Plain ASGI: one instance serves every proxied request."""

    def __init__(
        self,
        *,
        routes: RouteTable,
        upstreams: dict[str, Upstream],
        verifier: GatewayVerifier,
        limiter: Limiter | None,
        client_limit: Limit | None,
        ip_limit: Limit | None,
        trusted: TrustedProxies,
        max_attempts: int,
        backoff_seconds: float,
        tracer: Tracer | None,
        access_log: AccessLog | None,
    ) -> None:
        self.routes = routes
        self.upstreams = upstreams
        self.verifier = verifier
        self.limiter = limiter
        self.client_limit = client_limit
        self.ip_limit = ip_limit
        self.trusted = trusted
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.tracer = tracer
        self.log = access_log
        self.metrics = metrics.RequestMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        state = _Outcome()
        span = None
        token = None
        try:
            matched = self.routes.match(path)
            if matched is None:
                await self._fail(send, state, path, _problem(404, "not-found", f"No route serves {path}."))
                return
            route, rest = matched
            state.route = route.name
            upstream = self.upstreams[route.name]
            state.upstream = upstream.name
            if self.tracer is not None:
                span, token = self._start_span(scope, method, route)
            await self._proxy(scope, receive, send, state, route, rest, upstream)
        except Exception as exc:
            log.error(
                "gateway error", path=path, trace_id=_trace_id(span, scope), error=repr(exc), exc_info=exc
            )
            if state.started:
                raise  # the server aborts the connection; a truncated body must not look complete
            problem = _problem(
                500, "internal-error", "The gateway failed to handle the request; it was logged."
            )
            await self._fail(send, state, path, problem)
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.observe(
                state.route,
                state.upstream,
                method if method in KNOWN_METHODS else "OTHER",
                state.status,
                elapsed,
            )
            if span is not None and token is not None:
                span.set_attribute("http.response.status_code", state.status)
                if state.status >= 500:
                    span.set_status(trace.StatusCode.ERROR)
                span.end()
                otel_context.detach(token)
            if self.log is not None:
                self.log.write(
                    {
                        "method": method,
                        "path": path,
                        "route": state.route,
                        "upstream": state.upstream,
                        "status": state.status,
                        "latency_ms": round(elapsed * 1000, 3),
                        "client_id": state.client_id,
                        "client_ip": state.client_ip,
                        "attempts": state.attempts,
                        "request_id": scope.get("state", {}).get("request_id"),
                        "trace_id": _trace_id(span, scope),
                    }
                )

    def _start_span(self, scope: Scope, method: str, route: Route) -> tuple[Span, Token[Context]]:
        """A server span continuing the caller's W3C trace context, made current for this request."""
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in TRACE_HEADERS
        }
        parent = propagate.extract(carrier) if carrier else None
        assert self.tracer is not None
        span = self.tracer.start_span(
            f"{method} {route.prefix}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route.prefix + "/*"},
        )
        return span, otel_context.attach(trace.set_span_in_context(span, parent))

    async def _fail(
        self,
        send: Send,
        state: _Outcome,
        instance: str,
        problem: Problem,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        state.status = problem.status
        state.started = True
        await send_problem(send, problem, instance, headers)

    async def _proxy(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: _Outcome,
        route: Route,
        rest: str,
        upstream: Upstream,
    ) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if has_dot_segments(path):
            await self._fail(
                send, state, path, _problem(400, "bad-path", "Paths may not contain . or .. segments.")
            )
            return

        # One pass over the headers: keep what crosses, note what the gateway needs.
        forward: list[tuple[str, str]] = []
        authorization = host = forwarded_for = forwarded_proto = forwarded_host = None
        content_length: int | None = None
        has_body = False
        connection: bytes | None = None
        tracing = self.tracer is not None
        for name, value in scope["headers"]:
            if name in REQUEST_DROP:
                if name == b"host":
                    host = value
                elif name == b"transfer-encoding":
                    has_body = True
                elif name == b"connection":
                    connection = value
                elif name == b"x-forwarded-for":
                    forwarded_for = value
                elif name == b"x-forwarded-proto":
                    forwarded_proto = value
                elif name == b"x-forwarded-host":
                    forwarded_host = value
                continue
            if tracing and name in TRACE_HEADERS:
                continue
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                if not value.isdigit():
                    await self._fail(
                        send, state, path, _problem(400, "bad-request", "Content-Length is not valid.")
                    )
                    return
                content_length = int(value)
                has_body = content_length > 0
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
        if connection:
            listed = {token.strip().lower() for token in connection.decode("latin-1").split(",")}
            forward = [(k, v) for k, v in forward if k not in listed]

        limit = route.max_body_bytes
        if content_length is not None and content_length > limit:
            await self._fail(send, state, path, _too_large(limit))
            return

        # Who is calling: the peer (or the client behind trusted proxies) and, with a token, the client id.
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        chain = forwarded_for.decode("latin-1") if forwarded_for else None
        client_ip, xff = self.trusted.client_address(peer, chain) if self.trusted else (peer, peer)
        state.client_ip = client_ip
        believed = bool(self.trusted) and self.trusted.trusts(peer)

        refusal: Problem | None = None
        if not route.is_anonymous(method, rest):
            refusal = await self._authenticate(authorization, route, state)

        decision: Decision | None = None
        if self.limiter is not None:
            keys: list[tuple[str, Limit]] = []
            if self.ip_limit is not None:
                keys.append(("ip:" + client_ip, self.ip_limit))
            if self.client_limit is not None and state.client_id:
                keys.append(("client:" + state.client_id, self.client_limit))
            if keys:
                decision = await self.limiter.take(keys, time.monotonic())
        rl_headers = decision.headers() if decision is not None else []
        if decision is not None and not decision.allowed:
            metrics.RATE_LIMITED.labels(route.name).inc()
            problem = _problem(
                429, "rate-limited", f"Too many requests; try again in {decision.retry_after} s."
            )
            await self._fail(send, state, path, problem, rl_headers)
            return
        if refusal is not None:
            metrics.TOKENS_REFUSED.labels(route.name).inc()
            await self._fail(send, state, path, refusal, rl_headers)
            return

        # Headers the gateway adds.
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            forward.append(("x-request-id", request_id))
        forward.append(("x-forwarded-for", xff))
        proto = (
            forwarded_proto.decode("latin-1") if believed and forwarded_proto else scope.get("scheme", "http")
        )
        forward.append(("x-forwarded-proto", proto))
        fwd_host = forwarded_host if believed and forwarded_host else host
        if fwd_host:
            forward.append(("x-forwarded-host", fwd_host.decode("latin-1")))
        forward.append(("x-forwarded-prefix", route.prefix))
        if tracing:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            forward.extend(carrier.items())

        # The request body: buffered when a retry may resend it, otherwise streamed through.
        retryable = method in IDEMPOTENT_METHODS
        oversize = [False]
        body: Body = None
        if has_body:
            if retryable:
                try:
                    body = await _read_body(receive, limit)
                except _TooLarge:
                    await self._fail(send, state, path, _too_large(limit))
                    return
                except _Disconnected:
                    state.status = 499
                    return
            else:
                body = _stream_body(receive, limit, oversize)

        target = _upstream_target(scope, route, rest)
        await self._forward(
            send, receive, state, path, method, route, upstream, target, forward, body, oversize, rl_headers
        )

    async def _authenticate(
        self, authorization: bytes | None, route: Route, state: _Outcome
    ) -> Problem | None:
        """None when the bearer token is valid for the route's upstream, else the 401 to send."""
        if not authorization:
            return _problem(
                401, "unauthorized", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
            )
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _invalid_token("The Authorization header must be 'Bearer <token>'.")
        try:
            claims = await self.verifier.verify_for(token.strip(), route.audience)
        except TokenError as exc:
            return _invalid_token(str(exc))
        state.client_id = str(claims.get("client_id") or claims.get("sub") or "")
        return None

    async def _forward(
        self,
        send: Send,
        receive: Receive,
        state: _Outcome,
        path: str,
        method: str,
        route: Route,
        upstream: Upstream,
        target: str,
        headers: list[tuple[str, str]],
        body: Body,
        oversize: list[bool],
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        upstream.budget.on_request()
        retryable = method in IDEMPOTENT_METHODS
        tried: list[Instance] = []
        while True:
            instance = upstream.balancer.pick(tried)
            if instance is None:
                wait = max(1, round(upstream.balancer.retry_after() + 0.5))
                problem = _problem(
                    503,
                    "upstream-unavailable",
                    f"The upstream {upstream.name} is failing; its circuit is open. Try again in {wait} s.",
                    headers={"Retry-After": str(wait)},
                    extra={"upstream": upstream.name},
                )
                await self._fail(send, state, path, problem, extra)
                return
            tried.append(instance)
            state.attempts += 1
            began = time.perf_counter()
            failure: Problem | None = None
            resp: UpstreamResponse | None = None
            try:
                # The client's read timeout bounds the wait for the response head (and each body read).
                resp = await upstream.client.send(method, instance.url + target, headers, body, route.timeout)
            except (UpstreamTimeout, TimeoutError):
                instance.breaker.record_failure()
                failure = _timeout(upstream.name, route.timeout)
            except (UpstreamConnectError, UpstreamProtocolError) as exc:
                instance.breaker.record_failure()
                if oversize[0]:
                    await self._fail(send, state, path, _too_large(route.max_body_bytes), extra)
                    return
                if isinstance(exc, UpstreamConnectError) and self._may_retry(retryable, state, upstream):
                    await self._backoff(state)
                    continue
                failure = _unreachable(upstream.name, exc)
            except _TooLarge:
                instance.breaker.release()
                await self._fail(send, state, path, _too_large(route.max_body_bytes), extra)
                return
            except _Disconnected:
                instance.breaker.release()
                state.status = 499
                return
            except BaseException:
                instance.breaker.release()
                raise
            self._breaker_metric(upstream, instance)
            if failure is not None or resp is None:
                await self._fail(send, state, path, failure or _unreachable(upstream.name, None), extra)
                return
            self.metrics.upstream_head(upstream.name, time.perf_counter() - began)
            status = resp.status
            if status >= 500:
                instance.breaker.record_failure()
                self._breaker_metric(upstream, instance)
                if status in RETRYABLE_STATUSES and self._may_retry(retryable, state, upstream):
                    resp.release()
                    await self._backoff(state)
                    continue
            else:
                instance.breaker.record_success()
            try:
                await self._relay(send, receive, state, path, method, upstream.name, resp, extra)
            finally:
                resp.release()
            return

    def _may_retry(self, retryable: bool, state: _Outcome, upstream: Upstream) -> bool:
        if not retryable or state.attempts >= self.max_attempts or not upstream.budget.try_spend():
            return False
        metrics.RETRIES.labels(upstream.name).inc()
        return True

    async def _backoff(self, state: _Outcome) -> None:
        if self.backoff_seconds:
            # Jitter keeps replicas' retries from arriving in step.
            await asyncio.sleep(self.backoff_seconds * state.attempts * (0.5 + random.random()))  # noqa: S311

    @staticmethod
    def _breaker_metric(upstream: Upstream, instance: Instance) -> None:
        """Publish the breaker's state when it changed (labels() on every request costs a lock)."""
        is_open = instance.breaker.state is not BreakerState.CLOSED
        if instance.reported_open is not is_open:
            instance.reported_open = is_open
            metrics.BREAKER_OPEN.labels(upstream.name, instance.url).set(1 if is_open else 0)

    async def _relay(
        self,
        send: Send,
        receive: Receive,
        state: _Outcome,
        path: str,
        method: str,
        upstream: str,
        resp: UpstreamResponse,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        headers = [(name.lower(), value) for name, value in resp.raw_headers]
        headers = [(name, value) for name, value in headers if name not in RESPONSE_DROP]
        headers.extend(extra)
        length = resp.content_length
        no_body = method == "HEAD" or resp.status in (204, 304)
        if no_body or (length is not None and length <= SMALL_BODY):
            try:
                body = b"" if no_body else await resp.read()
            except UpstreamError as exc:
                await self._fail(send, state, path, _unreachable(upstream, exc), extra)
                return
            state.status = resp.status
            state.started = True
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        state.status = resp.status
        state.started = True
        # The server drops writes to a caller that has gone; stop reading the upstream then too.
        gone = asyncio.get_running_loop().create_task(_disconnected(receive))
        try:
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            async for chunk in resp.chunks():
                if gone.done():
                    state.status = 499
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()


class _Outcome:
    """What the access log and metrics report about one request."""

    __slots__ = ("attempts", "client_id", "client_ip", "route", "started", "status", "upstream")

    def __init__(self) -> None:
        self.route = "unmatched"
        self.upstream = "none"
        self.status = 500
        self.client_id = ""
        self.client_ip = ""
        self.attempts = 0
        self.started = False


def _trace_id(span: Span | None, scope: Scope) -> str | None:
    """The trace this request belongs to: the gateway's span, else the caller's traceparent."""
    if span is not None:
        return format(span.get_span_context().trace_id, "032x")
    for name, value in scope["headers"]:
        if name == b"traceparent":
            parts = value.split(b"-")
            return parts[1].decode("latin-1") if len(parts) == 4 else None
    return None


def _upstream_target(scope: Scope, route: Route, rest: str) -> str:
    """The upstream path and query, keeping the caller's percent-encoding where it can."""
    raw: bytes | None = scope.get("raw_path")
    prefix = route.prefix.encode()
    if raw and raw.startswith(prefix) and (len(raw) == len(prefix) or raw[len(prefix)] == 0x2F):
        target = raw[len(prefix) :].decode("latin-1") or "/"
    else:
        target = quote(rest)
    query: bytes = scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


async def _disconnected(receive: Receive) -> None:
    """Returns when the caller disconnects (whatever is left of the request body is drained)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing it once it passes the limit."""
    parts: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _stream_body(receive: Receive, limit: int, oversize: list[bool]) -> AsyncIterator[bytes]:
    """The request body as it arrives; stops the upload when it passes the limit."""
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            oversize[0] = True
            raise _TooLarge()
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _too_large(limit: int) -> Problem:
    return _problem(413, "body-too-large", f"The request body is larger than {limit} bytes.")


def _invalid_token(detail: str) -> Problem:
    return _problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _timeout(upstream: str, seconds: float) -> Problem:
    return _problem(
        504,
        "upstream-timeout",
        f"The upstream {upstream} did not answer within {seconds:g} s.",
        extra={"upstream": upstream},
    )


def _unreachable(upstream: str, exc: Exception | None) -> Problem:
    return _problem(
        502,
        "upstream-unreachable",
        f"The upstream {upstream} could not be reached or gave no valid response.",
        extra={"upstream": upstream},
    )
