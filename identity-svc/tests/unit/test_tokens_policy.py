"""Audience rule, claim sets, refresh lifetimes, key windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity_svc.domain.keys import KeyStatus, KeyWindow, is_published
from identity_svc.domain.tokens import (
    access_token_claims,
    audience_for,
    exchange_actor,
    half_hash,
    id_token_claims,
    parse_scope,
    refresh_expiry,
)

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def test_audience_rule() -> None:
    assert audience_for(["cases:read", "cases:submit"]) == ["urn:tongban:case"]
    assert audience_for(["catalogue:write", "eseal:verify", "exchange:query", "identity:admin"]) == [
        "urn:tongban:catalogue",
        "urn:tongban:eseal",
        "urn:tongban:exchange",
        "urn:tongban:identity",
    ]
    assert audience_for(["openid", "profile"]) == ["urn:tongban:identity"]
    assert audience_for(["profile", "weird:scope"]) == []


def test_parse_scope_dedupes_and_keeps_order() -> None:
    assert parse_scope("b a b  c") == ["b", "a", "c"]
    assert parse_scope(None) == []


def test_access_claims_are_small_and_omit_empty() -> None:
    claims = access_token_claims(
        issuer="https://x/identity",
        subject="svc-case",
        client_id="svc-case",
        scopes=["cases:read"],
        audience=["urn:tongban:case"],
        jti="j",
        now=NOW,
        ttl=300,
    )
    assert claims["exp"] - claims["iat"] == 300
    assert claims["scope"] == "cases:read"
    assert not {"region", "org", "acr", "subject_hash", "act", "auth_time"} & claims.keys()
    citizen = access_token_claims(
        issuer="i",
        subject="p",
        client_id="platform-440000",
        scopes=["cases:submit"],
        audience=["urn:tongban:case"],
        jti="j",
        now=NOW,
        ttl=300,
        region="440000",
        acr="L2",
        subject_hash="ab",
        act={"sub": "platform-440000"},
    )
    assert citizen["region"] == "440000" and citizen["acr"] == "L2" and citizen["act"]["sub"]


def test_id_token_claims_and_at_hash() -> None:
    claims = id_token_claims(
        issuer="i",
        subject="p",
        client_id="c",
        now=NOW,
        ttl=300,
        auth_time=NOW,
        acr="L1",
        amr=["pwd"],
        nonce="n",
        access_token="token",
    )
    assert claims["aud"] == "c" and claims["nonce"] == "n"
    assert claims["at_hash"] == half_hash("token")
    assert len(half_hash("token")) == 22  # 16 bytes base64url


def test_refresh_expiry_capped_by_family_age() -> None:
    started = NOW - timedelta(days=29, hours=23)
    assert refresh_expiry(NOW, started, 8 * 3600, 30 * 86400) == started + timedelta(days=30)
    assert refresh_expiry(NOW, NOW, 3600, 86400) == NOW + timedelta(hours=1)


def test_exchange_actor_nests_chain() -> None:
    assert exchange_actor("b", {"sub": "a"}) == {"sub": "b", "act": {"sub": "a"}}
    assert exchange_actor("b", None) == {"sub": "b"}


def test_key_window_and_publication() -> None:
    window = KeyWindow(max_token_ttl=300, reload_seconds=30)
    retire = window.retire_after(NOW)
    assert retire == NOW + timedelta(seconds=360)
    assert is_published(KeyStatus.ACTIVE, None, NOW)
    assert is_published(KeyStatus.VERIFY_ONLY, retire, retire - timedelta(seconds=1))
    assert not is_published(KeyStatus.VERIFY_ONLY, retire, retire)
    assert not is_published(KeyStatus.RETIRED, retire, NOW)
