"""Service tokens: each service calls others with its own client-credentials token, cached."""

from __future__ import annotations

import asyncio
import time

import httpx


class ServiceTokenProvider:
    """Fetches and caches a client-credentials access token until shortly before it expires."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._client = client
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token, refreshed 30 s before expiry."""
        if self._token and time.monotonic() < self._expires_at - 30:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires_at - 30:
                return self._token
            client = self._client or httpx.AsyncClient(timeout=10.0)
            try:
                resp = await client.post(
                    self.token_url,
                    data={"grant_type": "client_credentials", "scope": self.scope},
                    auth=(self.client_id, self.client_secret),
                )
                resp.raise_for_status()
                body = resp.json()
            finally:
                if self._client is None:
                    await client.aclose()
            self._token = str(body["access_token"])
            self._expires_at = time.monotonic() + float(body.get("expires_in", 300))
            return self._token

    async def auth_header(self) -> dict[str, str]:
        """The Authorization header for an outgoing call."""
        return {"Authorization": f"Bearer {await self.token()}"}

    def invalidate(self) -> None:
        """Forget the token (after a 401 from the callee)."""
        self._token = None
