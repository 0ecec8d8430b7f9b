"""The kit's token verifier fed from this process's own key store instead of an HTTP JWKS fetch."""

from __future__ import annotations

from tongban_kit.auth import JWKSVerifier

from identity_svc.adapters.keystore import KeyStore


class LocalVerifier(JWKSVerifier):
    """Verifies access tokens for identity's own API; keys come from memory, so no self-call."""

    def __init__(self, keys: KeyStore, issuer: str, audience: str) -> None:
        super().__init__("local:keystore", issuer, audience, cache_seconds=5.0, min_refresh_interval=0.0)
        self._store = keys
        self.set_keys(keys.jwks())

    async def _fetch(self) -> None:
        self.set_keys(self._store.jwks())
