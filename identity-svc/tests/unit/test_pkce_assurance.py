"""PKCE and assurance-level rules."""

from __future__ import annotations

import base64
import hashlib

import pytest
from identity_svc.domain import pkce
from identity_svc.domain.assurance import Level, achieved_level, amr_for, required_level, satisfies
from identity_svc.domain.errors import OAuthError

VERIFIER = "dBjftJeZ4CVP-mJ92K1e1q-ZWt6q8h2IU3vA3vmY3bQxyz"


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert pkce.s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_verifier_must_hash_to_challenge() -> None:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
    pkce.check_verifier(challenge, VERIFIER)
    with pytest.raises(OAuthError) as wrong:
        pkce.check_verifier(challenge, VERIFIER[:-1] + "A")
    assert wrong.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as missing:
        pkce.check_verifier(challenge, None)
    assert missing.value.error == "invalid_request"
    with pytest.raises(OAuthError) as short:
        pkce.check_verifier(challenge, "too-short")
    assert short.value.error == "invalid_grant"


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (None, "S256"),
        ("", None),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain"),
        ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None),
        ("short", "S256"),
    ],
)
def test_challenge_is_mandatory_and_s256_only(challenge: str | None, method: str | None) -> None:
    with pytest.raises(OAuthError) as err:
        pkce.check_challenge(challenge, method)
    assert err.value.error == "invalid_request"


def test_valid_challenge_is_returned() -> None:
    c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce.check_challenge(c, "S256") == c


def test_levels_from_factors() -> None:
    assert achieved_level(password=False, otp=True, verified_in_person=True) is None
    assert achieved_level(password=True, otp=False, verified_in_person=True) is Level.L1
    assert achieved_level(password=True, otp=True, verified_in_person=False) is Level.L2
    assert achieved_level(password=True, otp=True, verified_in_person=True) is Level.L3
    assert amr_for(Level.L1) == ["pwd"]
    assert "otp" in amr_for(Level.L2)


def test_required_level_is_weakest_listed_and_ignores_unknown() -> None:
    assert required_level(None) is None
    assert required_level("urn:unknown") is None
    assert required_level("L3 L2") is Level.L2
    assert required_level("L3") is Level.L3


def test_satisfies() -> None:
    assert satisfies("L1", None)
    assert not satisfies("L1", Level.L2)
    assert satisfies("L3", Level.L2)
    assert not satisfies(None, Level.L1)
    assert not satisfies("bogus", Level.L1)
