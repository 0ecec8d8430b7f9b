"""Domain errors of the catalogue; each carries a stable ``code`` and falls in one of three families.

The API maps the families to problems: ``ConflictError`` → 409, ``RuleViolation`` → 422,
``NotFoundError`` → 404. ``errors`` lists the offending fields, for the problem's ``errors`` member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: a dotted path, a readable message and a machine code."""

    field: str
    message: str
    code: str


class DomainError(Exception):
    """Base of every catalogue domain error."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Catalogue rule violated"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: tuple[FieldError, ...] = tuple(errors)


class ConflictError(DomainError):
    """The request contradicts the current state of the resource (409)."""


class RuleViolation(DomainError):
    """The request is well-formed but breaks a catalogue rule (422)."""


class NotFoundError(DomainError):
    """A referenced version or resource does not exist (404)."""


class InvalidBasicCode(RuleViolation):
    """A basic code does not follow the catalogue's code rule."""

    code = "invalid_basic_code"
    title = "Invalid basic code"


class InvalidItemContent(RuleViolation):
    """Item content failed validation; ``errors`` lists every problem at once."""

    code = "invalid_item"
    title = "Invalid item"


class InvalidImplementation(RuleViolation):
    """A region implementation failed validation; ``errors`` lists every problem at once."""

    code = "invalid_implementation"
    title = "Invalid region implementation"


class InvalidFaq(RuleViolation):
    """A FAQ entry failed validation."""

    code = "invalid_faq"
    title = "Invalid FAQ entry"


class PromisedLimitExceedsStatutory(RuleViolation):
    """A region promised a time limit longer than the national statutory limit."""

    code = "promised_limit_exceeds_statutory"
    title = "Promised limit exceeds the statutory limit"


class ModeNotOffered(RuleViolation):
    """A region offers a handling mode the national item does not allow."""

    code = "mode_not_offered"
    title = "Handling mode not allowed for this item"


class UnknownJointRole(RuleViolation):
    """A region claims a joint-handling role the national item does not define."""

    code = "unknown_joint_role"
    title = "Unknown joint-handling role"


class VersionImmutable(ConflictError):
    """A published or retired version was asked to change."""

    code = "version_immutable"
    title = "Version is immutable"


class DraftExists(ConflictError):
    """A new draft was requested while one is still open."""

    code = "draft_exists"
    title = "A draft already exists"


class NoDraft(ConflictError):
    """Publishing was requested but there is no draft."""

    code = "no_draft"
    title = "No draft to publish"


class NotPublished(ConflictError):
    """Retiring was requested but no version is currently valid."""

    code = "not_published"
    title = "Item is not published"


class ValidityOverlap(ConflictError):
    """Two versions' validity windows would overlap, or a window would be empty."""

    code = "validity_overlap"
    title = "Validity windows overlap"


class VersionNotFound(NotFoundError):
    """The requested version number does not exist."""

    code = "version_not_found"
    title = "Version not found"


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Turn a pydantic ValidationError into field errors with dotted paths."""
    out: list[FieldError] = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "__root__"
        out.append(FieldError(field=path, message=err["msg"], code=err["type"]))
    return out
