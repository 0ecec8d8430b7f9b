"""Account and client registration rules."""

from __future__ import annotations

from typing import Any

import pytest
from identity_svc.domain.accounts import (
    LegalPerson,
    NaturalPerson,
    Representative,
    RepresentativeRole,
    check_password_strength,
    mask_phone,
    normalise_name,
    normalise_phone,
    normalise_resident_id,
    normalise_uscc,
    normalise_username,
)
from identity_svc.domain.assurance import Level
from identity_svc.domain.clients import AuthMethod, Client, ClientKind, GrantType, parse_grant_type
from identity_svc.domain.errors import InvalidClient, InvalidIdentity, OAuthError, VerificationRefused

GOOD_ID = "110101199003074477"


def test_resident_id_check_digit() -> None:
    assert normalise_resident_id(" 110101199003074477 ") == GOOD_ID
    with pytest.raises(InvalidIdentity, match="check digit"):
        normalise_resident_id("110101199003074478")
    with pytest.raises(InvalidIdentity, match="birth date"):
        normalise_resident_id("110101199002304470")


def test_uscc_check_character() -> None:
    assert normalise_uscc("91110108ma01dem011") == "91110108MA01DEM011"
    with pytest.raises(InvalidIdentity):
        normalise_uscc("91110108MA01DEM012")


def test_names_usernames_phones_passwords() -> None:
    assert normalise_name("  张三 ") == "张三"
    with pytest.raises(InvalidIdentity):
        normalise_name("a\x00b")
    assert normalise_username("ZhangSan") == "zhangsan"
    with pytest.raises(InvalidIdentity):
        normalise_username("1abc")
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    with pytest.raises(InvalidIdentity):
        normalise_phone("12345")
    assert mask_phone("13800138000") == "138****8000"
    check_password_strength("Demo-pass-2026", username="zhangsan")
    for bad in ("short", "12345678901", "my-zhangsan-pw"):
        with pytest.raises(InvalidIdentity):
            check_password_strength(bad, username="zhangsan")


def test_in_person_verification_needs_the_same_number() -> None:
    person = NaturalPerson("p", "zhangsan", "张三", GOOD_ID, "h")
    assert person.masked_resident_id == "110101********4477"
    with pytest.raises(VerificationRefused):
        person.verify_in_person("310104198506123025")
    assert person.verification_level is Level.L1
    person.verify_in_person(GOOD_ID)
    assert person.verification_level.value == "L3"
    assert person.version == 2


def test_one_legal_representative() -> None:
    lp = LegalPerson("l", "Co", "91110108MA01DEM011")
    lp.add_representative(Representative("a", RepresentativeRole.LEGAL_REPRESENTATIVE))
    lp.add_representative(Representative("b", RepresentativeRole.AGENT))
    with pytest.raises(InvalidIdentity):
        lp.add_representative(Representative("b", RepresentativeRole.LEGAL_REPRESENTATIVE))
    lp.add_representative(Representative("a", RepresentativeRole.AGENT))
    assert {r.person_id: r.role for r in lp.representatives}["a"] is RepresentativeRole.AGENT


def platform(**kw: object) -> Client:
    base: dict[str, object] = {
        "client_id": "platform-440000",
        "name": "GD",
        "kind": ClientKind.PLATFORM,
        "grant_types": [GrantType.AUTHORIZATION_CODE, GrantType.CLIENT_CREDENTIALS],
        "scopes": ["cases:submit"],
        "auth_method": AuthMethod.CLIENT_SECRET_BASIC,
        "region": "440000",
        "org": "11440000MB4400001J",
        "redirect_uris": ["https://gd.example/cb"],
    }
    base.update(kw)
    return Client(**base)  # type: ignore[arg-type]


def test_client_validation_rules() -> None:
    platform().validate()
    cases: list[dict[str, Any]] = [
        {"region": "449999"},
        {"org": "11440000MB4400001K"},
        {"redirect_uris": []},
        {"redirect_uris": ["http://gd.example/cb"]},
        {"redirect_uris": ["https://gd.example/cb#frag"]},
        {"scopes": ["cases:everything"]},
        {"auth_method": AuthMethod.PRIVATE_KEY_JWT},
        {"auth_method": AuthMethod.PRIVATE_KEY_JWT, "jwks": {"keys": [{"kty": "EC", "d": "secret"}]}},
        {"auth_method": AuthMethod.NONE},
        {"client_id": "svc-evil"},
        {"client_id": "A!"},
    ]
    for change in cases:
        with pytest.raises(InvalidClient):
            platform(**change).validate()
    platform(redirect_uris=["http://127.0.0.1:8765/callback"]).validate()


def test_grant_and_scope_checks() -> None:
    client = platform()
    with pytest.raises(OAuthError) as err:
        client.allows(GrantType.TOKEN_EXCHANGE)
    assert err.value.error == "unauthorized_client"
    assert client.grant_scopes(None, default_all=True) == ["cases:submit"]
    assert client.grant_scopes("openid cases:submit", default_all=False) == ["openid", "cases:submit"]
    with pytest.raises(OAuthError) as bad:
        client.grant_scopes("cases:handle", default_all=True)
    assert bad.value.error == "invalid_scope"
    with pytest.raises(OAuthError):
        client.grant_scopes(None, default_all=False)
    assert parse_grant_type("token-exchange") is GrantType.TOKEN_EXCHANGE
    with pytest.raises(InvalidClient):
        parse_grant_type("password")
