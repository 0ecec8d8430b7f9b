"""Domain errors of case-svc; the API maps each to a problem document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One thing wrong with a request, tied to the field it concerns."""

    field: str
    message: str
    code: str


class CaseError(Exception):
    """Base of every rule the case aggregate enforces."""

    code = "case-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class IllegalTransition(CaseError):
    """The action is not possible in the case's current state (HTTP 409)."""

    code = "illegal-transition"

    def __init__(self, action: str, status: str, allowed: Sequence[str], reason: str | None = None) -> None:
        names = ", ".join(allowed) if allowed else "none"
        why = f" ({reason})" if reason else ""
        super().__init__(f"'{action}' is not possible while the case is {status}{why}; allowed now: {names}")
        self.action = action
        self.status = status
        self.allowed = list(allowed)
        self.reason = reason


class WrongSide(CaseError):
    """The action belongs to another side of the case (HTTP 403)."""

    code = "wrong-side"

    def __init__(self, action: str, side: str, allowed: Sequence[str]) -> None:
        super().__init__(f"only the {side} side of the case may '{action}'")
        self.action = action
        self.side = side
        self.allowed = list(allowed)


class RuleViolation(CaseError):
    """The request breaks a business rule; ``issues`` lists every problem at once (HTTP 422)."""

    code = "rule-violation"

    def __init__(self, detail: str, issues: Sequence[Issue] = (), code: str | None = None) -> None:
        super().__init__(detail)
        self.issues = list(issues)
        if code:
            self.code = code
