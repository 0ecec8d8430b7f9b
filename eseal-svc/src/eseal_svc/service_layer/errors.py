"""Failures the service layer reports beyond domain rules; the API turns each into a problem document."""

from __future__ import annotations


class ServiceError(Exception):
    """Base: an HTTP status, a stable code and a detail safe to show."""

    status = 400
    code = "bad-request"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class NotFound(ServiceError):
    """The resource does not exist or the caller may not see it."""

    status = 404
    code = "not-found"


class Forbidden(ServiceError):
    """The caller may not do this to this resource."""

    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    """The resource's state does not allow the request."""

    status = 409
    code = "conflict"


class Unprocessable(ServiceError):
    """The request is well-formed but cannot be carried out as given."""

    status = 422
    code = "unprocessable"


class StaleVersion(ServiceError):
    """Someone changed the resource since the caller read it."""

    status = 412
    code = "stale-etag"
