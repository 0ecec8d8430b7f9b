"""Prometheus metrics of the gateway, with label children cached off the hot path's lock."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "tongban_gateway_requests_total",
    "Requests through the gateway",
    ["route", "upstream", "method", "status"],
)
LATENCY = Histogram(
    "tongban_gateway_request_duration_seconds",
    "Time from request to the end of the response, per route and upstream",
    ["route", "upstream"],
    buckets=BUCKETS,
)
UPSTREAM_LATENCY = Histogram(
    "tongban_gateway_upstream_duration_seconds",
    "Time until an upstream's response head arrived",
    ["upstream"],
    buckets=BUCKETS,
)
RETRIES = Counter("tongban_gateway_retries_total", "Retried upstream requests", ["upstream"])
RATE_LIMITED = Counter("tongban_gateway_rate_limited_total", "Requests refused by a rate limit", ["route"])
TOKENS_REFUSED = Counter(
    "tongban_gateway_tokens_refused_total", "Requests refused for their token", ["route"]
)
BREAKER_OPEN = Gauge(
    "tongban_gateway_breaker_open", "1 while an upstream instance's circuit is open", ["upstream", "instance"]
)


class RequestMetrics:
    """Caches labelled children: ``labels()`` takes a lock and builds a tuple on every call."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, int], Counter] = {}
        self._latency: dict[tuple[str, str], Histogram] = {}
        self._upstream: dict[str, Histogram] = {}

    def observe(self, route: str, upstream: str, method: str, status: int, seconds: float) -> None:
        """Count one request and record its latency."""
        key = (route, upstream, method, status)
        counter = self._counts.get(key)
        if counter is None:
            counter = self._counts[key] = REQUESTS.labels(route, upstream, method, str(status))
        counter.inc()
        lkey = (route, upstream)
        hist = self._latency.get(lkey)
        if hist is None:
            hist = self._latency[lkey] = LATENCY.labels(route, upstream)
        hist.observe(seconds)

    def upstream_head(self, upstream: str, seconds: float) -> None:
        """Record how long the upstream took to answer."""
        hist = self._upstream.get(upstream)
        if hist is None:
            hist = self._upstream[upstream] = UPSTREAM_LATENCY.labels(upstream)
        hist.observe(seconds)
