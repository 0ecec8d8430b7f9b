"""Why the hub refuses or fails a query; each carries a stable code the API turns into a problem."""

from __future__ import annotations


class ExchangeError(Exception):
    """Base of the hub's domain errors."""

    status = 400
    code = "exchange-error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class Refusal(ExchangeError):
    """The policy refuses the query (deny by default); always logged."""

    status = 403
    code = "refused"


class RateLimited(ExchangeError):
    """The grant's rate limit is spent."""

    status = 429
    code = "rate-limited"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidRequest(ExchangeError):
    """The request cannot be acted on as given (e.g. the subject's identity number is invalid)."""

    status = 422
    code = "invalid-request"


class NotFound(ExchangeError):
    """The named resource, grant or consent does not exist or is not the caller's."""

    status = 404
    code = "not-found"


class Conflict(ExchangeError):
    """The change contradicts the current state."""

    status = 409
    code = "conflict"


class ProviderError(ExchangeError):
    """The provider could not answer; names the provider."""

    status = 502
    code = "provider-error"

    def __init__(self, detail: str, *, provider: str, code: str | None = None, **extra: object) -> None:
        super().__init__(detail, code=code, **extra)
        self.provider = provider


class ProviderTimeout(ProviderError):
    """The provider did not answer within its timeout."""

    status = 504
    code = "provider-timeout"


class ProviderUnavailable(ProviderError):
    """The provider is down or its circuit breaker is open."""

    status = 503
    code = "provider-unavailable"


class CaseServiceUnavailable(ExchangeError):
    """case-svc could not be asked about the case."""

    status = 503
    code = "case-service-unavailable"
