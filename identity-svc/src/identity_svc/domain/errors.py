"""Domain errors of identity-svc: OAuth errors (RFC 6749 codes) and account/client rule violations."""

from __future__ import annotations


class OAuthError(Exception):
    """An OAuth 2.0 error answered as ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def invalid_request(description: str) -> OAuthError:
    """The request is missing or repeats a parameter, or is otherwise malformed."""
    return OAuthError("invalid_request", description)


def invalid_client(description: str = "client authentication failed") -> OAuthError:
    """Client authentication failed (401 per RFC 6749 section 5.2)."""
    return OAuthError("invalid_client", description, 401)


def invalid_grant(description: str) -> OAuthError:
    """The code, refresh token or subject token is invalid, expired, revoked or mismatched."""
    return OAuthError("invalid_grant", description)


def unauthorized_client(description: str) -> OAuthError:
    """The client may not use this grant type."""
    return OAuthError("unauthorized_client", description)


def invalid_scope(description: str) -> OAuthError:
    """The requested scope is unknown or exceeds what the client may ask for."""
    return OAuthError("invalid_scope", description)


class DomainError(Exception):
    """A rule violation outside the OAuth protocol; carries a stable code for problem documents."""

    code = "domain-error"
    status = 422

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidIdentity(DomainError):
    """An identity number, credit code, name or phone number is not valid."""

    code = "invalid-identifier"


class DuplicateAccount(DomainError):
    """A username or identity number is already registered."""

    code = "already-registered"
    status = 409


class InvalidClient(DomainError):
    """A client registration breaks a rule (grant types, redirect URIs, scopes, keys)."""

    code = "invalid-client-registration"


class VerificationRefused(DomainError):
    """An in-person verification does not match the account."""

    code = "verification-refused"
