"""异地代收代办 end to end: Guangdong receives, Beijing decides, Shanghai's licence is recognised.

Only the gateway is used, the way provincial platforms would. The steps run in order and hand on
what they made through the session's ``story``.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from e2e_support import (
    BEIJING,
    GUANGDONG,
    LISI,
    ORGS,
    SHANGHAI,
    ZHANGSAN,
    Api,
    Ministry,
    act_for,
    assert_gap_free,
    lifecycle,
    new_key,
    oidc_login,
    pdf_bytes,
    sha256_hex,
)

pytestmark = pytest.mark.mesh

ITEM = "GG00004000"  # 开具户籍类证明: proxy in every region, result a household-registration proof
HOUSEHOLD = "household-registration"


def _claims(running_mesh: Any, token: str, audience: str) -> dict[str, Any]:
    """Verify an access token against identity's published JWKS (through the gateway)."""
    keys = jwt.PyJWKClient(running_mesh.gateway + "/identity/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["ES256"], audience=audience, issuer=running_mesh.gateway + "/identity"
    )
    return claims


def test_citizen_logs_in_at_guangdong_with_pkce(
    running_mesh: Any, guangdong: Api, ministry: Ministry, story: dict[str, Any]
) -> None:
    # The subscriber is running from here on, so it follows every case of the session live.
    assert ministry.thread.is_alive()

    login = oidc_login(
        running_mesh.gateway, guangdong.client_id, ZHANGSAN, "openid profile cases:read exchange:query"
    )
    assert f"iss={running_mesh.gateway}/identity".replace(":", "%3A").replace("/", "%2F") in login.callback
    access = login.tokens["access_token"]
    claims = _claims(running_mesh, access, "urn:tongban:exchange")
    assert claims["client_id"] == "platform-440000" and claims["region"] == GUANGDONG
    assert claims["acr"] == "L1" and len(claims["subject_hash"]) == 64
    id_claims = jwt.decode(login.tokens["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == login.nonce and id_claims["aud"] in ("platform-440000", ["platform-440000"])

    info = guangdong.call("GET", "/identity/userinfo", token=access, expect=200).json()
    assert info["sub"] == claims["sub"] and info["name"] == ZHANGSAN.name
    assert ZHANGSAN.resident_id not in json.dumps(info)  # identity numbers are always masked

    # A citizen with an authenticator logs in at level 2 (password + TOTP).
    l2 = oidc_login(
        running_mesh.gateway, "platform-440000", LISI, "openid cases:read exchange:query", acr_values="L2"
    )
    assert _claims(running_mesh, l2.tokens["access_token"], "urn:tongban:case")["acr"] == "L2"
    story["lisi_token"] = l2.tokens["access_token"]  # the joint case's applicant consents with it

    story["zhangsan_token"] = access
    story["zhangsan_subject_hash"] = claims["subject_hash"]


def test_guangdong_finds_the_item_and_what_can_come_from_shared_data(guangdong: Api) -> None:
    found = guangdong.get("/catalogue/v1/items", params={"q": "户籍", "mode": "proxy", "region": BEIJING})
    codes = [i["basic_code"] for i in found["items"]]
    assert codes[0] == ITEM and len(codes) == len(set(codes)), codes  # best match first, each item once

    item = guangdong.get(f"/catalogue/v1/items/{ITEM}")
    assert "proxy" in item["modes"] and item["result"]["licence_type"] == "household_registration_proof"
    materials = {m["code"]: m for m in item["materials"]}
    from_exchange = {c for c, m in materials.items() if m["exchange_fetchable"]}
    from_licence = {c for c, m in materials.items() if m["licence_types"]}
    assert from_exchange == {"M01"} and materials["M01"]["exchange_domain"] == HOUSEHOLD
    assert from_licence == {"M01"} and materials["M01"]["licence_types"] == ["resident_id_card"]
    assert materials["M02"]["required"] and not materials["M02"]["licence_types"]

    offer = guangdong.get(f"/catalogue/v1/items/{ITEM}/regions/{BEIJING}")
    assert "proxy" in offer["modes"] and offer["promised_limit_days"] <= item["statutory_limit_days"]
    guide = guangdong.get(f"/catalogue/v1/items/{ITEM}/guide", params={"region": BEIJING})
    assert ITEM in json.dumps(guide)


def test_shanghai_licence_verifies_once_shanghai_is_recognised(
    guangdong: Api, shanghai: Api, admin: Api, story: dict[str, Any]
) -> None:
    # Earlier, in Shanghai: its platform issues the applicant an electronic ID-card licence, sealed
    # with the Shanghai platform organisation's seal (its token's org claim owns that seal).
    body = {
        "licence_type": "resident_id_card",
        "holder": {"name": ZHANGSAN.name, "id_number": ZHANGSAN.resident_id},
        "fields": {"name": ZHANGSAN.name, "issuing_authority": "上海市公安局"},
    }
    key = new_key()
    licence = shanghai.post("/eseal/v1/licences", body, expect=201, idempotency_key=key)
    assert licence["issuer"] == {
        "uscc": ORGS[SHANGHAI],
        "name": licence["issuer"]["name"],
        "region": SHANGHAI,
    }
    assert licence["holder"]["id_masked"] == "110101********4477" and licence["gm_signature"]
    replay = shanghai.call("POST", "/eseal/v1/licences", json=body, idempotency_key=key, expect=201)
    assert replay.json()["id"] == licence["id"]
    # Guangdong may not sign with Shanghai's seal.
    other = {**body, "seal_id": licence["seal_id"]}
    assert guangdong.call("POST", "/eseal/v1/licences", json=other).status_code == 403

    verify = {"licence_id": licence["id"]}
    report = guangdong.post("/eseal/v1/licences/verify", verify)
    # Signature and chain hold, but the dev trust registry does not list Shanghai for ID cards yet.
    assert report["indication"] == "INDETERMINATE" and report["sub_indication"] == "ISSUER_NOT_TRUSTED"
    recognised = admin.post(
        "/eseal/v1/trust/issuers",
        {
            "uscc": ORGS[SHANGHAI],
            "region": SHANGHAI,
            "org_name": licence["issuer"]["name"],
            "licence_types": ["resident_id_card"],
        },
    )
    assert "resident_id_card" in recognised["licence_types"]
    report = guangdong.post("/eseal/v1/licences/verify", verify)
    assert report["indication"] == "TOTAL_PASSED", report
    assert (
        report["licence"]["issuer_region"] == SHANGHAI
        and report["licence"]["trust_anchor_region"] == SHANGHAI
    )
    story["shanghai_licence"] = licence["id"]


def test_guangdong_submits_and_transfers_for_beijing(guangdong: Api, story: dict[str, Any]) -> None:
    # The platform acts for the logged-in citizen (RFC 8693), so the case history names the person.
    acting = act_for(guangdong, story["zhangsan_token"], "cases:submit cases:read")
    form = pdf_bytes("application form, purpose missing")
    body = {
        "basic_code": ITEM,
        "mode": "proxy",
        "receiving_region": GUANGDONG,
        "handling_region": BEIJING,
        "applicant": {"type": "natural_person", "name": ZHANGSAN.name, "id_number": ZHANGSAN.resident_id},
        "materials": [
            {"code": "M01", "licence_id": story["shanghai_licence"]},
            {"code": "M02", "file": {"sha256": sha256_hex(form), "name": "application.pdf"}},
        ],
        "form": {"proof_type": "户籍证明"},
        "delivery": {"method": "electronic"},
    }
    key = new_key()
    submitted = guangdong.call(
        "POST", "/cases/v1/cases", json=body, token=acting, idempotency_key=key, expect=201
    )
    case = submitted.json()
    assert case["status"] == "submitted" and case["number"].startswith(f"{BEIJING}-")
    assert case["applicant"]["masked_id"] == "110101********4477"
    assert case["applicant"]["subject_hash"] == story["zhangsan_subject_hash"]
    again = guangdong.call(
        "POST", "/cases/v1/cases", json=body, token=acting, idempotency_key=key, expect=201
    )
    assert again.json()["id"] == case["id"] and again.headers.get("Idempotent-Replayed") == "true"

    guangdong.upload(case["id"], "M02", "application.pdf", form)
    transferred = guangdong.command(
        case["id"], "transfer", {"method": "electronic", "note": "材料已电子化流转"}
    )
    assert transferred["status"] == "transferred"
    history = guangdong.get(f"/cases/v1/cases/{case['id']}/history")["items"]
    assert history[0]["actor"]["client_id"] == "platform-440000"
    assert history[0]["actor"].get("on_behalf_of"), history[0]["actor"]
    # A command on a stale ETag is refused; the handling side cannot act for the receiving side.
    stale = guangdong.call(
        "POST",
        f"/cases/v1/cases/{case['id']}/withdraw",
        json={"reason": "申请人撤回"},
        if_match=submitted.headers["ETag"],
    )
    assert stale.status_code == 412, stale.text
    story["proxy_case"] = case["id"]
    story["proxy_form"] = form


def test_beijing_receives_checks_materials_and_verifies_household_registration(
    beijing: Api, guangdong: Api, admin: Api, story: dict[str, Any]
) -> None:
    case_id = story["proxy_case"]
    wrong_side = beijing.command(case_id, "withdraw", {"reason": "不是收件地"}, expect=403)
    assert wrong_side["code"] == "wrong-side", wrong_side
    listed = beijing.get("/cases/v1/cases", params={"handling_region": BEIJING, "status": "transferred"})
    assert case_id in [c["id"] for c in listed["items"]]
    assert all(c["handling_region"] == BEIJING for c in listed["items"])
    case, _ = beijing.case(case_id)
    assert case["applicant"]["id_number"] == ZHANGSAN.resident_id  # a party sees the applicant
    assert "accept" in case["allowed_actions"]

    licence = next(m for m in case["materials"] if m["code"] == "M01")["licence_id"]
    report = beijing.post("/eseal/v1/licences/verify", {"licence_id": licence})
    assert report["indication"] == "TOTAL_PASSED" and report["licence"]["licence_type"] == "resident_id_card"
    files = beijing.get(f"/cases/v1/cases/{case_id}/materials")["items"]
    content = beijing.call("GET", f"/cases/v1/cases/{case_id}/materials/{files[0]['id']}/content", expect=200)
    assert content.content == story["proxy_form"]

    query = {
        "resource_id": HOUSEHOLD,
        "subject_id_number": ZHANGSAN.resident_id,
        "case_id": case_id,
        "item_code": ITEM,
        "mode": "verify",
        "fact": {"birth_date": "1990-03-07", "gender": "男"},
    }
    refused = beijing.call("POST", "/exchange/v1/queries", json=query, expect=403).json()
    assert refused["code"] in ("no-grant", "item-not-granted")  # the dev seed covers 户口迁移 items only
    resource = admin.get(f"/exchange/v1/resources/{HOUSEHOLD}")
    grant = admin.post(
        "/exchange/v1/grants",
        {
            "client_id": "platform-110000",
            "resource_id": resource["id"],
            "items": [ITEM],
            "allowed_fields": ["name", "gender", "birth_date", "household_address", "registration_authority"],
            "masked_fields": ["household_address"],
            "modes": ["share", "verify"],
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
        expect=201,
    )
    assert grant["items"] == [ITEM]
    refused = beijing.call("POST", "/exchange/v1/queries", json=query, expect=403).json()
    assert refused["code"] == "no-consent"

    # The applicant consents, with the token from their own login at Guangdong's platform.
    consent = guangdong.post(
        "/exchange/v1/consents",
        {
            "case_id": case_id,
            "resource_ids": [HOUSEHOLD],
            "until": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "purpose": "办理户籍证明时核验户籍信息",
        },
        token=story["zhangsan_token"],
        expect=201,
    )
    assert consent["subject_hash"] == story["zhangsan_subject_hash"] and consent["status"] == "active"
    # A platform token without a person cannot consent for anyone.
    no_person = guangdong.call("POST", "/exchange/v1/consents", json={**consent_body(case_id)})
    assert no_person.status_code == 403

    verified = beijing.post("/exchange/v1/queries", query)
    assert verified["verified"] is True and "record" not in verified
    wrong = beijing.post("/exchange/v1/queries", {**query, "fact": {"birth_date": "1991-01-01"}})
    assert wrong["verified"] is False
    shared = beijing.post(
        "/exchange/v1/queries",
        {**query, "mode": "share", "fact": None, "fields": ["household_address", "registration_authority"]},
    )
    assert shared["found"] is True and shared["masked_fields"] == ["household_address"]
    data = shared["data"]
    assert set(data) == {"household_address", "registration_authority"}  # minimum necessary
    assert "*" in data["household_address"]  # masked as the grant says
    _check_hub_signature(beijing, shared)
    over = beijing.call(
        "POST", "/exchange/v1/queries", json={**query, "mode": "share", "fact": None, "fields": ["ethnicity"]}
    )
    assert over.status_code == 403 and over.json()["code"] == "field-not-granted"
    # Guangdong holds no household grant for this item: its query is refused and logged.
    assert guangdong.call("POST", "/exchange/v1/queries", json=query).status_code == 403
    mine = guangdong.get("/exchange/v1/audit/subjects/me", token=story["zhangsan_token"])
    assert any(e.get("case_id") == case_id for e in mine["items"])


def consent_body(case_id: str) -> dict[str, Any]:
    """A consent request for the household resource."""
    return {
        "case_id": case_id,
        "resource_ids": [HOUSEHOLD],
        "until": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }


def _check_hub_signature(api: Api, answer: dict[str, Any]) -> None:
    """The hub signs the rest of its answer (sorted-key compact JSON) with a key in /exchange/v1/keys."""
    token = answer["signature"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    keys = api.get("/exchange/v1/keys")["keys"]
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    payload = jwt.api_jws.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"])
    rest = {k: v for k, v in answer.items() if k != "signature"}
    assert json.loads(payload) == rest


def test_beijing_accepts_and_asks_for_one_correction(
    beijing: Api, guangdong: Api, story: dict[str, Any]
) -> None:
    case_id = story["proxy_case"]
    assert guangdong.command(case_id, "accept", expect=403)["code"] == "wrong-side"
    accepted = beijing.command(case_id, "accept", {"note": "材料齐全，予以受理"})
    assert accepted["status"] == "accepted" and accepted["deadlines"]["promised"]["limit_days"] == 1
    again = beijing.command(case_id, "accept", expect=409)
    assert again["code"] == "illegal-transition" and "conclude" in again["allowed_actions"]

    notice = {"items": [{"material_code": "M02", "problem": "faulty", "note": "申请表未写明证明用途"}]}
    corrected = beijing.command(case_id, "request-correction", notice)
    assert corrected["status"] == "correction_requested" and corrected["clock_running"] is False
    case, _ = guangdong.case(case_id)
    assert "resubmit" in case["allowed_actions"]
    assert case["corrections"][0]["items"][0]["material_code"] == "M02"

    fixed = pdf_bytes("application form, purpose: school enrolment")
    guangdong.upload(case_id, "M02", "application-v2.pdf", fixed)
    back = guangdong.command(
        case_id,
        "resubmit",
        {"materials": [{"code": "M02", "file": {"sha256": sha256_hex(fixed), "name": "application-v2.pdf"}}]},
    )
    assert back["status"] == "accepted" and back["correction_rounds"] == 1 and back["clock_running"]


def test_beijing_concludes_with_its_own_sealed_licence_and_guangdong_delivers(
    beijing: Api, guangdong: Api, ministry: Ministry, story: dict[str, Any]
) -> None:
    case_id = story["proxy_case"]
    case, _ = beijing.case(case_id)
    proof = beijing.post(
        "/eseal/v1/licences",
        {
            "licence_type": "household_registration_proof",
            "holder": {"name": ZHANGSAN.name, "id_number": ZHANGSAN.resident_id},
            "fields": {
                "case_number": case["number"],
                "proof": "户籍证明",
                "household_authority": "北京市公安局",
            },
        },
        expect=201,
        idempotency_key=new_key(),
    )
    assert proof["issuer"]["uscc"] == ORGS[BEIJING] and proof["issuer"]["region"] == BEIJING

    # An approval of a licence-issuing item must name the licence.
    missing = beijing.command(case_id, "conclude", {"decision": "approved"}, expect=422)
    assert missing["code"] == "rule-violation", missing
    assert "licence-required" in [e["type"] for e in missing["errors"]]
    concluded = beijing.command(
        case_id,
        "conclude",
        {"decision": "approved", "result": {"licence_id": proof["id"], "summary": "准予出具户籍证明"}},
    )
    assert concluded["status"] == "concluded" and concluded["decision"] == "approved"
    assert concluded["result"]["licence_id"] == proof["id"] and concluded["on_time"] is True

    delivered = guangdong.command(
        case_id, "deliver", {"method": "electronic", "proof": {"receipt_ref": "gd-e-delivery-0001"}}
    )
    assert delivered["status"] == "delivered" and delivered["delivery_proof"]["receipt_ref"]
    # The applicant's province can check the result licence itself.
    report = guangdong.post("/eseal/v1/licences/verify", {"licence_id": delivered["result"]["licence_id"]})
    assert report["indication"] == "TOTAL_PASSED" and report["licence"]["issuer_region"] == BEIJING

    history = [h["action"] for h in guangdong.get(f"/cases/v1/cases/{case_id}/history")["items"]]
    for earlier, later in zip(
        ["submit", "transfer", "accept", "request-correction", "resubmit", "conclude", "deliver"],
        ["transfer", "accept", "request-correction", "resubmit", "conclude", "deliver"],
        strict=False,
    ):
        assert history.index(earlier) < history.index(later), history

    events = ministry.wait_for_event(case_id, "delivered")
    assert lifecycle(events) == [
        "submitted",
        "transferred",
        "accepted",
        "correction-requested",
        "resubmitted",
        "concluded",
        "delivered",
    ]
    assert_gap_free(events)
    assert {(e["receiving_region"], e["handling_region"]) for e in events} == {(GUANGDONG, BEIJING)}
    assert ZHANGSAN.resident_id not in json.dumps(events, ensure_ascii=False)
    story.setdefault("finished_cases", []).append(case_id)
