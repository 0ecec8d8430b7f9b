"""Pure ASGI middleware: request ids, trace context in logs, body size limits."""

from __future__ import annotations

import json
import random
import re

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tongban_kit.ids import new_id
from tongban_kit.observability import tracing_enabled

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def propagation_context(headers: list[tuple[bytes, bytes]]) -> otel_context.Context:
    """The caller's W3C trace context, or a fresh one, without recording spans (tracing off)."""
    carrier = {
        k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in (b"traceparent", b"tracestate")
    }
    ctx = propagate.extract(carrier)
    if trace.get_current_span(ctx).get_span_context().is_valid:
        # Our own span id under the caller's trace, as a server span would have.
        parent = trace.get_current_span(ctx).get_span_context()
        span = SpanContext(
            parent.trace_id, random.getrandbits(64), False, parent.trace_flags, parent.trace_state
        )
    else:
        span = SpanContext(
            random.getrandbits(128), random.getrandbits(64), False, TraceFlags(TraceFlags.SAMPLED)
        )
    return trace.set_span_in_context(NonRecordingSpan(span), ctx)


class RequestContextMiddleware:
    """Accepts or creates ``X-Request-Id``, binds it and the trace id to logs, echoes it back.

    When spans are not recorded it still carries W3C trace context through the request, so the
    events a request causes name its trace.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.propagate_only = not tracing_enabled()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID_RE.match(candidate):
                    request_id = candidate
                break
        request_id = request_id or new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        raw = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", raw)]
            await send(message)

        token = None
        if self.propagate_only:
            context = propagation_context(scope.get("headers", []))
            token = otel_context.attach(context)
        # Only this request's keys are bound and restored afterwards: the process-wide ones
        # (service) stay. With spans recorded, the trace id is bound once the server span exists.
        trace_id = trace.get_current_span().get_span_context().trace_id
        bound = (
            {"request_id": request_id, "trace_id": format(trace_id, "032x")}
            if trace_id
            else {"request_id": request_id}
        )
        try:
            with structlog.contextvars.bound_contextvars(**bound):
                await self.app(scope, receive, send_with_id)
        finally:
            if token is not None:
                otel_context.detach(token)


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than a limit with a 413 problem, before the app reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for suffix, limit in self.overrides.items():
            if path.endswith(suffix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_413(send, limit)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await _send_413(send, limit)


class _TooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "https://tongban.gov.cn/problems/body-too-large",
            "title": "Content too large",
            "status": 413,
            "detail": f"The request body is larger than {limit} bytes.",
            "code": "body-too-large",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
