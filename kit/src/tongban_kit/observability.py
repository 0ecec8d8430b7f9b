"""Structured JSON logs, OpenTelemetry tracing and Prometheus request metrics."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("tongban_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "tongban_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_logging_done = False
_tracing_done = False
_clients_done = False


def setup_logging(service: str, level: str = "INFO") -> None:
    """JSON logs on stdout with the service name, request id and trace id."""
    global _logging_done
    if _logging_done:
        return
    _logging_done = True
    logging.basicConfig(stream=sys.stdout, level=level.upper(), format="%(message)s")
    for noisy in ("httpx", "alembic", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def add_service(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        # A processor, not a context variable: every task and thread of the process logs it.
        event.setdefault("service", service)
        return event

    structlog.configure(
        processors=[
            add_service,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=True,
    )


def tracing_enabled() -> bool:
    """Record spans only when someone will read them: an OTLP endpoint, the span log, or TONGBAN_TRACING.

    Without that, the services only propagate W3C trace context (see RequestContextMiddleware), which
    keeps request ids and event traceparents joined up at a fraction of the CPU.
    """
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("TONGBAN_TRACE_LOG")
        or os.environ.get("TONGBAN_TRACING", "").lower() in ("1", "on", "true")
    )


def setup_tracing(service: str, app: Any = None, engine: Any = None) -> None:
    """A tracer provider for the process (OTLP export when configured) and the instrumentations."""
    global _tracing_done, _clients_done
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    if not _tracing_done:
        _tracing_done = True
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        if os.environ.get("TONGBAN_TRACE_LOG"):
            from opentelemetry.sdk.trace.export import SimpleSpanProcessor

            provider.add_span_processor(SimpleSpanProcessor(LogSpanExporter()))
        trace.set_tracer_provider(provider)
    if not tracing_enabled():
        # Propagation only: no client instrumentation either, which would also replace a
        # traceparent the caller set on an httpx request with a new trace of its own.
        return
    if not _clients_done:
        _clients_done = True
        from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
        AIOKafkaInstrumentor().instrument()
    if app is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    if engine is not None:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)


class LogSpanExporter(SpanExporter):
    """Writes finished spans as JSON log lines (``TONGBAN_TRACE_LOG=1``), for tests that follow a trace."""

    def export(self, spans: Any) -> SpanExportResult:
        """Log each span's name and ids."""
        log = structlog.get_logger("tongban.trace")
        for span in spans:
            ctx = span.get_span_context()
            log.info(
                "span",
                span_name=span.name,
                trace_id=format(ctx.trace_id, "032x"),
                span_id=format(ctx.span_id, "016x"),
            )
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered."""
        return True


class MetricsMiddleware:
    """Counts requests and observes latency per route template (pure ASGI)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            REQUESTS.labels(self.service, method, template, str(status)).inc()
            LATENCY.labels(self.service, method, template).observe(time.perf_counter() - start)
