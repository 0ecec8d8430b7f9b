"""Persons: registration, validation, masking of identity numbers, in-person verification, TOTP."""

from __future__ import annotations

import json
from typing import Any

from identity_svc.adapters.orm import NaturalPersonRow
from identity_svc.service_layer import dev_realm
from sqlalchemy import select
from tongban_kit.identifiers import resident_id_check_digit
from tongban_kit.outbox import OutboxMessage

NEW_ID17 = "32010219950815123"
NEW_ID = NEW_ID17 + resident_id_check_digit(NEW_ID17)


def registration(**kw: str) -> dict[str, str]:
    body = {
        "username": "wangxiaoming",
        "password": "a-long-Password-1",
        "name": "王小明",
        "resident_id": NEW_ID,
        "phone": "13600136000",
    }
    body.update(kw)
    return body


async def test_wrong_check_digit_is_a_422_problem(harness: Any) -> None:
    wrong = NEW_ID17 + ("0" if NEW_ID[-1] != "0" else "1")
    response = await harness.client.post("/v1/persons", json=registration(resident_id=wrong))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid-identifier" and "check digit" in body["detail"]
    assert wrong not in response.text
    unknown_field = await harness.client.post("/v1/persons", json={**registration(), "role": "admin"})
    assert unknown_field.status_code == 422


async def test_registration_is_masked_encrypted_and_audited(harness: Any) -> None:
    response = await harness.client.post(
        "/v1/persons", json=registration(), headers={"Idempotency-Key": "reg-1"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["resident_id"] == NEW_ID[:6] + "********" + NEW_ID[-4:]
    assert body["resident_id_masked"] is True and body["phone"] == "136****6000"
    assert NEW_ID not in response.text and "ETag" in response.headers
    replay = await harness.client.post(
        "/v1/persons", json=registration(), headers={"Idempotency-Key": "reg-1"}
    )
    assert replay.status_code == 201 and replay.json()["id"] == body["id"]
    duplicate = await harness.client.post("/v1/persons", json=registration(username="another"))
    assert duplicate.status_code == 409
    async with harness.app.state.runtime.uow() as uow:
        row = (
            await uow.session.scalars(select(NaturalPersonRow).where(NaturalPersonRow.id == body["id"]))
        ).one()
        outbox = (await uow.session.scalars(select(OutboxMessage))).all()
    assert NEW_ID not in row.resident_id_enc and row.subject_hash == harness.ctx.subject_hash(NEW_ID)
    assert "13600136000" not in (row.phone_enc or "")
    assert row.password_hash.startswith("$argon2id$")
    assert all(NEW_ID not in json.dumps(m.envelope) for m in outbox)
    assert (await harness.events("person-registered.v1"))[-1]["data"]["person_id"] == body["id"]


async def test_no_response_shows_a_full_identity_number_without_identity_admin(
    harness: Any, helpers: Any
) -> None:
    full = "110101199003074477"  # zhangsan
    seen: list[str] = []

    tokens = await harness.code_flow("zhangsan", scope="openid profile phone cases:submit")
    seen.append(json.dumps(tokens))
    citizen = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = await harness.client.get("/userinfo", headers=citizen)
    assert info.status_code == 200
    assert info.json()["resident_id_masked"] == "110101********4477"
    assert info.json()["representations"][0]["uscc_masked"].startswith("911101")
    seen.append(info.text)
    sub = info.json()["sub"]
    own = await harness.client.get(f"/v1/persons/{sub}", headers=citizen)
    assert own.status_code == 200 and own.json()["resident_id_masked"] is True
    seen.append(own.text)
    lp_id = info.json()["representations"][0]["legal_person_id"]
    company = await harness.client.get(f"/v1/legal-persons/{lp_id}", headers=citizen)
    assert company.status_code == 200 and company.json()["uscc_masked"] is True
    assert dev_realm.DEMO_COMPANY_USCC not in company.text
    seen.append(company.text)
    platform = await harness.access_token(helpers.PLATFORM, helpers.PLATFORM_SECRET, "cases:handle")
    other = await harness.client.get(f"/v1/persons/{sub}", headers={"Authorization": f"Bearer {platform}"})
    assert other.status_code in (401, 403)
    seen.append(other.text)
    for doc in seen:
        assert full not in doc
    for token in (tokens["access_token"], tokens["id_token"]):
        import jwt as pyjwt

        assert full not in json.dumps(pyjwt.decode(token, options={"verify_signature": False}))

    admin = await harness.admin_headers()
    as_admin = await harness.client.get(f"/v1/persons/{sub}", headers=admin)
    assert as_admin.json()["resident_id"] == full and as_admin.json()["resident_id_masked"] is False
    listed = await harness.client.get(
        "/v1/persons", params={"subject_hash": harness.ctx.subject_hash(full)}, headers=admin
    )
    assert [p["id"] for p in listed.json()["items"]] == [sub]
    upper = await harness.client.get(
        "/v1/persons", params={"subject_hash": harness.ctx.subject_hash(full).upper()}, headers=admin
    )
    assert [p["id"] for p in upper.json()["items"]] == [sub]
    # A subject hash is 64 hex digits; anything else (a NUL PostgreSQL cannot store) is a 422.
    bad = await harness.client.get("/v1/persons", params={"subject_hash": "\x00" * 64}, headers=admin)
    assert bad.status_code == 422, bad.text


async def test_window_clerk_verifies_in_person_to_l3(harness: Any, helpers: Any) -> None:
    created = await harness.client.post("/v1/persons", json=registration())
    person = created.json()
    window = await harness.client.post(
        "/v1/clients",
        headers=await harness.admin_headers(),
        json={
            "client_id": "window-440000",
            "name": "广东省政务服务窗口",
            "kind": "platform",
            "region": "440000",
            "grant_types": ["client_credentials"],
            "scopes": ["identity:verify"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    assert window.status_code == 201, window.text
    clerk = {
        "Authorization": "Bearer "
        + await harness.access_token("window-440000", window.json()["client_secret"], "identity:verify")
    }
    body = {"resident_id": NEW_ID, "clerk": "GD-0042", "office": "广州市政务服务中心 12 号窗口"}
    no_match = await harness.client.post(f"/v1/persons/{person['id']}/verification", json=body, headers=clerk)
    assert no_match.status_code == 428  # If-Match is required
    etag = created.headers["etag"]
    wrong = await harness.client.post(
        f"/v1/persons/{person['id']}/verification",
        json={**body, "resident_id": "110101199003074477"},
        headers={**clerk, "If-Match": etag},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "verification-refused"
    ok = await harness.client.post(
        f"/v1/persons/{person['id']}/verification", json=body, headers={**clerk, "If-Match": etag}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["verification_level"] == "L3" and ok.json()["resident_id_masked"] is True
    stale = await harness.client.post(
        f"/v1/persons/{person['id']}/verification", json=body, headers={**clerk, "If-Match": etag}
    )
    assert stale.status_code == 412
    event = (await harness.events("person-verified.v1"))[-1]["data"]
    assert event["region"] == "440000" and event["clerk"] == "GD-0042"
    nobody = await harness.access_token("svc-case", dev_realm.DEV_SERVICE_SECRET)
    denied = await harness.client.post(
        f"/v1/persons/{person['id']}/verification", json=body, headers={"Authorization": f"Bearer {nobody}"}
    )
    assert denied.status_code == 401  # not an identity token at all
    citizen = (await harness.code_flow("zhangsan"))["access_token"]
    not_clerk = await harness.client.post(
        f"/v1/persons/{person['id']}/verification", json=body, headers={"Authorization": f"Bearer {citizen}"}
    )
    assert not_clerk.status_code == 403


async def test_totp_enrolment_by_the_person(harness: Any) -> None:
    tokens = await harness.code_flow("zhangsan", scope="openid profile")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    sub = (await harness.client.get("/userinfo", headers=headers)).json()["sub"]
    current = await harness.client.get(f"/v1/persons/{sub}", headers=headers)
    enrolled = await harness.client.post(
        f"/v1/persons/{sub}/totp", headers={**headers, "If-Match": current.headers["etag"]}
    )
    assert enrolled.status_code == 200, enrolled.text
    secret = enrolled.json()["secret"]
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")
    # Now zhangsan is asked for a code and reaches L2 with it.
    harness.client.cookies.clear()
    _, challenge = __import__("secrets").token_hex(1), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    page = await harness.authorize(challenge=challenge)
    step = await harness.post_login(page, "zhangsan", dev_realm.DEMO_PASSWORD)
    assert 'name="otp"' in step.text
    from identity_svc.adapters import totp

    done = await harness.post_otp(step, totp.current_code(secret, harness.ctx.clock()))
    assert done.status_code == 303
    # Replacing the authenticator with only an L1 token is refused.
    again = await harness.client.get(f"/v1/persons/{sub}", headers=headers)
    replace = await harness.client.post(
        f"/v1/persons/{sub}/totp", headers={**headers, "If-Match": again.headers["etag"]}
    )
    assert replace.status_code == 403 and replace.json()["code"] == "step-up-required"
