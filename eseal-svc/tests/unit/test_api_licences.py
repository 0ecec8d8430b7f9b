"""Licences through the API: issuance, mutual recognition, status lists, validation and events."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eseal_svc.adapters.crypto import ses, sm
from eseal_svc.adapters.crypto.ca import verify_chain
from eseal_svc.adapters.jose import read_compact, verify_compact
from eseal_svc.domain.status_list import Bitstring
from eseal_svc.schemas import SCHEMA_DIR
from eseal_testkit import BEIJING, GUANGDONG, LISI, ORGS, OUTSIDER, SHANGHAI, ZHANGSAN
from jsonschema import Draft202012Validator
from sqlalchemy import select
from tongban_kit.crypto import subject_hash
from tongban_kit.outbox import OutboxMessage
from tongban_kit.settings import DEV_SUBJECT_HASH_KEY


async def issued(eseal: Any, region: str = SHANGHAI, **body: Any) -> dict[str, Any]:
    r = await eseal.issue(region, **body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def status_list(eseal: Any, url: str, **headers: str) -> Any:
    path = url[url.index("/v1/status-lists/") :]
    return await eseal.client.get(path, headers=headers)


async def test_issue_a_shanghai_licence(eseal: Any) -> None:
    licence = await issued(eseal)
    assert licence["status"] == "active" and licence["version"] == 1
    assert licence["issuer"] == {"uscc": ORGS[SHANGHAI], "name": "上海市政务服务平台", "region": SHANGHAI}
    assert licence["holder"] == {
        "name": "李四",
        "id_type": "resident_id",
        "id_masked": "310104********3025",
        "subject_hash": subject_hash(LISI, DEV_SUBJECT_HASH_KEY),
    }
    token = read_compact(licence["vc_jwt"])
    assert token.header["typ"] == "vc+jwt" and token.header["alg"] == "ES256" and verify_compact(token)
    vc = token.payload
    assert vc == licence["credential"]
    assert vc["type"] == ["VerifiableCredential", "ElectronicLicence"] and vc["name"] == "户籍证明"
    assert vc["issuer"]["id"] == f"urn:tongban:org:{ORGS[SHANGHAI]}"
    assert vc["credentialSubject"]["fields"]["address"] == "上海市徐汇区某路1号"
    purposes = {e["statusPurpose"]: e for e in vc["credentialStatus"]}
    assert set(purposes) == {"revocation", "suspension"}
    assert all(e["type"] == "BitstringStatusListEntry" for e in purposes.values())
    assert LISI not in json.dumps(licence, ensure_ascii=False)
    # The SM2 seal also signs the JWT's bytes as a GB/T 38540 SES_Signature.
    gm = ses.parse_signature(base64.b64decode(licence["gm_signature"]))
    assert gm.data_hash == sm.sm3(licence["vc_jwt"].encode())


async def test_beijing_verifies_a_shanghai_licence(eseal: Any) -> None:
    licence = await issued(eseal)
    report = await eseal.verify_licence(credential=licence["vc_jwt"], gm_signature=licence["gm_signature"])
    assert report["indication"] == "TOTAL_PASSED", report
    assert report["licence"]["trust_anchor_region"] == SHANGHAI
    assert report["licence"]["licence_type"] == "household_registration_proof"
    names = [c["name"] for c in report["checks"]]
    assert names[:2] == ["format", "signer_chain"] and names.count("licence_status") == 2
    assert "gm_signature" in names and "issuer_trust" in names
    assert "李四" not in json.dumps(report, ensure_ascii=False)
    by_id = await eseal.verify_licence(licence_id=licence["id"])
    assert by_id["indication"] == "TOTAL_PASSED"


async def test_guangdong_licence_of_a_person_and_a_company(eseal: Any) -> None:
    person = await issued(
        eseal,
        GUANGDONG,
        licence_type="vocational_qualification_certificate",
        holder={"name": "王五", "id_number": "440106197811203010"},
        fields={"occupation": "电工", "level": 3, "certified": True, "score": 91.5},
    )
    company = await issued(
        eseal,
        GUANGDONG,
        licence_type="business_licence",
        holder={"name": "广州某科技有限公司", "id_type": "uscc", "id_number": "9144030071526726XG"},
        valid_until=(datetime.now(UTC) + timedelta(days=3650)).isoformat(),
    )
    assert person["fields"] == {"occupation": "电工", "level": 3, "certified": True, "score": 91.5}
    assert company["holder"]["id_masked"] == "914403********26XG"
    for licence in (person, company):
        report = await eseal.verify_licence(credential=licence["vc_jwt"])
        assert report["indication"] == "TOTAL_PASSED", report


async def test_an_unrecognised_issuer_is_indeterminate(eseal: Any) -> None:
    # Shanghai's registry entry does not cover business licences.
    licence = await issued(
        eseal,
        licence_type="business_licence",
        holder={"name": "某公司", "id_type": "uscc", "id_number": OUTSIDER},
    )
    report = await eseal.verify_licence(credential=licence["vc_jwt"])
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "ISSUER_NOT_TRUSTED")
    trust = next(c for c in report["checks"] if c["name"] == "issuer_trust")
    assert "not recognised for business_licence" in trust["detail"]
    # An organisation outside the registry, with a seal of its own.
    seal = await eseal.create_seal(uscc=OUTSIDER, region="310104", org_name="徐汇区某机构")
    licence = await issued(eseal, seal_id=seal["id"], headers=eseal.platform(SHANGHAI, org=OUTSIDER))
    report = await eseal.verify_licence(credential=licence["vc_jwt"])
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "ISSUER_NOT_TRUSTED")
    # Recognising it makes the same licence pass.
    r = await eseal.client.post(
        "/v1/trust/issuers",
        json={
            "uscc": OUTSIDER,
            "region": SHANGHAI,
            "org_name": "徐汇区某机构",
            "licence_types": ["household_registration_proof"],
        },
        headers=eseal.admin(),
    )
    assert r.status_code == 201, r.text
    report = await eseal.verify_licence(credential=licence["vc_jwt"])
    assert report["indication"] == "TOTAL_PASSED", report
    published = (await eseal.client.get("/v1/trust")).json()["issuers"]
    assert {"uscc": OUTSIDER, "region": SHANGHAI} in [
        {"uscc": i["uscc"], "region": i["region"]} for i in published
    ]
    r = await eseal.client.post(
        "/v1/trust/issuers",
        json={
            "uscc": OUTSIDER,
            "region": SHANGHAI,
            "org_name": "徐汇区某机构",
            "licence_types": ["residence_permit"],
        },
        headers=eseal.admin(),
    )
    assert r.status_code == 200 and r.json()["licence_types"] == [
        "household_registration_proof",
        "residence_permit",
    ]


async def test_a_revoked_licence_has_its_bit_set_in_the_signed_list(eseal: Any) -> None:
    licence = await issued(eseal)
    entry = next(e for e in licence["credential_status"] if e["purpose"] == "revocation")
    before = await status_list(eseal, entry["status_list"])
    assert before.status_code == 200 and before.headers["content-type"].startswith("application/vc+jwt")
    assert "public" in before.headers["cache-control"] and before.headers["etag"].startswith('W/"')
    assert not _bits(before.text).get(entry["index"])
    revoked_before = _bits(before.text).count()
    not_modified = await status_list(eseal, entry["status_list"], **{"If-None-Match": before.headers["etag"]})
    assert not_modified.status_code == 304

    r = await eseal.client.post(
        f"/v1/licences/{licence['id']}/revoke",
        json={"reason": "户籍迁出"},
        headers={**eseal.platform(SHANGHAI), "If-Match": f'"{licence["id"]}-v1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked" and r.headers["etag"] == f'"{licence["id"]}-v2"'

    after = await status_list(eseal, entry["status_list"], **{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    token = read_compact(after.text)
    # The list is a signed credential of the same issuer, chaining to a registered anchor.
    assert verify_compact(token)
    anchors = [
        base64.b64decode(a["certificate"]) for a in (await eseal.client.get("/v1/trust")).json()["anchors"]
    ]
    assert verify_chain(token.certificates[0], trust_anchors=anchors, at=datetime.now(UTC)).valid
    assert token.payload["issuer"]["id"] == f"urn:tongban:org:{ORGS[SHANGHAI]}"
    assert token.payload["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    subject = token.payload["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == "revocation"
    bits = Bitstring.decode(subject["encodedList"])
    assert bits.size >= 131_072 and bits.get(entry["index"]) and bits.count() == revoked_before + 1
    # A forged list (bits flipped, signature kept) no longer verifies.
    forged = after.text.split(".")
    payload = json.loads(base64.urlsafe_b64decode(forged[1] + "=" * (-len(forged[1]) % 4)))
    payload["credentialSubject"]["encodedList"] = Bitstring(bits.size).encode()
    forged[1] = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    assert not verify_compact(read_compact(".".join(forged)))

    report = await eseal.verify_licence(credential=licence["vc_jwt"])
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "REVOKED")
    r = await eseal.client.post(
        f"/v1/licences/{licence['id']}/suspend",
        json={},
        headers={**eseal.platform(SHANGHAI), "If-Match": "*"},
    )
    assert r.status_code == 409 and r.json()["code"] == "licence-revoked"


def _bits(jwt: str) -> Bitstring:
    return Bitstring.decode(read_compact(jwt).payload["credentialSubject"]["encodedList"])


async def test_suspend_and_reinstate(eseal: Any) -> None:
    licence = await issued(eseal, BEIJING, holder={"name": "张三", "id_number": ZHANGSAN})
    url = f"/v1/licences/{licence['id']}"
    r = await eseal.client.post(f"{url}/suspend", json={"reason": "核查中"}, headers=eseal.platform(BEIJING))
    assert r.status_code == 428
    r = await eseal.client.post(
        f"{url}/suspend", json={"reason": "核查中"}, headers={**eseal.platform(BEIJING), "If-Match": '"x-v1"'}
    )
    assert r.status_code == 412
    r = await eseal.client.post(
        f"{url}/suspend", json={"reason": "核查中"}, headers={**eseal.platform(SHANGHAI), "If-Match": "*"}
    )
    assert r.status_code == 403 and r.json()["code"] == "not-issuer"
    r = await eseal.client.post(
        f"{url}/suspend",
        json={"reason": "核查中"},
        headers={**eseal.platform(BEIJING), "If-Match": f'"{licence["id"]}-v1"'},
    )
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    report = await eseal.verify_licence(licence_id=licence["id"])
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "SUSPENDED")
    r = await eseal.client.post(
        f"{url}/reinstate", json={}, headers={**eseal.admin(), "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["version"] == 3
    assert (await eseal.verify_licence(licence_id=licence["id"]))["indication"] == "TOTAL_PASSED"
    r = await eseal.client.post(f"{url}/reinstate", json={}, headers={**eseal.admin(), "If-Match": "*"})
    assert r.status_code == 409 and r.json()["code"] == "licence-not-suspended"


async def test_tampered_licences_fail(eseal: Any) -> None:
    licence = await issued(eseal)
    header, payload, signature = licence["vc_jwt"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["holder"]["name"] = "王二"
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(claims, ensure_ascii=False).encode()).decode().rstrip("=")
    )
    forged = f"{header}.{forged_payload}.{signature}"
    report = await eseal.verify_licence(credential=forged, gm_signature=licence["gm_signature"])
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "SIG_CRYPTO_FAILURE")
    gm = next(c for c in report["checks"] if c["name"] == "gm_signature")
    assert not gm["passed"] and gm["sub_indication"] == "HASH_FAILURE"
    for garbage in ("not-a-jwt-at-all", f"{header}.{payload}"):
        report = await eseal.verify_licence(credential=garbage)
        assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "FORMAT_FAILURE")


async def test_validity_window(eseal: Any) -> None:
    future = await issued(eseal, valid_from=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    report = await eseal.verify_licence(licence_id=future["id"])
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "NOT_YET_VALID")
    r = await eseal.issue(
        SHANGHAI,
        valid_from=(datetime.now(UTC) - timedelta(days=2)).isoformat(),
        valid_until=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid-licence"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"licence_type": "flying_licence"}, "invalid-licence"),
        ({"holder": {"name": "李四", "id_number": "310104198506123026"}}, "invalid-licence"),
        ({"holder": {"name": "李四", "id_number": LISI, "extra": 1}}, "validation-failed"),
        ({"fields": {"bad key": "x"}}, "validation-failed"),
        ({"fields": {"nested": {"a": 1}}}, "validation-failed"),
        ({"seal_id": "unknown"}, "not-found"),
    ],
)
async def test_bad_licence_requests(eseal: Any, body: dict[str, Any], code: str) -> None:
    r = await eseal.issue(SHANGHAI, **body)
    assert r.status_code in (404, 422), r.text
    assert r.json()["code"] == code


async def test_only_the_owner_of_a_seal_issues_with_it(eseal: Any) -> None:
    shanghai = await eseal.seal_of(SHANGHAI)
    r = await eseal.issue(BEIJING, seal_id=shanghai["id"])
    assert r.status_code == 403 and r.json()["code"] == "seal-not-owned"
    r = await eseal.issue(SHANGHAI, headers=eseal.token("eseal:sign", client_id="svc-case"))
    assert r.status_code == 403
    r = await eseal.issue(SHANGHAI, headers=eseal.verifier())
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    r = await eseal.issue(SHANGHAI, headers=eseal.platform(SHANGHAI, org=OUTSIDER[:-1] + "X"))
    assert r.status_code == 422 and r.json()["code"] == "no-usable-seal"


async def test_who_may_read_a_licence(eseal: Any) -> None:
    licence = await issued(eseal)
    url = f"/v1/licences/{licence['id']}"
    holder = eseal.token(
        "eseal:verify", client_id="platform-310000", subject_hash=subject_hash(LISI, DEV_SUBJECT_HASH_KEY)
    )
    for headers, status in (
        (eseal.platform(SHANGHAI), 200),
        (eseal.admin(), 200),
        (holder, 200),
        (eseal.platform(BEIJING), 404),
        (eseal.verifier(), 404),
    ):
        r = await eseal.client.get(url, headers=headers)
        assert r.status_code == status, (headers, r.text)
    r = await eseal.client.get(url, headers=eseal.platform(SHANGHAI))
    assert r.headers["etag"] == f'"{licence["id"]}-v1"' and r.json()["vc_jwt"] == licence["vc_jwt"]


async def test_licence_events_carry_no_personal_data_and_match_their_schemas(eseal: Any) -> None:
    licence = await issued(eseal, GUANGDONG)
    await eseal.client.post(
        f"/v1/licences/{licence['id']}/suspend",
        json={"reason": "核查"},
        headers={**eseal.platform(GUANGDONG), "If-Match": "*"},
    )
    await eseal.client.post(
        f"/v1/licences/{licence['id']}/revoke",
        json={},
        headers={**eseal.platform(GUANGDONG), "If-Match": "*"},
    )
    async with eseal.ctx.uow() as uow:
        rows = (
            (
                await uow.session.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.key == licence["id"])
                    .order_by(OutboxMessage.position)
                )
            )
            .scalars()
            .all()
        )
    types = [row.envelope["type"] for row in rows]
    assert types == [
        "cn.gov.tongban.eseal.licence-issued.v1",
        "cn.gov.tongban.eseal.licence-suspended.v1",
        "cn.gov.tongban.eseal.licence-revoked.v1",
    ]
    assert [row.envelope["sequence"] for row in rows] == [1, 2, 3]
    for row in rows:
        text = json.dumps(row.envelope, ensure_ascii=False)
        assert LISI not in text and "李四" not in text and "徐汇区" not in text
        schema = json.loads((SCHEMA_DIR / f"{row.envelope['type']}.json").read_text(encoding="utf-8"))
        Draft202012Validator(schema).validate(row.envelope["data"])
        assert row.envelope["extensions"] == {"region": GUANGDONG}
    issued_event = rows[0].envelope["data"]
    assert issued_event["holder_subject_hash"] == subject_hash(LISI, DEV_SUBJECT_HASH_KEY)
    assert issued_event["gm_signature"] is True and len(issued_event["credential_status"]) == 2


async def test_licence_type_registry(eseal: Any) -> None:
    types = (await eseal.client.get("/v1/licence-types")).json()
    assert {"code": "residence_permit", "name": "居住证"} in types
    r = await eseal.client.post(
        "/v1/licence-types", json={"code": "fishing_permit", "name": "捕捞许可证"}, headers=eseal.admin()
    )
    assert r.status_code == 201
    r = await eseal.client.post(
        "/v1/licence-types", json={"code": "fishing_permit", "name": "x"}, headers=eseal.admin()
    )
    assert r.status_code == 409
    r = await eseal.client.post(
        "/v1/trust/issuers",
        json={"uscc": ORGS[SHANGHAI], "region": SHANGHAI, "org_name": "x", "licence_types": ["no_such_type"]},
        headers=eseal.admin(),
    )
    assert r.status_code == 422 and r.json()["code"] == "unknown-licence-type"


async def test_status_lists_and_keys_are_public(eseal: Any) -> None:
    r = await eseal.client.get("/v1/status-lists/unknown")
    assert r.status_code == 404
    licence = await issued(eseal)
    entry = licence["credential_status"][1]
    r = await status_list(eseal, entry["status_list"], accept="application/json")
    assert (
        r.status_code == 200
        and r.json()["credential"]["credentialSubject"]["statusPurpose"] == entry["purpose"]
    )
    jwks = (await eseal.client.get("/v1/jwks", params={"org": ORGS[SHANGHAI]})).json()["keys"]
    assert jwks and all("d" not in k and k["x5c"] for k in jwks)
    kid = read_compact(licence["vc_jwt"]).header["kid"]
    assert kid in {k["kid"] for k in jwks}
