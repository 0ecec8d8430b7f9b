"""ASGI glue: serve under the issuer's path too, so the public URLs work without the gateway."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class IssuerPathMiddleware:
    """Strips the issuer's path (e.g. `/identity`) the way the gateway does before forwarding."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.prefix and scope["type"] == "http":
            path: str = scope["path"]
            if path == self.prefix or path.startswith(self.prefix + "/"):
                scope = dict(scope)
                scope["path"] = path[len(self.prefix) :] or "/"
                raw = scope.get("raw_path")
                if isinstance(raw, bytes) and raw.startswith(self.prefix.encode()):
                    scope["raw_path"] = raw[len(self.prefix) :] or b"/"
        await self.app(scope, receive, send)
