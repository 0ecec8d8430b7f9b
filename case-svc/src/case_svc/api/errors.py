"""Map domain and handler errors to RFC 9457 problems."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tongban_kit.problems import Problem, problem_response

from case_svc.domain.errors import IllegalTransition, RuleViolation, WrongSide
from case_svc.service_layer.handlers import (
    CaseNotFound,
    ItemUnavailable,
    PreconditionFailed,
    PreconditionRequired,
    UploadRejected,
)
from case_svc.service_layer.queries import ForbiddenFilter


def to_problem(exc: Exception) -> Problem:
    """The problem document for a known error."""
    if isinstance(exc, CaseNotFound):
        return Problem(404, "not-found", "No such case is visible to you.")
    if isinstance(exc, PreconditionRequired):
        return Problem(428, "if-match-required", "This request changes a case: send If-Match with its ETag.")
    if isinstance(exc, PreconditionFailed):
        extra = {"current_etag": exc.current_etag} if exc.current_etag else None
        return Problem(
            412,
            "stale-etag",
            "The case changed since you read it; read it again and retry with its new ETag.",
            extra=extra,
        )
    if isinstance(exc, IllegalTransition):
        return Problem(
            409, exc.code, exc.detail, extra={"status_now": exc.status, "allowed_actions": exc.allowed}
        )
    if isinstance(exc, WrongSide):
        return Problem(403, exc.code, exc.detail, extra={"side": exc.side, "allowed_actions": exc.allowed})
    if isinstance(exc, RuleViolation):
        errors = [{"field": i.field, "message": i.message, "type": i.code} for i in exc.issues]
        status = 403 if exc.code == "wrong-side" else 422
        return Problem(status, exc.code, exc.detail, errors=errors or None)
    if isinstance(exc, ItemUnavailable):
        return Problem(
            503, "catalogue-unavailable", "The item is not known yet and the catalogue is unreachable."
        )
    if isinstance(exc, UploadRejected):
        return Problem(exc.status, exc.code, exc.detail)
    if isinstance(exc, ForbiddenFilter):
        return Problem(403, "wrong-region", str(exc))
    raise exc


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping for every error class above."""

    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(to_problem(exc), request.url.path)

    for cls in (
        CaseNotFound,
        PreconditionRequired,
        PreconditionFailed,
        IllegalTransition,
        WrongSide,
        RuleViolation,
        ItemUnavailable,
        UploadRejected,
        ForbiddenFilter,
    ):
        app.add_exception_handler(cls, handler)
