"""Access-token verification against identity-svc's JWKS, the Principal, and scope dependencies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tongban_kit.problems import Problem

CLOCK_SKEW = 30
ALGORITHMS = ["ES256", "EdDSA", "Ed25519"]


class TokenError(Exception):
    """A bearer token is not acceptable; the message says why (safe to show to the caller)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the client, the person (if any), and what the token allows."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    region: str | None = None
    acr: str | None = None
    org: str | None = None
    subject_hash: str | None = None
    actor: dict[str, Any] | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    def has(self, *scopes: str) -> bool:
        """Whether the token carries every one of the scopes."""
        return all(s in self.scopes for s in scopes)

    @property
    def is_service(self) -> bool:
        """Service clients (``svc-*``) read across regions."""
        return self.client_id.startswith("svc-")

    def actor_record(self) -> dict[str, Any]:
        """What history and audit record about the actor."""
        record: dict[str, Any] = {"client_id": self.client_id}
        if self.region:
            record["region"] = self.region
        if self.actor:
            record["on_behalf_of"] = self.subject
        return record


class JWKSVerifier:
    """Verifies RFC 9068 access tokens; caches JWKS and refetches once when a ``kid`` is unknown.

    A platform sends the same token on every call until it expires, so the claims of a token whose
    signature verified are kept (keyed by the exact token text, bounded in number): a repeat skips
    the signature check but not the claim checks, and the cache is dropped when a key leaves the JWKS.
    """

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        *,
        client: httpx.AsyncClient | None = None,
        cache_seconds: float = 300.0,
        min_refresh_interval: float = 5.0,
        verified_cache_size: int = 10_000,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._client = client
        self.cache_seconds = cache_seconds
        self.min_refresh_interval = min_refresh_interval
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.verified_cache_size = verified_cache_size
        self._verified: dict[str, dict[str, Any]] = {}

    def set_keys(self, jwks: dict[str, Any]) -> None:
        """Install a key set; tokens verified with a key that has gone must be checked again."""
        old = self._kids
        self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        self._kids = {k.get("kid", "") for k in jwks.get("keys", [])}
        self._fetched_at = time.monotonic()
        if not old <= self._kids:
            self._verified.clear()

    async def _fetch(self) -> None:
        client = self._client or httpx.AsyncClient(timeout=5.0)
        try:
            resp = await client.get(self.jwks_url)
            resp.raise_for_status()
            self.set_keys(resp.json())
        finally:
            if self._client is None:
                await client.aclose()

    async def _key_set(self, kid: str | None) -> KeySet:
        now = time.monotonic()
        stale = self._keys is None or now - self._fetched_at > self.cache_seconds
        unknown = kid is not None and kid not in self._kids
        if stale or (unknown and now - self._fetched_at > self.min_refresh_interval):
            async with self._lock:
                if self._keys is None or time.monotonic() - self._fetched_at > self.min_refresh_interval:
                    try:
                        await self._fetch()
                    except (httpx.HTTPError, ValueError) as exc:
                        if self._keys is None:
                            raise TokenError("token keys are unavailable") from exc
        assert self._keys is not None
        return self._keys

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid access token or raise TokenError."""
        claims = self._verified.get(token)
        if claims is not None:
            try:
                return self.check_claims(claims)
            except TokenError:
                self._verified.pop(token, None)
                raise
        claims = await self._verify_signature(token)
        if self.verified_cache_size:
            self._verified[token] = claims
            if len(self._verified) > self.verified_cache_size:
                del self._verified[next(iter(self._verified))]  # dicts keep insertion order
        return claims

    async def _verify_signature(self, token: str) -> dict[str, Any]:
        try:
            header = jws.extract_compact(token.encode()).headers()  # unverified: only to pick the key
        except (JoseError, ValueError) as exc:
            raise TokenError("token is malformed") from exc
        if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise TokenError("token is not an access token (typ at+jwt)")
        keys = await self._key_set(header.get("kid"))
        if header.get("kid") not in self._kids:
            raise TokenError("token was signed by an unknown key")
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise TokenError("token signature is not valid") from exc
        return self.check_claims(decoded.claims)

    def check_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        """Check issuer, audience, expiry and not-before with the allowed skew."""
        now = time.time()
        if claims.get("iss") != self.issuer:
            raise TokenError("token issuer is not trusted")
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if self.audience not in auds:
            raise TokenError("token is not meant for this service")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + CLOCK_SKEW < now:
            raise TokenError("token has expired")
        nbf = claims.get("nbf", claims.get("iat"))
        if isinstance(nbf, int | float) and nbf - CLOCK_SKEW > now:
            raise TokenError("token is not valid yet")
        return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Map token claims to a Principal."""
    scope = claims.get("scope", "")
    return Principal(
        subject=str(claims.get("sub", "")),
        client_id=str(claims.get("client_id", "")),
        scopes=frozenset(scope.split() if isinstance(scope, str) else scope),
        region=claims.get("region"),
        acr=claims.get("acr"),
        org=claims.get("org"),
        subject_hash=claims.get("subject_hash"),
        actor=claims.get("act"),
        claims=claims,
    )


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def _principal(request: Request, required: bool) -> Principal | None:
    header = request.headers.get("authorization", "")
    if not header:
        if required:
            raise Problem(
                401, "unauthorized", "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
            )
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.")
    verifier: JWKSVerifier = request.app.state.verifier
    try:
        claims = await verifier.verify(token.strip())
    except TokenError as exc:
        raise _unauthorized(str(exc)) from exc
    principal = principal_from_claims(claims)
    request.state.principal = principal
    return principal


async def get_principal(request: Request) -> Principal:
    """Dependency: the verified caller; 401 without a valid token."""
    principal = await _principal(request, required=True)
    assert principal is not None
    return principal


async def optional_principal(request: Request) -> Principal | None:
    """Dependency: the verified caller if a token was sent (anonymous reads allowed)."""
    return await _principal(request, required=False)


def require_scopes(*scopes: str, any_of: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must hold all (or, with any_of, one) of the scopes."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        ok = any(s in principal.scopes for s in scopes) if any_of else principal.has(*scopes)
        if not ok:
            raise Problem(
                403,
                "insufficient-scope",
                f"This request needs the scope {' or '.join(scopes) if any_of else ' '.join(scopes)}.",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'
                },
            )
        return principal

    return dependency


def require_region(principal: Principal, region: str, action: str) -> None:
    """A platform may act only for its own region (service clients act for all)."""
    if principal.is_service:
        return
    if principal.region != region:
        raise Problem(403, "wrong-region", f"Only the platform of region {region} may {action}.")


PrincipalDep = Annotated[Principal, Depends(get_principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]
