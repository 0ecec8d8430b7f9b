"""Client handlers: registration, changes, secret rotation, and client authentication."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_kit.db import utcnow
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters.orm import AssertionRow, ClientRow
from identity_svc.adapters.repository import apply_client, client_from_row, get_client
from identity_svc.domain.clients import (
    SECRET_METHODS,
    AuthMethod,
    Client,
    ClientKind,
    GrantType,
    parse_grant_type,
)
from identity_svc.domain.errors import DomainError, InvalidClient, invalid_client, invalid_request
from identity_svc.service_layer import audit
from identity_svc.service_layer.context import IdentityContext

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ["ES256", "ES384", "EdDSA", "Ed25519", "PS256", "RS256"]
MAX_ASSERTION_LIFETIME = 600
SKEW = 30


class ClientNotFound(DomainError):
    """No such client."""

    code = "not-found"
    status = 404


class StaleVersion(DomainError):
    """The client changed since the caller read it."""

    code = "stale-etag"
    status = 412


@dataclass(frozen=True)
class RegisterClient:
    """Register a platform, ministry system, service or public app."""

    name: str
    kind: ClientKind
    grant_types: list[str]
    scopes: list[str]
    auth_method: AuthMethod
    client_id: str | None = None
    region: str | None = None
    org: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    jwks: dict[str, Any] | None = None


def new_secret() -> str:
    """A client secret with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def _client_event(row: ClientRow, change: str, actor: str, fields: list[str]) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "change": change,
        "changed_by": actor,
        "kind": row.kind,
        "region": row.region,
        "scopes": list(row.scopes),
        "grant_types": list(row.grant_types),
        "fields": fields,
        "version": row.version,
    }


async def register_client(
    cmd: RegisterClient,
    *,
    uow: UnitOfWork,
    ctx: IdentityContext,
    actor: str,
    secret: str | None = None,
    secret_hash: str | None = None,
) -> tuple[ClientRow, str | None]:
    """Validate and store a client; a secret client gets a fresh secret, returned only now."""
    client = Client(
        client_id=cmd.client_id or f"c-{secrets.token_hex(8)}",
        name=cmd.name,
        kind=cmd.kind,
        grant_types=[parse_grant_type(g) for g in cmd.grant_types],
        scopes=list(dict.fromkeys(cmd.scopes)),
        auth_method=cmd.auth_method,
        region=cmd.region,
        org=cmd.org,
        redirect_uris=list(dict.fromkeys(cmd.redirect_uris)),
        jwks=cmd.jwks,
    )
    client.validate()
    if await get_client(uow.session, client.client_id) is not None:
        raise InvalidClient(f"client {client.client_id} already exists")
    plain = None
    now = ctx.clock()
    row = ClientRow(client_id=client.client_id, created_by=actor, created_at=now, updated_at=now, version=1)
    apply_client(row, client)
    if client.auth_method in SECRET_METHODS:
        plain = secret or new_secret()
        row.secret_hash = secret_hash or await ctx.hasher.hash(plain)
    uow.session.add(row)
    await uow.session.flush()
    await audit.record(uow, ctx, "client-changed", row.client_id, _client_event(row, "created", actor, []))
    return row, plain


async def load_client(session: AsyncSession, client_id: str) -> ClientRow:
    """A client row or 404."""
    row = await get_client(session, client_id)
    if row is None:
        raise ClientNotFound(f"client {client_id} was not found")
    return row


async def update_client(
    client_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int | None,
    uow: UnitOfWork,
    ctx: IdentityContext,
    actor: str,
) -> ClientRow:
    """Change a client's registration (optimistic concurrency on its version)."""
    row = await load_client(uow.session, client_id)
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion("the client changed since you read it")
    client = client_from_row(row)
    for name, value in changes.items():
        if name == "grant_types":
            client.grant_types = [parse_grant_type(g) for g in value]
        elif name == "auth_method":
            client.auth_method = AuthMethod(value)
        else:
            setattr(client, name, value)
    client.validate()
    was_active = row.active
    apply_client(row, client)
    if client.auth_method in SECRET_METHODS and row.secret_hash is None:
        raise InvalidClient("switching to a client secret needs a secret: rotate it with /secret")
    row.version += 1
    row.updated_at = ctx.clock()
    change = "updated"
    if was_active != row.active:
        change = "enabled" if row.active else "disabled"
    await uow.session.flush()
    await audit.record(
        uow, ctx, "client-changed", row.client_id, _client_event(row, change, actor, sorted(changes))
    )
    return row


async def rotate_secret(
    client_id: str, *, expected_version: int | None, uow: UnitOfWork, ctx: IdentityContext, actor: str
) -> tuple[ClientRow, str]:
    """Give a secret client a new secret; the old one stops working at once."""
    row = await load_client(uow.session, client_id)
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion("the client changed since you read it")
    if AuthMethod(row.auth_method) not in SECRET_METHODS:
        raise InvalidClient("this client authenticates with private_key_jwt or not at all")
    plain = new_secret()
    row.secret_hash = await ctx.hasher.hash(plain)
    row.version += 1
    row.updated_at = ctx.clock()
    await uow.session.flush()
    await audit.record(
        uow, ctx, "client-changed", row.client_id, _client_event(row, "secret-rotated", actor, ["secret"])
    )
    return row, plain


# --- client authentication at the token, introspection and revocation endpoints -----------------


@dataclass(frozen=True)
class ClientCredentials:
    """What a request presented to authenticate its client."""

    basic: tuple[str, str] | None = None
    basic_raw_secret: str | None = None
    form_client_id: str | None = None
    form_secret: str | None = None
    assertion_type: str | None = None
    assertion: str | None = None


async def _check_assertion(
    session: AsyncSession, ctx: IdentityContext, row: ClientRow, assertion: str, audiences: set[str]
) -> None:
    client = client_from_row(row)
    if client.auth_method is not AuthMethod.PRIVATE_KEY_JWT or not client.jwks:
        raise invalid_client("this client does not authenticate with private_key_jwt")
    try:
        keys = KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
        claims = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGS).claims
    except (JoseError, ValueError, TypeError) as exc:
        raise invalid_client("client assertion signature is not valid") from exc
    now = ctx.clock().timestamp()
    aud = claims.get("aud")
    auds = set(aud) if isinstance(aud, list) else {aud}
    exp = claims.get("exp")
    jti = claims.get("jti")
    if claims.get("iss") != row.client_id or claims.get("sub") != row.client_id:
        raise invalid_client("client assertion iss and sub must be the client_id")
    if not auds & audiences:
        raise invalid_client("client assertion aud must name this issuer or endpoint")
    if not isinstance(exp, int | float) or exp + SKEW < now or exp > now + MAX_ASSERTION_LIFETIME:
        raise invalid_client("client assertion has expired or lives too long")
    if not isinstance(jti, str) or not jti:
        raise invalid_client("client assertion needs a jti")
    key = hashlib.sha256(f"{row.client_id}\x00{jti}".encode()).hexdigest()
    if await session.get(AssertionRow, key) is not None:
        raise invalid_client("client assertion was already used")
    session.add(AssertionRow(key=key, expires_at=utcnow() + timedelta(seconds=MAX_ASSERTION_LIFETIME)))


async def authenticate_client(
    creds: ClientCredentials,
    *,
    session: AsyncSession,
    ctx: IdentityContext,
    endpoint: str,
    allow_public: bool = False,
) -> Client:
    """Identify and authenticate the calling client by exactly one method."""
    methods = sum(x is not None for x in (creds.basic, creds.form_secret, creds.assertion))
    if methods > 1:
        raise invalid_request("use exactly one client authentication method")
    if creds.assertion is not None:
        if creds.assertion_type != ASSERTION_TYPE:
            raise invalid_client("client_assertion_type must be jwt-bearer")
        client_id = creds.form_client_id or _unverified_issuer(creds.assertion)
    elif creds.basic is not None:
        client_id = creds.basic[0]
    else:
        client_id = creds.form_client_id or ""
    if creds.form_client_id and creds.form_client_id != client_id:
        raise invalid_request("client_id does not match the authenticated client")
    row = await get_client(session, client_id) if client_id else None
    if row is None or not row.active:
        # Spend the hashing time anyway so that unknown ids cannot be told apart by timing.
        if creds.basic is not None or creds.form_secret is not None:
            await ctx.hasher.verify(None, (creds.basic or ("", ""))[1] or creds.form_secret or "")
        raise invalid_client()
    method = AuthMethod(row.auth_method)
    if creds.assertion is not None:
        await _check_assertion(session, ctx, row, creds.assertion, {ctx.issuer, endpoint})
    elif creds.basic is not None or creds.form_secret is not None:
        secret = creds.basic[1] if creds.basic is not None else (creds.form_secret or "")
        if method not in SECRET_METHODS or row.secret_hash is None:
            raise invalid_client("this client does not authenticate with a secret")
        if not await ctx.hasher.verify_cached(row.secret_hash, secret):
            # Many clients skip RFC 6749's form-encoding inside Basic: accept the raw secret too.
            raw = creds.basic_raw_secret
            if raw is None or raw == secret or not await ctx.hasher.verify_cached(row.secret_hash, raw):
                raise invalid_client()
    elif not (allow_public and method is AuthMethod.NONE):
        raise invalid_client("client authentication is required")
    return client_from_row(row)


def require_grant(client: Client, grant: GrantType) -> None:
    """The client must be registered for the grant."""
    client.allows(grant)


def _unverified_issuer(assertion: str) -> str:
    """The assertion's `iss`, read before verification only to find the client's keys."""
    try:
        payload = json.loads(jws.extract_compact(assertion.encode()).payload)
    except (JoseError, ValueError):
        return ""
    return str(payload.get("iss", "")) if isinstance(payload, dict) else ""
