"""The one place where domain and service-layer errors become RFC 9457 problems.

Families map to statuses (``NotFoundError`` 404, ``ConflictError`` 409, ``RuleViolation`` 422);
codes become kebab-case like the kit's; field paths are reported in the API's document names, so
``suspension_max_days`` reads ``suspension.max_days`` and ``materials.0.requirement`` reads
``materials.0.required``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tongban_kit.problems import Problem, problem_response

from catalogue_svc.domain.errors import ConflictError, DomainError, FieldError, NotFoundError, RuleViolation
from catalogue_svc.service_layer.documents import document_field
from catalogue_svc.service_layer.errors import PreconditionFailed, PreconditionRequired
from catalogue_svc.service_layer.queries import InvalidCursor

# Model-level rules report no field; these name the field the rule is about.
_FIELD_OF_RULE = {
    "promised_limit_exceeds_statutory": "promised_limit_days",
    "joint_roles_missing": "joint_roles",
    "joint_roles_unexpected": "joint_roles",
    "duplicate_material_code": "materials",
    "condition_missing": "condition",
    "condition_unexpected": "condition",
    "exchange_domain_mismatch": "exchange_domain",
    "licence_type_mismatch": "licence_type",
    "no_copies": "originals",
    "implementation_code": "implementation_code",
}
_MAX_DETAILS = 3


def _kebab(code: str) -> str:
    return code.replace("_", "-")


def _field(error: FieldError) -> str:
    path = "" if error.field == "__root__" else error.field
    suffix = _FIELD_OF_RULE.get(error.code)
    if suffix and not path.endswith(suffix):
        path = f"{path}.{suffix}" if path else suffix
    return document_field(path) if path else "__root__"


def _status(exc: DomainError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, RuleViolation):
        return 422
    return 400


def problem_for(exc: DomainError) -> Problem:
    """The problem document of a domain error."""
    errors: list[dict[str, Any]] = [
        {"field": _field(e), "message": e.message, "type": e.code} for e in exc.errors
    ]
    detail = exc.detail
    if errors and detail.endswith("is invalid"):
        detail += ": " + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:_MAX_DETAILS])
    return Problem(_status(exc), _kebab(exc.code), detail, title=exc.title, errors=errors or None)


def install_catalogue_problem_handlers(app: FastAPI) -> None:
    """Register the handlers on the app (after the kit's, which they refine)."""

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(problem_for(exc), request.url.path)

    async def on_precondition_required(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PreconditionRequired)
        problem = Problem(
            428,
            "if-match-required",
            "This request changes a resource: send If-Match with the ETag of your last read.",
            extra={"current_etag": exc.current_etag},
        )
        return problem_response(problem, request.url.path)

    async def on_precondition_failed(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PreconditionFailed)
        extra = {"current_etag": exc.current_etag} if exc.current_etag else None
        problem = Problem(
            412,
            "stale-etag",
            "The resource changed since you read it (or does not exist yet); read it again and retry "
            "with its new ETag.",
            extra=extra,
        )
        return problem_response(problem, request.url.path)

    async def on_cursor(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(Problem(400, "bad-cursor", str(exc)), request.url.path)

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(PreconditionRequired, on_precondition_required)
    app.add_exception_handler(PreconditionFailed, on_precondition_failed)
    app.add_exception_handler(InvalidCursor, on_cursor)
