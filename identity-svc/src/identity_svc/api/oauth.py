"""OAuth 2.0 / OIDC endpoints: discovery, JWKS, token, introspection, revocation, userinfo."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from tongban_kit.app import RuntimeDep

from identity_svc.api.deps import NO_STORE, CtxDep, client_credentials, form_schema, oauth_error, read_form
from identity_svc.domain.assurance import LEVELS
from identity_svc.domain.clients import GrantType
from identity_svc.domain.errors import OAuthError, invalid_request
from identity_svc.domain.tokens import API_SCOPES, OIDC_SCOPES
from identity_svc.service_layer import tokens as token_handlers
from identity_svc.service_layer.clients import ASSERTION_ALGS, authenticate_client
from identity_svc.service_layer.context import IdentityContext

router = APIRouter(tags=["oauth2"])

AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]


def discovery_document(ctx: IdentityContext) -> dict[str, Any]:
    """OIDC discovery / RFC 8414 metadata; every URL starts at the public issuer."""
    return {
        "issuer": ctx.issuer,
        "authorization_endpoint": ctx.url("/oauth2/authorize"),
        "token_endpoint": ctx.url("/oauth2/token"),
        "userinfo_endpoint": ctx.url("/userinfo"),
        "jwks_uri": ctx.url("/.well-known/jwks.json"),
        "introspection_endpoint": ctx.url("/oauth2/introspect"),
        "revocation_endpoint": ctx.url("/oauth2/revoke"),
        "end_session_endpoint": ctx.url("/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [g.value for g in GrantType],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "userinfo_signing_alg_values_supported": [],
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": sorted(OIDC_SCOPES) + sorted(API_SCOPES),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "amr",
            "nonce",
            "azp",
            "at_hash",
            "name",
            "preferred_username",
            "phone_number",
            "subject_hash",
            "verification_level",
            "resident_id_masked",
            "representations",
        ],
        "acr_values_supported": list(LEVELS),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
        "tls_client_certificate_bound_access_tokens": False,
    }


@router.get("/.well-known/openid-configuration")
async def openid_configuration(ctx: CtxDep) -> JSONResponse:
    """OpenID Connect discovery document."""
    return JSONResponse(discovery_document(ctx), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/oauth-authorization-server")
async def oauth_metadata(ctx: CtxDep) -> JSONResponse:
    """RFC 8414 authorization server metadata (same content as OIDC discovery)."""
    return JSONResponse(discovery_document(ctx), headers={"Cache-Control": "public, max-age=300"})


@router.get("/.well-known/jwks.json")
async def jwks(ctx: CtxDep) -> JSONResponse:
    """Public signing keys: the active one and verify-only ones not yet retired."""
    ctx.keys.refresh_published(ctx.clock())
    return JSONResponse(ctx.keys.jwks(), headers={"Cache-Control": "public, max-age=60"})


_TOKEN_FORM = form_schema(
    {
        "grant_type": {"type": "string", "enum": [g.value for g in GrantType]},
        "code": {"type": "string"},
        "redirect_uri": {"type": "string"},
        "code_verifier": {"type": "string"},
        "refresh_token": {"type": "string"},
        "scope": {"type": "string"},
        "subject_token": {"type": "string"},
        "subject_token_type": {"type": "string"},
        "actor_token": {"type": "string"},
        "actor_token_type": {"type": "string"},
        "requested_token_type": {"type": "string"},
        "audience": {"type": "string"},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "client_assertion_type": {"type": "string"},
        "client_assertion": {"type": "string"},
    },
    ["grant_type"],
)


@router.post("/oauth2/token", openapi_extra=_TOKEN_FORM, response_model=None)
async def token(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """Token endpoint: authorization_code, refresh_token, client_credentials, token exchange."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        values, repeated = await read_form(request)
        if repeated:
            raise invalid_request(f"repeated parameters: {', '.join(sorted(repeated))}")
        grant = values.get("grant_type", "")
        handler = token_handlers.GRANTS.get(grant)
        if not grant:
            raise invalid_request("grant_type is required")
        if handler is None:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant} is not supported")
        async with runtime.uow() as uow:
            client = await authenticate_client(
                client_credentials(request, values),
                session=uow.session,
                ctx=ctx,
                endpoint=ctx.url("/oauth2/token"),
                allow_public=grant in (GrantType.AUTHORIZATION_CODE.value, GrantType.REFRESH_TOKEN.value),
            )
            body = await handler(token_handlers.Form(values), client, uow=uow, ctx=ctx)
    except OAuthError as err:
        return oauth_error(err, basic_attempted=basic)
    return JSONResponse(body, headers=NO_STORE)


_INTROSPECT_FORM = form_schema(
    {"token": {"type": "string"}, "token_type_hint": {"type": "string"}}, ["token"]
)


@router.post("/oauth2/introspect", openapi_extra=_INTROSPECT_FORM, response_model=None)
async def introspect(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """RFC 7662 token introspection for authenticated clients."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        values, _ = await read_form(request)
        async with runtime.uow() as uow:
            caller = await authenticate_client(
                client_credentials(request, values),
                session=uow.session,
                ctx=ctx,
                endpoint=ctx.url("/oauth2/introspect"),
            )
            await uow.commit()  # keeps the used client assertion id
            token_value = values.get("token")
            if not token_value:
                raise invalid_request("token is required")
            body = await token_handlers.introspect(token_value, caller, uow=uow, ctx=ctx)
    except OAuthError as err:
        return oauth_error(err, basic_attempted=basic)
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth2/revoke", openapi_extra=_INTROSPECT_FORM, response_model=None)
async def revoke(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """RFC 7009 revocation: always 200 for a token the client may not or cannot revoke."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        values, _ = await read_form(request)
        async with runtime.uow() as uow:
            caller = await authenticate_client(
                client_credentials(request, values),
                session=uow.session,
                ctx=ctx,
                endpoint=ctx.url("/oauth2/revoke"),
                allow_public=True,
            )
            await uow.commit()
            token_value = values.get("token")
            if not token_value:
                raise invalid_request("token is required")
            await token_handlers.revoke(token_value, caller, uow=uow, ctx=ctx)
    except OAuthError as err:
        return oauth_error(err, basic_attempted=basic)
    return Response(status_code=200, headers=NO_STORE)


def _bearer_error(err: token_handlers.BearerError) -> JSONResponse:
    challenge = f'Bearer error="{err.error}", error_description="{err.description}"'
    return JSONResponse(
        {"error": err.error, "error_description": err.description},
        status_code=err.status,
        headers={"WWW-Authenticate": challenge, **NO_STORE},
    )


async def _userinfo(request: Request, ctx: IdentityContext, runtime: RuntimeDep) -> Response:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return JSONResponse(
            {"error": "invalid_request", "error_description": "a bearer token is required"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="tongban"', **NO_STORE},
        )
    try:
        async with runtime.uow() as uow:
            body = await token_handlers.userinfo(value.strip(), uow=uow, ctx=ctx)
    except token_handlers.BearerError as err:
        return _bearer_error(err)
    return JSONResponse(body, headers=NO_STORE)


@router.get("/userinfo", response_model=None)
async def userinfo_get(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """OIDC userinfo: claims about the person the bearer token represents."""
    return await _userinfo(request, ctx, runtime)


@router.post("/userinfo", response_model=None)
async def userinfo_post(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """OIDC userinfo by POST."""
    return await _userinfo(request, ctx, runtime)
