"""CORS from configuration as pure ASGI: preflights answered here, origins echoed on responses."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tongban_kit.problems import Problem

from tongban_gateway.entrypoints.responses import send_problem

ALLOW_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
EXPOSE = b"X-Request-Id, ETag, Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"


class CORSMiddleware:
    """Allows the configured origins (``*`` for any, then without credentials)."""

    def __init__(self, app: ASGIApp, origins: list[str], allow_credentials: bool, max_age: int) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(o.rstrip("/").encode("latin-1") for o in origins if o != "*")
        self.credentials = allow_credentials and not self.any_origin
        self.max_age = str(max_age).encode()

    def _allowed(self, origin: bytes) -> bool:
        return self.any_origin or origin in self.origins

    def _headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"access-control-allow-origin", b"*" if self.any_origin and not self.credentials else origin),
            (b"vary", b"Origin"),
        ]
        if self.credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = request_method = request_headers = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                request_method = value
            elif name == b"access-control-request-headers":
                request_headers = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = self._allowed(origin)
        if scope["method"] == "OPTIONS" and request_method is not None:
            if not allowed:
                problem = Problem(
                    403, "cors-origin-denied", "This origin may not call the API from a browser."
                )
                await send_problem(send, problem, scope["path"])
                return
            headers = [
                *self._headers(origin),
                (b"access-control-allow-methods", ALLOW_METHODS),
                (b"access-control-max-age", self.max_age),
                (b"content-length", b"0"),
            ]
            if request_headers:
                headers.append((b"access-control-allow-headers", request_headers))
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not allowed:
            await self.app(scope, receive, send)
            return
        extra = [*self._headers(origin), (b"access-control-expose-headers", EXPOSE)]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(h for h in message.get("headers", []) if not h[0].startswith(b"access-control-")),
                    *extra,
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)
