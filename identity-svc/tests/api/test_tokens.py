"""Token endpoint grants, refresh rotation, introspection, revocation, key rotation, kit verification."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from identity_svc.service_layer import dev_realm
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey
from tongban_kit.auth import JWKSVerifier, TokenError, principal_from_claims
from tongban_kit.tokens import ServiceTokenProvider

SERVICES = {
    "svc-case": "urn:tongban:case",
    "svc-catalogue": "urn:tongban:case",
    "svc-exchange": "urn:tongban:case",
    "svc-eseal": "urn:tongban:eseal",
    "svc-gateway": "urn:tongban:case",
    "svc-identity": "urn:tongban:case",
}


async def _jwks(harness: Any) -> dict[str, Any]:
    response = await harness.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    jwks: dict[str, Any] = response.json()
    return jwks


async def test_service_tokens_pass_the_kit_verifier(harness: Any) -> None:
    jwks = await _jwks(harness)
    for client_id, audience in SERVICES.items():
        token = await harness.access_token(client_id, dev_realm.DEV_SERVICE_SECRET)
        verifier = JWKSVerifier("http://unused.invalid/jwks", harness.settings.issuer, audience)
        verifier.set_keys(jwks)
        claims = await verifier.verify(token)
        principal = principal_from_claims(claims)
        assert principal.client_id == client_id and principal.is_service
        assert principal.region is None and claims["sub"] == client_id
        assert len(token) < 700  # small tokens keep verification cheap
        wrong = JWKSVerifier("http://unused.invalid/jwks", harness.settings.issuer, "urn:tongban:catalogue")
        wrong.set_keys(jwks)
        with pytest.raises(TokenError):
            await wrong.verify(token)


async def test_platform_token_carries_region_and_org(harness: Any, helpers: Any) -> None:
    token = await harness.access_token(helpers.PLATFORM, helpers.PLATFORM_SECRET, "cases:submit eseal:sign")
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["region"] == "440000" and claims["org"] == dev_realm.platform_org("440000")
    assert claims["aud"] == ["urn:tongban:case", "urn:tongban:eseal"]
    assert claims["iss"] == harness.issuer
    assert claims["exp"] - claims["iat"] == 300 and claims["jti"]


async def test_client_credentials_errors_are_rfc6749(harness: Any, helpers: Any) -> None:
    bad_secret = await harness.token("svc-case", "wrong")
    assert bad_secret.status_code == 401 and bad_secret.json()["error"] == "invalid_client"
    assert bad_secret.headers["www-authenticate"].startswith("Basic")
    unknown = await harness.token("nobody", "x")
    assert unknown.json()["error"] == "invalid_client"
    scope = await harness.token("svc-case", dev_realm.DEV_SERVICE_SECRET, "cases:submit")
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    openid = await harness.token(helpers.PLATFORM, helpers.PLATFORM_SECRET, "openid")
    assert openid.json()["error"] == "invalid_scope"
    grant = await harness.client.post(
        "/oauth2/token", data={"grant_type": "password"}, auth=("svc-case", dev_realm.DEV_SERVICE_SECRET)
    )
    assert grant.json()["error"] == "unsupported_grant_type"
    not_form = await harness.client.post("/oauth2/token", json={"grant_type": "client_credentials"})
    assert not_form.json()["error"] == "invalid_request"
    repeated = await harness.client.post(
        "/oauth2/token",
        content="grant_type=client_credentials&scope=cases:read&scope=cases:read",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=("svc-case", dev_realm.DEV_SERVICE_SECRET),
    )
    assert repeated.json()["error"] == "invalid_request"
    post_auth = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "svc-case",
            "client_secret": dev_realm.DEV_SERVICE_SECRET,
        },
    )
    assert post_auth.status_code == 200  # client_secret_post works too
    wrong_grant = await harness.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=("svc-case", dev_realm.DEV_SERVICE_SECRET),
    )
    assert wrong_grant.json()["error"] == "unauthorized_client"


async def test_refresh_rotation_and_reuse_revokes_the_family(harness: Any, helpers: Any) -> None:
    first = await harness.code_flow("zhangsan")
    auth = (helpers.PLATFORM, helpers.PLATFORM_SECRET)
    second = await harness.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=auth,
    )
    assert second.status_code == 200
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    # The rotated-out token comes back: someone else holds a copy, so the whole family dies.
    reuse = await harness.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=auth,
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    latest = await harness.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": second_body["refresh_token"]},
        auth=auth,
    )
    assert latest.json()["error"] == "invalid_grant"
    svc = ("svc-case", dev_realm.DEV_SERVICE_SECRET)
    for token in (second_body["access_token"], first["access_token"], second_body["refresh_token"]):
        info = await harness.client.post("/oauth2/introspect", data={"token": token}, auth=svc)
        assert info.json() == {"active": False}
    revoked = await harness.events("token-revoked.v1")
    assert revoked[-1]["data"]["reason"] == "refresh-token-reuse"


async def test_refresh_may_narrow_scope_only(harness: Any, helpers: Any) -> None:
    tokens = await harness.code_flow("zhangsan")
    auth = (helpers.PLATFORM, helpers.PLATFORM_SECRET)
    wider = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "cases:handle",
        },
        auth=auth,
    )
    assert wider.json()["error"] == "invalid_scope"
    other_client = await harness.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("platform-110000", helpers.PLATFORM_SECRET),
    )
    assert other_client.json()["error"] == "invalid_grant"
    narrow = await harness.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "scope": "openid"},
        auth=auth,
    )
    assert narrow.status_code == 200 and narrow.json()["scope"] == "openid"


async def test_introspection_and_revocation(harness: Any, helpers: Any) -> None:
    svc = ("svc-case", dev_realm.DEV_SERVICE_SECRET)
    token = await harness.access_token(helpers.PLATFORM, helpers.PLATFORM_SECRET, "cases:read")
    active = await harness.client.post("/oauth2/introspect", data={"token": token}, auth=svc)
    body = active.json()
    assert body["active"] is True and body["client_id"] == helpers.PLATFORM and body["region"] == "440000"
    # Another platform may not introspect (or revoke) this platform's token.
    other = await harness.client.post(
        "/oauth2/introspect", data={"token": token}, auth=("platform-110000", helpers.PLATFORM_SECRET)
    )
    assert other.json() == {"active": False}
    foreign = await harness.client.post(
        "/oauth2/revoke", data={"token": token}, auth=("platform-110000", helpers.PLATFORM_SECRET)
    )
    assert foreign.status_code == 200
    still = await harness.client.post("/oauth2/introspect", data={"token": token}, auth=svc)
    assert still.json()["active"] is True
    revoke = await harness.client.post(
        "/oauth2/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET),
    )
    assert revoke.status_code == 200
    after = await harness.client.post("/oauth2/introspect", data={"token": token}, auth=svc)
    assert after.json() == {"active": False}
    garbage = await harness.client.post("/oauth2/introspect", data={"token": "not-a-token"}, auth=svc)
    assert garbage.json() == {"active": False}
    anonymous = await harness.client.post("/oauth2/introspect", data={"token": token})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    unknown = await harness.client.post(
        "/oauth2/revoke", data={"token": "unknown"}, auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET)
    )
    assert unknown.status_code == 200  # RFC 7009: unknown tokens are not an error
    events = await harness.events("token-revoked.v1")
    assert len(events) == 1 and events[0]["data"]["reason"] == "client-request"


async def test_revoking_a_refresh_token_revokes_its_family(harness: Any, helpers: Any) -> None:
    tokens = await harness.code_flow("zhangsan")
    auth = (helpers.PLATFORM, helpers.PLATFORM_SECRET)
    svc = ("svc-case", dev_realm.DEV_SERVICE_SECRET)
    introspected = await harness.client.post(
        "/oauth2/introspect", data={"token": tokens["refresh_token"]}, auth=svc
    )
    assert introspected.json()["active"] is True and introspected.json()["token_type"] == "refresh_token"
    await harness.client.post("/oauth2/revoke", data={"token": tokens["refresh_token"]}, auth=auth)
    for token in (tokens["refresh_token"], tokens["access_token"]):
        info = await harness.client.post("/oauth2/introspect", data={"token": token}, auth=svc)
        assert info.json() == {"active": False}


async def test_rotated_key_verifies_old_tokens_until_they_expire(harness: Any) -> None:
    old_token = await harness.access_token("svc-case", dev_realm.DEV_SERVICE_SECRET)
    old_kid = pyjwt.get_unverified_header(old_token)["kid"]
    headers = await harness.admin_headers()
    rotated = await harness.client.post("/v1/keys/rotate", headers=headers)
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["previous_kids"] == [old_kid]
    new_token = await harness.access_token("svc-case", dev_realm.DEV_SERVICE_SECRET)
    assert pyjwt.get_unverified_header(new_token)["kid"] == rotated.json()["kid"] != old_kid

    jwks = await _jwks(harness)
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, rotated.json()["kid"]}
    verifier = JWKSVerifier("http://unused.invalid/jwks", harness.settings.issuer, "urn:tongban:case")
    verifier.set_keys(jwks)
    assert (await verifier.verify(old_token))["jti"]
    assert (await verifier.verify(new_token))["jti"]

    listed = await harness.client.get("/v1/keys", headers=headers)
    statuses = {k["kid"]: k["status"] for k in listed.json()["items"]}
    assert statuses == {old_kid: "verify_only", rotated.json()["kid"]: "active"}

    # Until the last token the old key signed has expired (TTL + skew + reload), it stays published...
    real = harness.ctx.clock
    start = real()
    harness.ctx.clock = lambda: start + timedelta(seconds=300)
    assert old_kid in {k["kid"] for k in (await _jwks(harness))["keys"]}
    # ...then it is gone, and a verifier with the new JWKS no longer accepts the old key.
    harness.ctx.clock = lambda: start + timedelta(seconds=300 + 30 + 30 + 1)
    later = await _jwks(harness)
    assert {k["kid"] for k in later["keys"]} == {rotated.json()["kid"]}
    fresh = JWKSVerifier("http://unused.invalid/jwks", harness.settings.issuer, "urn:tongban:case")
    fresh.set_keys(later)
    with pytest.raises(TokenError):
        await fresh.verify(old_token)
    harness.ctx.clock = real
    rotated_events = await harness.events("key-rotated.v1")
    assert rotated_events[-1]["data"]["previous_kids"] == [old_kid]


async def test_key_rotation_needs_identity_admin(harness: Any) -> None:
    anonymous = await harness.client.post("/v1/keys/rotate")
    assert anonymous.status_code == 401
    token = await harness.access_token("svc-case", dev_realm.DEV_SERVICE_SECRET)
    other_audience = await harness.client.post(
        "/v1/keys/rotate", headers={"Authorization": f"Bearer {token}"}
    )
    assert other_audience.status_code == 401  # a case token is not meant for identity at all
    citizen = (await harness.code_flow("zhangsan"))["access_token"]  # aud identity, no identity:admin
    forbidden = await harness.client.post("/v1/keys/rotate", headers={"Authorization": f"Bearer {citizen}"})
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"


async def test_token_exchange_adds_act_for_the_platform(harness: Any, helpers: Any) -> None:
    tokens = await harness.code_flow("zhangsan", scope="openid profile")
    auth = (helpers.PLATFORM, helpers.PLATFORM_SECRET)
    exchanged = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": tokens["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "scope": "cases:submit",
        },
        auth=auth,
    )
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    id_claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["sub"] == id_claims["sub"] and claims["act"] == {"sub": helpers.PLATFORM}
    assert claims["aud"] == ["urn:tongban:case"] and claims["subject_hash"] and claims["acr"] == "L1"
    principal = principal_from_claims(claims)
    assert principal.actor_record() == {
        "client_id": helpers.PLATFORM,
        "region": "440000",
        "on_behalf_of": claims["sub"],
    }
    # With the ID token as subject token too.
    by_id = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": tokens["id_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "scope": "cases:submit",
        },
        auth=auth,
    )
    assert by_id.status_code == 200
    # Another platform cannot turn this person's token into its own delegation.
    stolen = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": tokens["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        auth=("platform-110000", helpers.PLATFORM_SECRET),
    )
    assert stolen.json()["error"] == "invalid_grant"
    service_subject = await harness.access_token(helpers.PLATFORM, helpers.PLATFORM_SECRET, "cases:read")
    not_person = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": service_subject,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        auth=auth,
    )
    assert not_person.json()["error"] == "invalid_grant"
    not_allowed = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": tokens["access_token"],
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        auth=("svc-case", dev_realm.DEV_SERVICE_SECRET),
    )
    assert not_allowed.json()["error"] == "unauthorized_client"


async def test_private_key_jwt_client(harness: Any) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
    headers = await harness.admin_headers()
    created = await harness.client.post(
        "/v1/clients",
        headers=headers,
        json={
            "client_id": "ministry-pkjwt",
            "name": "Ministry with keys",
            "kind": "ministry",
            "grant_types": ["client_credentials"],
            "scopes": ["cases:monitor"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.as_dict(private=False)]},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["client_secret"] is None

    def assertion(jti: str, aud: str) -> str:
        now = int(time.time())
        claims = {
            "iss": "ministry-pkjwt",
            "sub": "ministry-pkjwt",
            "aud": aud,
            "jti": jti,
            "iat": now,
            "exp": now + 60,
        }
        return jose_jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)

    def form(value: str) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": value,
        }

    first = assertion("a-1", harness.issuer + "/oauth2/token")
    ok = await harness.client.post("/oauth2/token", data=form(first))
    assert ok.status_code == 200, ok.text
    replay = await harness.client.post("/oauth2/token", data=form(first))
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    wrong_aud = await harness.client.post("/oauth2/token", data=form(assertion("a-2", "https://elsewhere")))
    assert wrong_aud.json()["error"] == "invalid_client"
    other_key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
    now = int(time.time())
    forged = jose_jwt.encode(
        {"alg": "ES256", "kid": "k1"},
        {
            "iss": "ministry-pkjwt",
            "sub": "ministry-pkjwt",
            "aud": harness.issuer,
            "jti": "a-3",
            "iat": now,
            "exp": now + 60,
        },
        other_key,
    )
    assert (await harness.client.post("/oauth2/token", data=form(forged))).json()["error"] == "invalid_client"


async def test_discovery_and_jwks(harness: Any) -> None:
    doc = (await harness.client.get("/.well-known/openid-configuration")).json()
    assert doc["issuer"] == harness.issuer
    assert doc["token_endpoint"] == harness.issuer + "/oauth2/token"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert doc["acr_values_supported"] == ["L1", "L2", "L3"]
    # Served under the issuer path too, as the gateway would route it.
    prefixed = await harness.client.get("/identity/.well-known/openid-configuration")
    assert prefixed.json() == doc
    jwks = await _jwks(harness)
    assert all("d" not in k for k in jwks["keys"]) and jwks["keys"][0]["alg"] == "ES256"


async def test_kit_token_provider_with_the_launchers_secret(make_harness: Any, monkeypatch: Any) -> None:
    # The launcher may pick any secret; the kit's provider sends it in Basic without form-encoding.
    secret = "run-secret+with%2Fodd/chars"
    monkeypatch.setenv("CATALOGUE_CLIENT_SECRET", secret)
    harness = await make_harness()
    provider = ServiceTokenProvider(
        "http://testserver/oauth2/token", "svc-catalogue", secret, "cases:read", client=harness.client
    )
    token = await provider.token()
    assert pyjwt.decode(token, options={"verify_signature": False})["client_id"] == "svc-catalogue"
    assert await provider.token() == token  # cached
    old = await harness.token("svc-catalogue", dev_realm.DEV_SERVICE_SECRET)
    assert old.status_code == 401


async def test_userinfo_errors_follow_rfc6750(harness: Any, helpers: Any) -> None:
    missing = await harness.client.get("/userinfo")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    service = await harness.access_token("svc-case", dev_realm.DEV_SERVICE_SECRET)
    wrong_aud = await harness.client.get("/userinfo", headers={"Authorization": f"Bearer {service}"})
    assert wrong_aud.status_code == 401 and wrong_aud.json()["error"] == "invalid_token"
    tokens = await harness.code_flow("zhangsan", scope="openid cases:submit")
    ok = await harness.client.post("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert ok.status_code == 200 and "name" not in ok.json()  # no profile scope, no profile claims
    await harness.client.post(
        "/oauth2/revoke",
        data={"token": tokens["access_token"]},
        auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET),
    )
    revoked = await harness.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert revoked.status_code == 401
