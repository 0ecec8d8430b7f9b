"""Authorization endpoint and login: PKCE, redirect URIs, acr, CSRF, iss, SSO."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
from identity_svc.service_layer import dev_realm


async def test_code_flow_issues_tokens_with_iss_in_response(harness: Any, helpers: Any) -> None:
    verifier, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge, state="abc")
    assert page.status_code == 200
    assert "csrf_token" in page.text and "Content-Security-Policy" in page.headers
    assert page.headers["x-frame-options"] == "DENY"
    done = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert done.status_code == 303
    params = helpers.callback_params(done)
    assert params["state"] == "abc"
    assert params["iss"] == harness.issuer  # RFC 9207
    token = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": helpers.REDIRECT,
            "code_verifier": verifier,
        },
        auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET),
    )
    assert token.status_code == 200, token.text
    assert token.headers["cache-control"] == "no-store"
    body = token.json()
    assert {"access_token", "id_token", "refresh_token"} <= body.keys()
    at = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert at["acr"] == "L1" and at["region"] == "440000" and at["client_id"] == helpers.PLATFORM
    assert at["subject_hash"] and at["aud"] == ["urn:tongban:identity", "urn:tongban:case"]
    assert pyjwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    # The code is good once.
    again = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": helpers.REDIRECT,
            "code_verifier": verifier,
        },
        auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET),
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_missing_pkce_is_refused_at_the_redirect_uri(harness: Any, helpers: Any) -> None:
    response = await harness.authorize(challenge=None)
    assert response.status_code == 302
    params = helpers.callback_params(response)
    assert params["error"] == "invalid_request" and "code" not in params
    assert params["iss"] == harness.issuer
    _, challenge = helpers.pkce_pair()
    plain = await harness.authorize(challenge=challenge, code_challenge_method="plain")
    assert helpers.callback_params(plain)["error"] == "invalid_request"


async def test_wrong_or_missing_verifier_gets_no_token(harness: Any, helpers: Any) -> None:
    for verifier, expected in ((None, "invalid_request"), ("x" * 50, "invalid_grant")):
        harness.client.cookies.clear()
        _, challenge = helpers.pkce_pair()
        page = await harness.authorize(challenge=challenge)
        done = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
        data = {
            "grant_type": "authorization_code",
            "code": helpers.callback_params(done)["code"],
            "redirect_uri": helpers.REDIRECT,
        }
        if verifier:
            data["code_verifier"] = verifier
        token = await harness.client.post(
            "/oauth2/token", data=data, auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET)
        )
        assert token.status_code == 400
        assert token.json()["error"] == expected
        assert "access_token" not in token.json()
        assert token.headers["content-type"].startswith("application/json")  # not a problem document


async def test_redirect_uri_mismatch_is_refused_without_redirect(harness: Any, helpers: Any) -> None:
    _, challenge = helpers.pkce_pair()
    for uri in (
        "http://127.0.0.1:8765/callback/evil",
        "http://127.0.0.1:8765/callback?x=1",
        "https://attacker.example/cb",
        "",
    ):
        response = await harness.authorize(challenge=challenge, redirect_uri=uri)
        assert response.status_code == 400
        assert "location" not in response.headers
    unknown = await harness.authorize(challenge=challenge, client_id="no-such-client")
    assert unknown.status_code == 400 and "location" not in unknown.headers


async def test_redirect_uri_must_match_at_the_token_endpoint(harness: Any, helpers: Any) -> None:
    verifier, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    done = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    token = await harness.client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": helpers.callback_params(done)["code"],
            "redirect_uri": "http://127.0.0.1:8765/other",
            "code_verifier": verifier,
        },
        auth=(helpers.PLATFORM, helpers.PLATFORM_SECRET),
    )
    assert token.json()["error"] == "invalid_grant"


async def test_l2_requested_with_password_only_gets_no_code(harness: Any, helpers: Any) -> None:
    _, challenge = helpers.pkce_pair()
    # zhangsan has no authenticator: L2 is unreachable, the client gets access_denied, no code.
    page = await harness.authorize(challenge=challenge, acr_values="L2")
    assert "L2" in page.text
    done = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    params = helpers.callback_params(done)
    assert params["error"] == "access_denied" and "code" not in params
    # lisi has one: after the password only the one-time-code form, still no code.
    harness.client.cookies.clear()
    page = await harness.authorize(challenge=challenge, acr_values="L2")
    step = await harness.post_login(page, "lisi", dev_realm.DEMO_PASSWORD)
    assert step.status_code == 200 and 'name="otp"' in step.text
    assert "location" not in step.headers
    wrong = await harness.post_otp(step, "000000" if harness.lisi_code() != "000000" else "111111")
    assert wrong.status_code == 401 and "location" not in wrong.headers
    ok = await harness.post_otp(step, harness.lisi_code())
    assert ok.status_code == 303 and "code" in helpers.callback_params(ok)


async def test_lisi_token_carries_l2(harness: Any) -> None:
    tokens = await harness.code_flow("lisi", acr_values="L2")
    claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["acr"] == "L2" and "otp" in claims["amr"]


async def test_totp_code_is_accepted_once(harness: Any) -> None:
    frozen = harness.ctx.clock()
    harness.ctx.clock = lambda: frozen  # one TOTP time step for the whole test
    await harness.code_flow("lisi")
    harness.client.cookies.clear()
    code = harness.lisi_code()  # the code code_flow just used
    page = await harness.authorize(challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    step = await harness.post_login(page, "lisi", dev_realm.DEMO_PASSWORD)
    replay = await harness.post_otp(step, code)
    assert replay.status_code == 401


async def test_login_form_needs_csrf_token_and_same_browser(harness: Any, helpers: Any) -> None:
    _, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    fields = harness.form_fields(page.text)
    forged = await harness.client.post(
        "/oauth2/login",
        data={
            "request_id": fields["request_id"],
            "csrf_token": "forged",
            "username": "zhangsan",
            "password": dev_realm.DEMO_PASSWORD,
        },
    )
    assert forged.status_code == 403 and "location" not in forged.headers
    harness.client.cookies.clear()  # another browser posting a captured form
    other = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert other.status_code == 403


async def test_wrong_password_rerenders_generic_error(harness: Any, helpers: Any) -> None:
    _, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    wrong = await harness.post_login(page, "zhangsan", "not-the-password")
    unknown = await harness.post_login(page, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password" in wrong.text and "Wrong username or password" in unknown.text
    failed = await harness.events("login-failed.v1")
    assert [e["data"]["reason"] for e in failed] == ["wrong-password", "wrong-password"]
    assert failed[1]["data"]["person_id"] is None


async def test_sso_session_is_reused_only_at_a_sufficient_level(harness: Any, helpers: Any) -> None:
    harness.client.cookies.clear()
    _, challenge = helpers.pkce_pair()
    page = await harness.authorize(challenge=challenge)
    done = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert "tb_session" in done.headers.get("set-cookie", "")
    sso = await harness.authorize(challenge=challenge)
    assert sso.status_code == 302 and "code" in helpers.callback_params(sso)
    stepup = await harness.authorize(challenge=challenge, acr_values="L2")
    assert stepup.status_code == 200 and "password" in stepup.text  # no bypass of the step-up
    forced = await harness.authorize(challenge=challenge, prompt="login")
    assert forced.status_code == 200
    harness.client.cookies.clear()
    silent = await harness.authorize(challenge=challenge, prompt="none")
    assert helpers.callback_params(silent)["error"] == "login_required"


async def test_authorization_request_errors(harness: Any, helpers: Any) -> None:
    _, challenge = helpers.pkce_pair()
    bad_type = await harness.authorize(challenge=challenge, response_type="token")
    assert helpers.callback_params(bad_type)["error"] == "unsupported_response_type"
    bad_scope = await harness.authorize(challenge=challenge, scope="openid identity:admin")
    assert helpers.callback_params(bad_scope)["error"] == "invalid_scope"
    not_allowed = await harness.authorize(challenge=challenge, client_id="svc-case")
    assert not_allowed.status_code == 400  # svc-case has no redirect URI registered
    repeated = await harness.client.get(
        "/oauth2/authorize",
        params=[
            ("client_id", helpers.PLATFORM),
            ("redirect_uri", helpers.REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("scope", "profile"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    assert helpers.callback_params(repeated)["error"] == "invalid_request"
