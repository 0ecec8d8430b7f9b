"""A stand-in for identity-svc and case-svc, for the hub's integration test and bench (dev/test only).

It publishes a JWKS and issues client-credentials tokens with one key (``STUB_SIGNING_KEY``, a private
JWK) and answers ``GET /v1/cases/{id}`` from the id itself, so it needs no state: an id of the form
``<receiving>-<handling>-<item>-<status>-<anything>`` is a case received in ``receiving``, handled in
``handling``, for ``item``, in ``status``; any other id is unknown (404).
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from fastapi import FastAPI, Form, Header
from fastapi.responses import JSONResponse
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tongban_kit.ids import new_id

CASE_ID = re.compile(r"^(?P<receiving>\d{6})-(?P<handling>\d{6})-(?P<item>[A-Z0-9]+)-(?P<status>[a-z_]+)-.+$")


class StubSettings(BaseSettings):
    """``STUB_*`` settings."""

    model_config = SettingsConfigDict(env_prefix="STUB_", extra="ignore", populate_by_name=True)

    env: str = Field("production", validation_alias=AliasChoices("TONGBAN_ENV"))
    signing_key: str
    issuer: str = "http://127.0.0.1:8000/identity"
    token_scope_audiences: dict[str, str] = {"cases": "urn:tongban:case", "exchange": "urn:tongban:exchange"}


def stub_case_id(receiving: str, handling: str, item: str, status: str = "accepted") -> str:
    """A case id the stub answers for."""
    return f"{receiving}-{handling}-{item}-{status}-{new_id()[-12:]}"


def create_app(settings: StubSettings | None = None) -> FastAPI:
    """Build the stub (``uvicorn --factory data_exchange_svc.sandbox.mesh_stub:create_app``)."""
    settings = settings or StubSettings()
    if settings.env not in ("dev", "test"):
        raise RuntimeError("the mesh stub runs only with TONGBAN_ENV=dev or test")
    key = ECKey.import_key(json.loads(settings.signing_key))
    app = FastAPI(title="identity and case stub", version="1.0.0")

    @app.get("/healthz")
    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        """The token signing key."""
        return {"keys": [key.as_dict(private=False)]}

    @app.post("/oauth2/token")
    async def token(
        grant_type: str = Form(...),
        scope: str = Form(""),
        authorization: str | None = Header(None),
    ) -> JSONResponse:
        """Client credentials for any ``svc-*`` client (the stub trusts its callers)."""
        if grant_type != "client_credentials" or not authorization:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        client_id = base64.b64decode(authorization.split(" ", 1)[1]).decode().split(":", 1)[0]
        now = int(time.time())
        audiences = sorted(
            {settings.token_scope_audiences.get(s.split(":")[0], "") for s in scope.split()} - {""}
        )
        claims = {
            "iss": settings.issuer,
            "sub": client_id,
            "aud": audiences,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + 300,
            "jti": new_id(),
        }
        access = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims, key)
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300})

    @app.get("/v1/cases/{case_id}")
    async def case(case_id: str, authorization: str | None = Header(None)) -> JSONResponse:
        """The case the id describes."""
        if not authorization:
            return JSONResponse({"code": "unauthorized"}, status_code=401)
        m = CASE_ID.match(case_id)
        if m is None:
            return JSONResponse({"code": "not-found"}, status_code=404)
        return JSONResponse(
            {
                "id": case_id,
                "number": f"{m['handling']}-20261127-000001",
                "status": m["status"],
                "item_code": m["item"],
                "mode": "proxy",
                "receiving_region": m["receiving"],
                "handling_region": m["handling"],
                "participants": {},
                "applicant": {"type": "natural_person", "subject_hash": None},
            }
        )

    return app
