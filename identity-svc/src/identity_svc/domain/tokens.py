"""Token policy: scopes, the audience rule, claim sets of access and ID tokens, refresh lifetimes."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

API_SCOPES = frozenset(
    {
        "catalogue:write",
        "catalogue:implement",
        "cases:submit",
        "cases:handle",
        "cases:read",
        "cases:monitor",
        "identity:admin",
        "identity:verify",  # window systems confirming identities in person (raises accounts to L3)
        "eseal:sign",
        "eseal:verify",
        "eseal:admin",
        "exchange:query",
        "exchange:admin",
    }
)
OIDC_SCOPES = frozenset({"openid", "profile", "phone"})
# Scope prefix -> service name in `urn:tongban:<svc>` (note: cases:* is the `case` service).
AUDIENCE_BY_PREFIX = {
    "catalogue": "catalogue",
    "cases": "case",
    "identity": "identity",
    "eseal": "eseal",
    "exchange": "exchange",
}
IDENTITY_AUDIENCE = "urn:tongban:identity"

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"


def parse_scope(value: str | None) -> list[str]:
    """Space-separated scope string to a list without duplicates, order kept."""
    seen: dict[str, None] = {}
    for part in (value or "").split():
        seen.setdefault(part, None)
    return list(seen)


def audience_for(scopes: Iterable[str]) -> list[str]:
    """`aud`: one `urn:tongban:<svc>` per service whose scopes the token carries.

    `openid` also names identity: such a token is good for `/userinfo`, which identity serves.
    """
    auds: dict[str, None] = {}
    for scope in scopes:
        if scope == "openid":
            auds.setdefault(IDENTITY_AUDIENCE, None)
            continue
        prefix = scope.split(":", 1)[0]
        if ":" in scope and prefix in AUDIENCE_BY_PREFIX:
            auds.setdefault(f"urn:tongban:{AUDIENCE_BY_PREFIX[prefix]}", None)
    return list(auds)


def access_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    scopes: list[str],
    audience: list[str],
    jti: str,
    now: datetime,
    ttl: int,
    region: str | None = None,
    org: str | None = None,
    acr: str | None = None,
    subject_hash: str | None = None,
    auth_time: datetime | None = None,
    act: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """RFC 9068 claims, only those services use, so that tokens stay small and fast to verify."""
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": iat + ttl,
        "iat": iat,
        "jti": jti,
        "client_id": client_id,
        "scope": " ".join(scopes),
    }
    optional = {"region": region, "org": org, "acr": acr, "subject_hash": subject_hash, "act": act}
    claims.update({k: v for k, v in optional.items() if v})
    if auth_time is not None:
        claims["auth_time"] = int(auth_time.timestamp())
    return claims


def half_hash(value: str) -> str:
    """`at_hash`/`c_hash` for ES256: base64url of the left half of SHA-256 (OIDC Core 3.1.3.6)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).decode().rstrip("=")


def id_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    now: datetime,
    ttl: int,
    auth_time: datetime,
    acr: str,
    amr: list[str],
    nonce: str | None,
    access_token: str | None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """OIDC Core ID token claims."""
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "azp": client_id,
        "exp": iat + ttl,
        "iat": iat,
        "auth_time": int(auth_time.timestamp()),
        "acr": acr,
        "amr": amr,
    }
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = half_hash(access_token)
    claims.update(extra or {})
    return claims


def refresh_expiry(now: datetime, family_started: datetime, ttl: int, max_age: int) -> datetime:
    """A rotated refresh token lives `ttl` seconds but never beyond the family's absolute age."""
    return min(now + timedelta(seconds=ttl), family_started + timedelta(seconds=max_age))


def exchange_actor(client_id: str, prior_act: dict[str, Any] | None) -> dict[str, Any]:
    """RFC 8693 `act`: the current actor, nesting the earlier actor chain."""
    act: dict[str, Any] = {"sub": client_id}
    if prior_act:
        act["act"] = prior_act
    return act
