"""Signing keys and access tokens for tests of a service without a running identity-svc."""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from tongban_kit.ids import new_id

DEFAULT_ISSUER = "http://127.0.0.1:8000/identity"


class TokenMinter:
    """Mints RFC 9068 access tokens with an ES256 key whose JWKS tests install in a verifier."""

    def __init__(self, issuer: str = DEFAULT_ISSUER, kid: str | None = None) -> None:
        self.issuer = issuer
        self.key = ECKey.generate_key(
            "P-256", parameters={"kid": kid or new_id(), "use": "sig", "alg": "ES256"}
        )

    @property
    def kid(self) -> str:
        """The key id in token headers."""
        return str(self.key.kid)

    @property
    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        return {"keys": [self.key.as_dict(private=False)]}

    def mint(
        self,
        scopes: str | list[str],
        *,
        audience: str | list[str],
        client_id: str = "test-client",
        subject: str | None = None,
        region: str | None = None,
        acr: str = "L1",
        expires_in: int = 300,
        typ: str = "at+jwt",
        **claims: Any,
    ) -> str:
        """An access token with the given scopes and claims."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject or client_id,
            "aud": audience,
            "client_id": client_id,
            "scope": scopes if isinstance(scopes, str) else " ".join(scopes),
            "acr": acr,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "jti": new_id(),
        }
        if region:
            payload["region"] = region
        payload.update(claims)
        header = {"alg": "ES256", "typ": typ, "kid": self.kid}
        return jwt.encode(header, payload, self.key)
