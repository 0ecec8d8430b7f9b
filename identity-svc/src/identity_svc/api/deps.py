"""Shared pieces of the identity routes: the context, client address, forms, OAuth error bodies."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from tongban_kit.problems import Problem

from identity_svc.domain.errors import OAuthError, invalid_client, invalid_request
from identity_svc.service_layer.clients import ClientCredentials
from identity_svc.service_layer.context import IdentityContext

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FORM_TYPE = "application/x-www-form-urlencoded"


async def get_ctx(request: Request) -> IdentityContext:
    """Dependency: the identity context of the running app."""
    ctx: IdentityContext = request.app.state.runtime.extras["identity"]
    return ctx


CtxDep = Annotated[IdentityContext, Depends(get_ctx)]


def client_ip(request: Request, ctx: IdentityContext) -> str | None:
    """The caller's address; X-Forwarded-For only counts when the peer is a trusted proxy."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    if peer is not None and forwarded and _is_trusted(peer, ctx.settings.trusted_proxies):
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return peer
    return peer


def _is_trusted(peer: str, proxies: list[str]) -> bool:
    """Whether the peer is one of the trusted proxies, given as addresses or networks (CIDR)."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    for entry in proxies:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


async def read_form(request: Request) -> tuple[dict[str, str], set[str]]:
    """Form parameters and the names sent more than once (RFC 6749 forbids repeats)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise invalid_request(f"the body must be {FORM_TYPE}")
    form = await request.form()
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in form.multi_items():
        if not isinstance(value, str):
            raise invalid_request("file uploads are not accepted")
        if name in values:
            repeated.add(name)
        values[name] = value
    return values, repeated


def client_credentials(request: Request, form: dict[str, str]) -> ClientCredentials:
    """What the request presented to authenticate its client (Basic, form secret or assertion)."""
    basic = None
    raw_secret = None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_client("the Basic credentials are malformed") from exc
        user, sep, password = decoded.partition(":")
        if not sep:
            raise invalid_client("the Basic credentials are malformed")
        # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
        basic = (unquote_plus(user), unquote_plus(password))
        raw_secret = password
    return ClientCredentials(
        basic=basic,
        basic_raw_secret=raw_secret,
        form_client_id=form.get("client_id") or None,
        form_secret=form.get("client_secret") or None,
        assertion_type=form.get("client_assertion_type") or None,
        assertion=form.get("client_assertion") or None,
    )


def oauth_error(err: OAuthError, *, basic_attempted: bool = False) -> JSONResponse:
    """The RFC 6749 error body (not a problem document, so standard clients understand it)."""
    headers = dict(NO_STORE)
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="tongban"' if basic_attempted else 'Bearer realm="tongban"'
    return JSONResponse(
        {"error": err.error, "error_description": err.description}, status_code=err.status, headers=headers
    )


def forbidden(detail: str) -> Problem:
    """403 problem for a caller without the right to this resource."""
    return Problem(403, "forbidden", detail)


def etag(resource_id: str, version: int) -> str:
    """The ETag of a resource version."""
    from tongban_kit.http import etag_for

    return etag_for(resource_id, version)


def expected_version(request: Request, resource_id: str, current: int) -> int:
    """Enforce If-Match (428/412) and return the version it names."""
    from tongban_kit.http import require_if_match

    require_if_match(request, etag(resource_id, current))
    return current


def form_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """OpenAPI request body of a form-encoded OAuth endpoint."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM_TYPE: {"schema": {"type": "object", "properties": properties, "required": required}}
            },
        }
    }
