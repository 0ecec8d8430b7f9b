"""case-svc over HTTP: ``GET /v1/cases/{id}`` with the hub's own service token, read defensively."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from tongban_kit.tokens import ServiceTokenProvider

from data_exchange_svc.domain.errors import CaseServiceUnavailable
from data_exchange_svc.domain.model import CaseView

log = structlog.get_logger("exchange.case_client")


def _region(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        for key in ("code", "region"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def _participants(value: Any) -> frozenset[str]:
    """``{role: region}``, or a list of regions or of ``{region: ...}`` objects."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for v in value.values():
            region = _region(v)
            if region:
                found.add(region)
    elif isinstance(value, list):
        for v in value:
            region = _region(v)
            if region:
                found.add(region)
    return frozenset(found)


def case_view_from_json(doc: Mapping[str, Any]) -> CaseView:
    """Map case-svc's case JSON to the hub's view, tolerating missing or renamed optional parts."""
    item = doc.get("item_code") or doc.get("basic_code")
    if item is None and isinstance(doc.get("item"), Mapping):
        item = doc["item"].get("basic_code")
    applicant = doc.get("applicant")
    applicant_hash = applicant.get("subject_hash") if isinstance(applicant, Mapping) else None
    participants = _participants(doc.get("participants"))
    tasks = doc.get("tasks")
    if isinstance(tasks, list):
        participants |= _participants([t.get("region") for t in tasks if isinstance(t, Mapping)])
    return CaseView(
        id=str(doc.get("id", "")),
        status=str(doc.get("status", "")),
        item_code=str(item or ""),
        receiving_region=_region(doc.get("receiving_region")),
        handling_region=_region(doc.get("handling_region")),
        participant_regions=participants,
        applicant_subject_hash=applicant_hash if isinstance(applicant_hash, str) else None,
    )


class HttpCaseDirectory:
    """Asks case-svc, caching answers for a few seconds so a burst of queries on one case asks once.

    A case still in use late in its cache life is fetched again in the background (refresh ahead), so
    a busy case never makes a query wait for case-svc; no answer older than ``cache_seconds`` is used.
    """

    def __init__(
        self,
        base_url: str,
        tokens: ServiceTokenProvider,
        client: httpx.AsyncClient,
        *,
        cache_seconds: float = 2.0,
        refresh_after: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.client = client
        self.cache_seconds = cache_seconds
        self.refresh_seconds = cache_seconds * refresh_after
        self._cache: dict[str, tuple[float, CaseView | None]] = {}
        self._inflight: dict[str, asyncio.Future[CaseView | None]] = {}
        self._refreshing: set[asyncio.Task[None]] = set()

    async def get_case(self, case_id: str) -> CaseView | None:
        """The case, or None when case-svc says 404."""
        hit = self._cache.get(case_id)
        if hit is not None:
            age = time.monotonic() - hit[0]
            if age < self.cache_seconds:
                if age >= self.refresh_seconds and case_id not in self._inflight:
                    self._refresh_in_background(case_id)
                return hit[1]
        pending = self._inflight.get(case_id)
        if pending is not None:
            return await asyncio.shield(pending)
        return await self._lookup(case_id)

    def _refresh_in_background(self, case_id: str) -> None:
        async def refresh() -> None:
            # Best effort: the cached answer stays until it expires, then a miss asks and reports.
            try:
                await self._lookup(case_id)
            except CaseServiceUnavailable:
                pass  # already logged by _fetch
            except Exception as exc:  # e.g. the client closed under it at shutdown
                log.warning("case refresh failed", error=type(exc).__name__)

        task = asyncio.get_running_loop().create_task(refresh())
        self._refreshing.add(task)  # held until done, so the task is not collected mid-flight
        task.add_done_callback(self._refreshing.discard)

    async def refreshed(self) -> None:
        """Wait for the background refreshes under way (tests, shutdown)."""
        while self._refreshing:
            await asyncio.gather(*self._refreshing, return_exceptions=True)

    async def _lookup(self, case_id: str) -> CaseView | None:
        future: asyncio.Future[CaseView | None] = asyncio.get_running_loop().create_future()
        self._inflight[case_id] = future
        try:
            view = await self._fetch(case_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(view)
            if self.cache_seconds > 0:
                self._cache[case_id] = (time.monotonic(), view)
                if len(self._cache) > 10_000:
                    self._cache.clear()
            return view
        finally:
            self._inflight.pop(case_id, None)

    async def _fetch(self, case_id: str) -> CaseView | None:
        url = f"{self.base_url}/v1/cases/{quote(case_id, safe='')}"
        try:
            response = await self.client.get(url, headers=await self.tokens.auth_header())
            if response.status_code == 401:
                self.tokens.invalidate()
                response = await self.client.get(url, headers=await self.tokens.auth_header())
        except (httpx.HTTPError, KeyError, ValueError) as exc:  # token endpoint errors included
            log.warning("case-svc unreachable", error=type(exc).__name__)
            raise CaseServiceUnavailable("case-svc could not be reached to check the case.") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            log.warning("case-svc refused the lookup", status=response.status_code)
            raise CaseServiceUnavailable(
                f"case-svc answered {response.status_code} when asked about the case."
            )
        try:
            body = response.json()
        except ValueError as exc:
            raise CaseServiceUnavailable("case-svc answered with something that is not JSON.") from exc
        if not isinstance(body, Mapping):
            raise CaseServiceUnavailable("case-svc answered with an unexpected document.")
        return case_view_from_json(body)
