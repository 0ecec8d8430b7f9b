"""The bench's small upstream (a FastAPI service with one small GET) and a JWKS server."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_upstream() -> FastAPI:
    """A service answering one small JSON document, as a case read would."""
    app = FastAPI(title="bench-upstream")

    @app.get("/v1/cases/{case_id}")
    async def get_case(case_id: str) -> dict[str, object]:
        """A small case summary."""
        return {
            "id": case_id,
            "number": "440000-20261127-000123",
            "status": "accepted",
            "basic_code": "11100000000000000000",
            "receiving_region": "440000",
            "handling_region": "310000",
            "mode": "proxy",
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    return app


def create_jwks() -> Starlette:
    """Serves the key set from ``BENCH_JWKS``."""
    jwks = json.loads(os.environ["BENCH_JWKS"])

    async def keys(request: Request) -> Response:
        return JSONResponse(jwks)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/.well-known/jwks.json", keys), Route("/healthz", healthz)])
