"""The hub's public keys: callers verify response signatures, providers verify request signatures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from data_exchange_svc.api.deps import SignerDep

router = APIRouter(tags=["keys"])


@router.get("/v1/keys", summary="The hub's public signing keys (JWKS)")
async def keys(signer: SignerDep) -> dict[str, Any]:
    """The JWK set of the hub's ES256 signing keys; no token needed."""
    return signer.jwks


@router.get("/.well-known/jwks.json", include_in_schema=False)
async def well_known_jwks(signer: SignerDep) -> JSONResponse:
    """The same key set at the conventional address."""
    return JSONResponse(signer.jwks, headers={"Cache-Control": "public, max-age=300"})
