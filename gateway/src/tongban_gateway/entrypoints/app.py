"""The gateway as one plain ASGI app: lifespan, its own endpoints, and the proxy for everything else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import structlog
from fastapi.openapi.docs import get_swagger_ui_html
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send
from tongban_kit.memory import freeze_startup_objects
from tongban_kit.problems import Problem
from tongban_kit.ratelimit import RedisBuckets

from tongban_gateway.adapters.openapi_source import OpenAPISource
from tongban_gateway.adapters.tokens import GatewayVerifier
from tongban_gateway.adapters.upstream import UpstreamError
from tongban_gateway.entrypoints.accesslog import AccessLog
from tongban_gateway.entrypoints.proxy import Proxy, Upstream
from tongban_gateway.entrypoints.responses import send_bytes, send_json, send_problem

log = structlog.get_logger("tongban.gateway")
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class GatewayApp:
    """Dispatches the gateway's own paths by exact match and hands the rest to the proxy."""

    def __init__(
        self,
        *,
        proxy: Proxy,
        upstreams: dict[str, Upstream],
        verifier: GatewayVerifier,
        verifier_client: httpx.AsyncClient,
        openapi: OpenAPISource,
        redis: RedisBuckets | None,
        readiness_timeout: float,
        jwks_refresh_seconds: float,
        access_log: AccessLog | None = None,
        gc_freeze: bool = False,
    ) -> None:
        self.access_log = access_log
        self.gc_freeze = gc_freeze
        self.proxy = proxy
        self.upstreams = upstreams
        self.verifier = verifier
        self.verifier_client = verifier_client
        self.openapi = openapi
        self.redis = redis
        self.readiness_timeout = readiness_timeout
        self.jwks_refresh_seconds = jwks_refresh_seconds
        self._tasks: list[asyncio.Task[Any]] = []
        self._docs = get_swagger_ui_html(openapi_url="/openapi.json", title="Tongban API").body
        self.local: dict[str, Handler] = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/metrics": self.metrics,
            "/openapi.json": self.openapi_json,
            "/docs": self.docs,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            handler = self.local.get(scope["path"])
            if handler is None:
                await self.proxy(scope, receive, send)
            elif scope["method"] not in ("GET", "HEAD"):
                problem = Problem(405, "method-not-allowed", "Only GET and HEAD are allowed here.")
                await send_problem(send, problem, scope["path"], [(b"allow", b"GET, HEAD")])
            else:
                await handler(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    # --- lifespan ---------------------------------------------------------------------------------

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Start background work on startup; close every pool on shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # reported to the server, which refuses to start
                    log.error("gateway startup failed", error=repr(exc))
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Warm the key set and the OpenAPI documents without waiting for upstreams that are down."""
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._keep_keys_fresh()))
        self._tasks.append(loop.create_task(self.openapi.refresh()))
        if self.gc_freeze:
            freeze_startup_objects()
        log.info(
            "gateway started",
            upstreams={name: [i.url for i in u.balancer.instances] for name, u in self.upstreams.items()},
        )

    async def _keep_keys_fresh(self) -> None:
        """Fetch JWKS now and then on a period, so requests rarely wait on a fetch (quickly while failing)."""
        delay = 1.0
        while True:
            if await self.verifier.refresh():
                delay = 1.0
                await asyncio.sleep(self.jwks_refresh_seconds / 2)
            else:
                # identity may still be starting (make run) or down: retry soon, then less often.
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def shutdown(self) -> None:
        """Cancel background tasks and close the clients."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.openapi.close()
        for upstream in self.upstreams.values():
            await upstream.client.close()
        await self.verifier_client.aclose()
        if self.redis is not None:
            await self.redis.close()
        if self.access_log is not None:
            self.access_log.flush()

    # --- the gateway's own endpoints ----------------------------------------------------------------

    async def healthz(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Alive."""
        await send_json(send, 200, {"status": "ok"})

    async def _instance_healthy(self, upstream: Upstream, url: str) -> bool:
        try:
            async with asyncio.timeout(self.readiness_timeout):
                resp = await upstream.client.send("GET", url + "/healthz", [], None, self.readiness_timeout)
                resp.release()
                return resp.status == 200
        except (UpstreamError, TimeoutError):
            return False

    async def _jwks_reachable(self) -> bool:
        try:
            resp = await self.verifier_client.get(self.verifier.jwks_url, timeout=self.readiness_timeout)
            return resp.status_code == 200 and bool(resp.json().get("keys"))
        except (httpx.HTTPError, ValueError):
            return False

    async def readyz(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Ready when identity's JWKS answers and at least one instance of every upstream does."""
        pairs = [(name, inst.url) for name, up in self.upstreams.items() for inst in up.balancer.instances]
        results = await asyncio.gather(
            self._jwks_reachable(), *(self._instance_healthy(self.upstreams[n], url) for n, url in pairs)
        )
        checks: dict[str, Any] = {"jwks": "ok" if results[0] else "unreachable"}
        for name in self.upstreams:
            healthy = sum(1 for (n, _), ok in zip(pairs, results[1:], strict=True) if n == name and ok)
            total = sum(1 for n, _ in pairs if n == name)
            checks[name] = f"{healthy}/{total} healthy"
        ready = results[0] and all(not c.startswith("0/") for k, c in checks.items() if k != "jwks")
        if self.redis is not None:
            checks["redis"] = "ok" if await self.redis.ping() else "unreachable (limiting per replica)"
        await send_json(
            send, 200 if ready else 503, {"status": "ready" if ready else "not-ready", "checks": checks}
        )

    async def metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Prometheus text."""
        await send_bytes(send, 200, generate_latest(), CONTENT_TYPE_LATEST.encode())

    async def openapi_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The merged OpenAPI document."""
        await send_bytes(send, 200, await self.openapi.merged(), b"application/json")

    async def docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Swagger UI over /openapi.json (its scripts come from a CDN the browser must reach)."""
        await send_bytes(send, 200, bytes(self._docs), b"text/html; charset=utf-8")
