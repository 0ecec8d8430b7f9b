"""The bench's helper servers: a JWKS server, a stand-in catalogue for seeding case-svc, a stub upstream."""

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


# One item and its regions' implementations, enough for case-svc to accept a proxy case.
BENCH_BASIC_CODE = "XK-990001-01"


def _item() -> dict[str, object]:
    """The item as catalogue-svc's GET /v1/items/{basic_code} answers it."""
    return {
        "basic_code": BENCH_BASIC_CODE,
        "version": 1,
        "name": "异地就医结算备案",
        "item_type": "confirmation",
        "audience": ["natural_person"],
        "modes": ["online", "proxy"],
        "materials": [
            {
                "code": "M01",
                "name": "身份证",
                "required": True,
                "condition": None,
                "licence_types": ["ID_CARD"],
                "exchange_fetchable": False,
                "exchange_domain": None,
            }
        ],
        "statutory_limit_days": 20,
        "promised_limit_days": 10,
        "suspension": {"allowed": True, "max_days": 30},
        "extension": {"allowed": True, "max_days": 10},
        "joint_roles": {},
        "result": {"type": "licence", "licence_type": "MED_FILING"},
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_to": None,
        "status": "published",
    }


def create_catalogue() -> Starlette:
    """Answers case-svc's read-model misses (item and region implementation) like catalogue-svc."""

    async def item(request: Request) -> Response:
        if request.path_params["code"] != BENCH_BASIC_CODE:
            return JSONResponse({"status": 404}, status_code=404)
        return JSONResponse(_item())

    async def region(request: Request) -> Response:
        code, region = request.path_params["code"], request.path_params["region"]
        if code != BENCH_BASIC_CODE:
            return JSONResponse({"status": 404}, status_code=404)
        return JSONResponse(
            {
                "basic_code": code,
                "region": region,
                "implementation_code": f"{code}-{region}",
                "modes": ["online", "proxy"],
                "promised_limit_days": 10,
                "handling_org": {"name": "医保局", "uscc": "11110000000000000X"},
                "version": 1,
            }
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/items/{code}", item),
            Route("/v1/items/{code}/regions/{region}", region),
            Route("/healthz", healthz),
        ]
    )
