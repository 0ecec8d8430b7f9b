"""``/v1/status-lists``: signed Bitstring Status List credentials that any verifier may fetch and cache."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from eseal_svc.api.deps import ContextDep, problems
from eseal_svc.service_layer.status_lists import signed_status_list

router = APIRouter(prefix="/v1/status-lists", tags=["status lists"])
VC_JWT_MEDIA_TYPE = "application/vc+jwt"


@router.get(
    "/{list_id}",
    response_class=Response,
    responses={
        200: {
            "description": "the list credential: a vc+jwt, or JSON {credential, jwt} if Accept asks for JSON",
            "content": {VC_JWT_MEDIA_TYPE: {"schema": {"type": "string"}}, "application/json": {}},
        },
        304: {"description": "not modified since the ETag given in If-None-Match"},
        **problems(404),
    },
)
async def get_status_list(list_id: str, request: Request, ctx: ContextDep) -> Response:
    """A signed BitstringStatusListCredential (no token needed: status is checked by anyone, herd-private)."""
    signed = await signed_status_list(ctx, list_id)
    headers = {
        "ETag": signed.etag,
        "Cache-Control": f"public, max-age={ctx.settings.status_list_max_age}",
        "Last-Modified": signed.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Vary": "Accept",
    }
    wanted = [t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")]
    if signed.etag.removeprefix("W/") in wanted:
        return Response(status_code=304, headers=headers)
    accept = request.headers.get("accept", "")
    if "application/json" in accept and VC_JWT_MEDIA_TYPE not in accept:
        return JSONResponse({"credential": signed.credential, "jwt": signed.jwt}, headers=headers)
    return Response(signed.jwt, media_type=VC_JWT_MEDIA_TYPE, headers=headers)
