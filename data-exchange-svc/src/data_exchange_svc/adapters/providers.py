"""Providers over HTTP: a signed request, a per-provider timeout and a circuit breaker per provider."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from data_exchange_svc.adapters.signing import HubSigner
from data_exchange_svc.domain.breaker import CircuitBreaker
from data_exchange_svc.domain.errors import ProviderError, ProviderTimeout, ProviderUnavailable
from data_exchange_svc.domain.model import Resource
from data_exchange_svc.service_layer.ports import ProviderAnswer, ProviderRequest

log = structlog.get_logger("exchange.providers")

SIGNATURE_HEADER = "Tongban-Signature"
REQUEST_ID_HEADER = "Tongban-Request-Id"


class HttpProviderGateway:
    """Calls providers; every failure names the provider, and repeated failures open its breaker."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        signer: HubSigner,
        *,
        breaker_failures: int = 5,
        breaker_reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.signer = signer
        self.breaker_failures = breaker_failures
        self.breaker_reset_seconds = breaker_reset_seconds
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, resource: Resource) -> CircuitBreaker:
        """The breaker of one provider (created closed on first use)."""
        breaker = self._breakers.get(resource.id)
        if breaker is None:
            breaker = CircuitBreaker(self.breaker_failures, self.breaker_reset_seconds, self._clock)
            self._breakers[resource.id] = breaker
        return breaker

    def states(self) -> dict[str, str]:
        """Breaker state per resource id (for diagnostics)."""
        return {rid: b.state.value for rid, b in self._breakers.items()}

    async def call(self, resource: Resource, request: ProviderRequest) -> ProviderAnswer:
        """Send the signed request and read the answer."""
        breaker = self.breaker(resource)
        if not breaker.allow():
            raise ProviderUnavailable(
                f"Provider {resource.label} is unavailable: its circuit breaker is open after repeated "
                f"failures; retry in {breaker.retry_after():.0f} s.",
                provider=resource.code,
                code="provider-circuit-open",
                retry_after=breaker.retry_after(),
            )
        body = json.dumps(request.body(), separators=(",", ":"), ensure_ascii=False).encode()
        path = urlsplit(resource.endpoint_url).path or "/"
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: self.signer.sign_request("POST", path, body, resource.code),
            REQUEST_ID_HEADER: request.request_id,
        }
        timeout = resource.timeout_ms / 1000
        try:
            # asyncio.timeout bounds the whole exchange, also over transports that ignore httpx timeouts
            async with asyncio.timeout(timeout):
                response = await self.client.post(
                    resource.endpoint_url, content=body, headers=headers, timeout=timeout
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            breaker.record_failure()
            log.warning("provider timed out", provider=resource.code, timeout_ms=resource.timeout_ms)
            raise ProviderTimeout(
                f"Provider {resource.label} did not answer within {resource.timeout_ms} ms.",
                provider=resource.code,
            ) from exc
        except httpx.HTTPError as exc:
            breaker.record_failure()
            log.warning("provider unreachable", provider=resource.code, error=type(exc).__name__)
            raise ProviderUnavailable(
                f"Provider {resource.label} could not be reached.", provider=resource.code
            ) from exc
        if response.status_code >= 500:
            breaker.record_failure()
            raise ProviderUnavailable(
                f"Provider {resource.label} failed with HTTP {response.status_code}.", provider=resource.code
            )
        breaker.record_success()  # it answered: it is up, even if the answer is a refusal
        if response.status_code == 404:
            return ProviderAnswer(found=False, match=False if request.mode == "verify" else None)
        if response.status_code != 200:
            raise ProviderError(
                f"Provider {resource.label} refused the hub's request with HTTP {response.status_code}.",
                provider=resource.code,
                code="provider-refused",
            )
        return self._answer(resource, request, response)

    @staticmethod
    def _answer(resource: Resource, request: ProviderRequest, response: httpx.Response) -> ProviderAnswer:
        try:
            doc: Any = response.json()
        except ValueError as exc:
            raise ProviderError(
                f"Provider {resource.label} answered with invalid JSON.", provider=resource.code
            ) from exc
        if not isinstance(doc, dict):
            raise ProviderError(
                f"Provider {resource.label} answered with an unexpected document.", provider=resource.code
            )
        found = bool(doc.get("found", True))
        if request.mode == "verify":
            match = doc.get("match")
            if not isinstance(match, bool):
                raise ProviderError(
                    f"Provider {resource.label} gave no yes/no answer.", provider=resource.code
                )
            return ProviderAnswer(found=found, match=match and found)
        record = doc.get("record", {})
        if not isinstance(record, dict):
            raise ProviderError(
                f"Provider {resource.label} answered without a record.", provider=resource.code
            )
        return ProviderAnswer(found=found, record=record)
