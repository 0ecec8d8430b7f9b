"""One HTTP read of catalogue-svc when the item read model misses (catalogue reads need no token)."""

from __future__ import annotations

from typing import Any

import httpx
import structlog

log = structlog.get_logger("case.catalogue")


class CatalogueUnavailable(Exception):
    """catalogue-svc could not be asked."""


class CatalogueClient:
    """GET /v1/items/{basic_code} and /v1/items/{basic_code}/regions/{region} on catalogue-svc."""

    def __init__(
        self, base_url: str, *, timeout: float = 5.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = client

    async def _get(self, path: str) -> dict[str, Any] | None:
        client = self._client or httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await client.get(self.base_url + path, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("catalogue read failed", path=path, error=str(exc))
            raise CatalogueUnavailable(str(exc)) from exc
        finally:
            if self._client is None:
                await client.aclose()
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise CatalogueUnavailable(f"catalogue answered {response.status_code}")
        body = response.json()
        return body if isinstance(body, dict) else None

    async def item(self, basic_code: str) -> dict[str, Any] | None:
        """The current published version of an item, or None when the catalogue has none."""
        return await self._get(f"/v1/items/{basic_code}")

    async def region_offer(self, basic_code: str, region: str) -> dict[str, Any] | None:
        """A region's implementation of an item, or None."""
        return await self._get(f"/v1/items/{basic_code}/regions/{region}")
