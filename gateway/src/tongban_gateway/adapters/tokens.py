"""Access-token checks at the gateway: the kit's JWKS verifier plus a per-route audience and a cache."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx
import structlog
from tongban_kit.auth import JWKSVerifier, TokenError

log = structlog.get_logger("tongban.gateway.tokens")


class GatewayVerifier(JWKSVerifier):
    """Accepts any mesh audience in the signature step; ``verify_for`` then demands the route's one.

    Verified tokens are cached by the kit's verifier (by their full text, so a forged token never
    hits the cache) until they expire or their key leaves the key set.
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
            jwks_url,
            issuer,
            next(iter(sorted(self.audiences))),
            client=client,
            cache_seconds=cache_seconds,
            verified_cache_size=cache_size,
        )
        self.last_fetch_ok = False

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
        claims = await self.verify(token)
        aud = claims.get("aud")
        if audience != aud and (not isinstance(aud, list) or audience not in aud):
            raise TokenError(f"token is not meant for {audience}")
        return claims
