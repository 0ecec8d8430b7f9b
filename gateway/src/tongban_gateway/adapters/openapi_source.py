"""Fetches the services' OpenAPI documents and keeps the merged one, refreshed lazily."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import orjson
import structlog

from tongban_gateway.adapters.upstream import UpstreamClient, UpstreamError
from tongban_gateway.domain.openapi_merge import merge_documents

log = structlog.get_logger("tongban.gateway.openapi")
MISSING_RETRY_SECONDS = 1.0


class OpenAPISource:
    """Per upstream: (route prefix, instance URLs, client). Fetch failures keep the last good copy."""

    def __init__(
        self,
        base: Mapping[str, Any],
        upstreams: Mapping[str, tuple[str, list[str], UpstreamClient]],
        refresh_seconds: float,
        timeout: float = 3.0,
    ) -> None:
        self.base = base
        self.upstreams = upstreams
        self.refresh_seconds = refresh_seconds
        self.timeout = timeout
        self.documents: dict[str, tuple[str, dict[str, Any]]] = {}
        self._merged = orjson.dumps(merge_documents(base, {}))
        self._refreshed_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _fetch_one(self, service: str, prefix: str, urls: list[str], client: UpstreamClient) -> None:
        for url in urls:
            try:
                async with asyncio.timeout(self.timeout):
                    resp = await client.send(
                        "GET", url + "/openapi.json", [("accept", "application/json")], None, self.timeout
                    )
                    try:
                        body = await resp.read()
                    finally:
                        resp.release()
                if resp.status == 200:
                    doc = orjson.loads(body)
                    if isinstance(doc, dict):
                        self.documents[service] = (prefix, doc)
                        return
            except (UpstreamError, TimeoutError, orjson.JSONDecodeError) as exc:
                log.info("openapi fetch failed", upstream=service, url=url, error=type(exc).__name__)

    async def refresh(self) -> None:
        """Fetch every upstream's document now and rebuild the merged one."""
        self._refreshed_at = time.monotonic()
        await asyncio.gather(
            *(
                self._fetch_one(name, prefix, urls, client)
                for name, (prefix, urls, client) in self.upstreams.items()
            )
        )
        self._merged = orjson.dumps(merge_documents(self.base, self.documents))

    def _refresh_in_background(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.refresh())

    async def merged(self) -> bytes:
        """The merged document: a first or incomplete one waits for a fetch; complete ones refresh behind."""
        if self._refreshed_at == 0.0:
            await self.refresh()
            return self._merged
        age = time.monotonic() - self._refreshed_at
        if len(self.documents) < len(self.upstreams):
            # The start-up fetch usually runs before the services listen: the caller waits for the
            # missing documents (at most the fetch timeout, at most one attempt a second) rather than
            # being handed a document without them.
            if age > MISSING_RETRY_SECONDS or (self._task is not None and not self._task.done()):
                self._refresh_in_background()
                assert self._task is not None
                await asyncio.shield(self._task)
        elif age > self.refresh_seconds:
            self._refresh_in_background()
        return self._merged

    async def close(self) -> None:
        """Stop a refresh still running."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
