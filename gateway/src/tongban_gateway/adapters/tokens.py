"""Access-token checks at the gateway: the kit's JWKS verifier plus a per-route audience and a cache."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import httpx
import structlog
from tongban_kit.auth import CLOCK_SKEW, JWKSVerifier, TokenError

log = structlog.get_logger("tongban.gateway.tokens")


class GatewayVerifier(JWKSVerifier):
    """Accepts any mesh audience in the signature step; ``verify_for`` then demands the route's one.

    Verified tokens are cached by their full text (signature included, so a forged token never
    hits the cache) until they expire; the cache is dropped when the key set changes.
    """

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audiences: Iterable[str],
        *,
        client: httpx.AsyncClient | None = None,
        cache_seconds: float = 300.0,
        cache_size: int = 10_000,
    ) -> None:
        self.audiences = frozenset(audiences)
        super().__init__(
            jwks_url, issuer, next(iter(sorted(self.audiences))), client=client, cache_seconds=cache_seconds
        )
        self.cache_size = cache_size
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.last_fetch_ok = False

    def set_keys(self, jwks: dict[str, Any]) -> None:
        """Install a key set; tokens verified with a key that has gone are forgotten."""
        old = set(self._kids)
        super().set_keys(jwks)
        if old and not old <= self._kids:
            self._cache.clear()

    async def _fetch(self) -> None:
        try:
            await super()._fetch()
            self.last_fetch_ok = True
        except (httpx.HTTPError, ValueError):
            self.last_fetch_ok = False
            if self._keys is not None:
                # Keep the old keys and wait before trying again, instead of every request
                # queueing behind a fetch that keeps failing while identity is down.
                self._fetched_at = time.monotonic() - self.cache_seconds + self.min_refresh_interval
            raise

    async def refresh(self) -> bool:
        """Fetch the key set now (background refresh, readiness); True when it worked."""
        try:
            async with self._lock:
                await self._fetch()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("jwks refresh failed", url=self.jwks_url, error=type(exc).__name__)
            return False
        return True

    def check_claims(self, claims: dict[str, Any]) -> dict[str, Any]:
        """Issuer, expiry and not-before as the kit checks them; the audience must be one of the mesh's."""
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not self.audiences.intersection(a for a in auds if isinstance(a, str)):
            raise TokenError("token is not meant for this platform")
        # The audience was checked above against every mesh audience; the kit checks the rest on a
        # copy, and the caller gets the claims as signed (verify_for checks the route's audience).
        super().check_claims({**claims, "aud": self.audience})
        return claims

    async def verify_for(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a valid token meant for ``audience``, or TokenError."""
        claims = self._cache.get(token)
        if claims is not None:
            if claims["exp"] + CLOCK_SKEW < time.time():
                self._cache.pop(token, None)
                raise TokenError("token has expired")
        else:
            claims = await self.verify(token)
            if self.cache_size:
                self._cache[token] = claims
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        aud = claims.get("aud")
        if audience != aud and (not isinstance(aud, list) or audience not in aud):
            raise TokenError(f"token is not meant for {audience}")
        return claims
