"""PKCE (RFC 7636), S256 only: a plain challenge would hand the code's secret to the network."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from identity_svc.domain.errors import invalid_grant, invalid_request

METHOD = "S256"
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    """The S256 challenge of a verifier: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check_challenge(challenge: str | None, method: str | None) -> str:
    """Validate the challenge of an authorization request; PKCE is mandatory."""
    if not challenge:
        raise invalid_request("code_challenge is required (PKCE with S256)")
    if (method or "plain") != METHOD:
        raise invalid_request("code_challenge_method must be S256")
    if not _CHALLENGE_RE.match(challenge):
        raise invalid_request("code_challenge is not a base64url SHA-256 value")
    return challenge


def check_verifier(challenge: str, verifier: str | None) -> None:
    """The token request's verifier must hash to the stored challenge."""
    if not verifier:
        raise invalid_request("code_verifier is required")
    if not _VERIFIER_RE.match(verifier):
        raise invalid_grant("code_verifier is malformed")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise invalid_grant("code_verifier does not match the code_challenge")
