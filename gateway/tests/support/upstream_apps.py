"""Small upstream apps the gateway tests run as real processes: an echo service and a JWKS server."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "echo", "version": "1"},
    "paths": {
        "/v1/things/{id}": {
            "get": {
                "operationId": "get_thing",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {
                        "description": "a thing",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                    }
                },
            }
        }
    },
    "components": {
        "schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}


def create_echo() -> Starlette:
    """Echoes what it received and records every hit; ``/slow``, ``/fail``, ``/flaky``, ``/big`` misbehave."""
    name = os.environ.get("ECHO_NAME", "echo")
    hits: list[dict[str, Any]] = []
    flaky: dict[str, int] = {}

    def record(request: Request, body_len: int) -> dict[str, Any]:
        hit = {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
            "header_list": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body_len": body_len,
            "instance": name,
        }
        hits.append(hit)
        del hits[:-2000]
        return hit

    async def read_body(request: Request) -> int:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return size

    async def echo(request: Request) -> Response:
        path = request.url.path
        size = await read_body(request)
        hit = record(request, size)
        tail = path.rsplit("/", 1)[-1]
        if tail == "slow":
            await asyncio.sleep(float(request.query_params.get("seconds", "2")))
        elif tail == "fail":
            return JSONResponse({"error": "failed on purpose", "instance": name}, status_code=500)
        elif path.rsplit("/", 2)[-2:-1] == ["flaky"]:
            # Fails with 503 the first `times` calls for each key, then answers.
            seen = flaky.get(path, 0)
            flaky[path] = seen + 1
            if seen < int(request.query_params.get("times", "1")):
                return JSONResponse({"error": "try again", "instance": name}, status_code=503)
        elif tail == "big":
            total = int(request.query_params.get("size", "1000000"))
            block = bytes(range(256)) * 256  # 64 KiB

            async def stream() -> Any:
                sent = 0
                while sent < total:
                    part = block[: min(len(block), total - sent)]
                    sent += len(part)
                    yield part

            return StreamingResponse(stream(), media_type="application/octet-stream")
        return JSONResponse(hit, headers={"x-upstream": name, "set-cookie": "upstream=1; Path=/"})

    async def hits_view(request: Request) -> Response:
        return JSONResponse(hits)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/_hits", hits_view),
            Route("/healthz", healthz),
            Route("/openapi.json", openapi),
            Route("/{path:path}", echo, methods=methods),
        ]
    )


def create_jwks() -> Starlette:
    """Serves the key set given in ``TEST_JWKS`` at identity's JWKS path."""
    jwks = json.loads(os.environ["TEST_JWKS"])

    async def keys(request: Request) -> Response:
        return JSONResponse(jwks)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/.well-known/jwks.json", keys), Route("/healthz", healthz)])
