"""What the handlers need from the outside world: the policy store, case-svc and the providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from data_exchange_svc.domain.model import CaseView, Consent, Grant, Resource


class PolicyStore(Protocol):
    """Reads what a query is checked against."""

    async def policy_inputs(
        self, ref: str, client_id: str, subject_hash: str, case_id: str
    ) -> tuple[Resource | None, list[Grant], list[Consent]]:
        """The resource (by id or code), the client's grants on it, the subject's consents for the case."""
        ...


class CaseDirectory(Protocol):
    """Looks up a case in case-svc."""

    async def get_case(self, case_id: str) -> CaseView | None:
        """The case, or None when case-svc does not know it; raises CaseServiceUnavailable."""
        ...


@dataclass(frozen=True, slots=True)
class ProviderRequest:
    """What the hub asks a provider (the only place the identity number travels)."""

    request_id: str
    mode: str
    subject_id_number: str
    case_id: str
    item_code: str
    client_id: str
    fields: list[str] = field(default_factory=list)
    fact: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The JSON body sent to the provider."""
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "mode": self.mode,
            "subject_id_number": self.subject_id_number,
            "case_id": self.case_id,
            "item_code": self.item_code,
            "client_id": self.client_id,
        }
        if self.mode == "share":
            out["fields"] = self.fields
        else:
            out["fact"] = self.fact
        return out


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """The provider's answer: a record (share) or a match (verify)."""

    found: bool
    record: dict[str, Any] = field(default_factory=dict)
    match: bool | None = None


class ProviderGateway(Protocol):
    """Calls a provider with a signed request, within its timeout, behind its circuit breaker."""

    async def call(self, resource: Resource, request: ProviderRequest) -> ProviderAnswer:
        """Ask the provider; raises ProviderTimeout, ProviderUnavailable or ProviderError."""
        ...
