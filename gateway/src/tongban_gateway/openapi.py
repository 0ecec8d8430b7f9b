"""The gateway's own OpenAPI document; ``python -m tongban_gateway.openapi`` writes the contract file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tongban_gateway.domain.routes import SERVICES

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM_REF}}}


GATEWAY_ERRORS = {
    "400": _problem("The path has dot segments or a header is malformed."),
    "401": _problem("The bearer token is missing, forged, expired or meant for another service."),
    "404": _problem("No route serves the path."),
    "413": _problem("The request body is larger than the route allows."),
    "429": _problem(
        "A rate limit was reached; Retry-After and RateLimit-Limit/Remaining/Reset say when to come back."
    ),
    "502": _problem("The upstream could not be reached or answered with something that is not HTTP."),
    "503": _problem("The upstream's circuit is open after repeated failures; Retry-After says when."),
    "504": _problem("The upstream did not answer within the route's timeout."),
}


def gateway_document() -> dict[str, Any]:
    """Paths the gateway serves itself, the problem schema and the bearer scheme."""
    text = {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}}
    status = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
    prefixes = ", ".join(f"/{name}" for name in SERVICES)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tongban API",
            "version": "1",
            "description": (
                "One entry point for provincial platforms. The gateway routes "
                f"{prefixes} to the services (prefix stripped) and answers the errors listed under "
                "x-gateway-errors itself, as RFC 9457 problem documents naming the upstream."
            ),
        },
        "servers": [{"url": "/"}],
        "x-gateway-errors": GATEWAY_ERRORS,
        "paths": {
            "/healthz": {
                "get": {
                    "tags": ["gateway"],
                    "operationId": "gateway.healthz",
                    "summary": "The gateway process is alive.",
                    "responses": {
                        "200": {"description": "alive", "content": {"application/json": {"schema": status}}}
                    },
                }
            },
            "/readyz": {
                "get": {
                    "tags": ["gateway"],
                    "operationId": "gateway.readyz",
                    "summary": "Identity's JWKS and at least one instance of each upstream answer.",
                    "responses": {
                        "200": {"description": "ready", "content": {"application/json": {"schema": status}}},
                        "503": {
                            "description": "not ready",
                            "content": {"application/json": {"schema": status}},
                        },
                    },
                }
            },
            "/metrics": {
                "get": {
                    "tags": ["gateway"],
                    "operationId": "gateway.metrics",
                    "summary": "Prometheus metrics: requests and latency per route and upstream.",
                    "responses": text,
                }
            },
            "/openapi.json": {
                "get": {
                    "tags": ["gateway"],
                    "operationId": "gateway.openapi",
                    "summary": "This document merged with every service's, under the gateway's prefixes.",
                    "responses": {"200": {"description": "OpenAPI document"}},
                }
            },
            "/docs": {
                "get": {
                    "tags": ["gateway"],
                    "operationId": "gateway.docs",
                    "summary": "Interactive documentation of the merged document.",
                    "responses": {"200": {"description": "HTML page"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "RFC 9457 problem details; upstream failures also name the upstream.",
                    "properties": {
                        "type": {"type": "string", "format": "uri"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                        "code": {"type": "string"},
                        "upstream": {"type": "string"},
                    },
                    "required": ["type", "title", "status", "detail", "code"],
                }
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RFC 9068 at+jwt)"}
            },
        },
        "tags": [{"name": "gateway", "description": "Endpoints the gateway serves itself."}],
    }


def render() -> str:
    """The contract file's text."""
    return json.dumps(gateway_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    """Write contracts/openapi/gateway.json (path as the first argument, else found from here)."""
    if len(sys.argv) > 1:
        target = Path(sys.argv[1])
    else:
        target = Path(__file__).resolve().parents[3] / "contracts" / "openapi" / "gateway.json"
    target.write_text(render(), encoding="utf-8")
    print(target)


if __name__ == "__main__":
    main()
