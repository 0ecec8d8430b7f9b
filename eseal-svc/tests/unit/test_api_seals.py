"""Seals through the API: creation (all algorithms), reading, image, listing, revocation and its event."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eseal_svc.adapters.crypto.ca import verify_chain
from eseal_svc.adapters.crypto.ses import parse_seal, verify_seal
from eseal_svc.adapters.orm import PkiRow, SealRow
from eseal_testkit import BEIJING, GUANGDONG, ORGS, SHANGHAI
from sqlalchemy import func, select
from tongban_kit.outbox import OutboxMessage


async def test_dev_seed_gives_each_province_a_seal_ca_and_each_platform_org_a_seal(eseal: Any) -> None:
    async with eseal.ctx.uow() as uow:
        cas = (await uow.session.execute(select(PkiRow.region, PkiRow.algorithm))).all()
    assert {(r, a) for r, a in cas} == {
        (r, a) for r in (BEIJING, SHANGHAI, GUANGDONG) for a in ("SM2_SM3", "ECDSA_P256_SHA256", "ED25519")
    }
    for region in (BEIJING, SHANGHAI, GUANGDONG):
        seal = await eseal.seal_of(region)
        assert (seal["uscc"], seal["algorithm"], seal["status"]) == (ORGS[region], "SM2_SM3", "active")


@pytest.mark.parametrize("algorithm", ["SM2_SM3", "ECDSA_P256_SHA256", "ED25519"])
async def test_create_and_read_a_seal(eseal: Any, algorithm: str) -> None:
    created = await eseal.create_seal(
        algorithm=algorithm, seal_type="contract", region="310115", uscc=ORGS[SHANGHAI]
    )
    assert created["name"] == "测试单位合同专用章" and created["region"] == "310115"
    r = await eseal.client.get(f"/v1/seals/{created['id']}", headers=eseal.verifier())
    assert r.status_code == 200 and r.headers["etag"] == f'"{created["id"]}-v1"'
    body = r.json()
    parsed = parse_seal(base64.b64decode(body["seal"]))
    assert parsed.es_id == body["es_id"] and parsed.name == body["name"]
    assert parsed.certificates == (base64.b64decode(body["signer_certificate"]),)
    assert f"NTRCN-{ORGS[SHANGHAI]}" in body["certificate"]["subject"]
    anchors = (await eseal.client.get("/v1/trust")).json()["anchors"]
    shanghai_roots = [base64.b64decode(a["certificate"]) for a in anchors if a["region"] == SHANGHAI]
    assert verify_seal(
        base64.b64decode(body["seal"]), trust_anchors=shanghai_roots, at=datetime.now(UTC)
    ).passed
    # SM2 seals get an ES256 licence key of their own; others sign licences with the seal key.
    key = body["licence_key"]
    assert key["alg"] == {"SM2_SM3": "ES256", "ECDSA_P256_SHA256": "ES256", "ED25519": "Ed25519"}[algorithm]
    assert "d" not in key["jwk"] and key["jwk"]["kid"] == key["kid"]
    chain = verify_chain(
        base64.b64decode(key["certificate"]), trust_anchors=shanghai_roots, at=datetime.now(UTC)
    )
    assert chain.valid, chain.detail
    image = await eseal.client.get(f"/v1/seals/{created['id']}/image", headers=eseal.verifier())
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and image.content == parsed.picture.data
    assert body["image_url"].endswith(f"/eseal/v1/seals/{created['id']}/image")


async def test_only_admins_create_seals(eseal: Any) -> None:
    body = {
        "org_name": "x",
        "uscc": ORGS[BEIJING],
        "region": BEIJING,
        "valid_from": datetime.now(UTC).isoformat(),
        "valid_to": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    }
    r = await eseal.client.post("/v1/seals", json=body)
    assert r.status_code == 401
    r = await eseal.client.post("/v1/seals", json=body, headers=eseal.platform(BEIJING))
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"uscc": "91350100M000100Y44"}, 422, "invalid-uscc"),
        ({"region": "510000"}, 422, "region-not-hosted"),
        ({"region": "990000"}, 422, "invalid-region"),
        (
            {"valid_to": "2020-01-01T00:00:00Z", "valid_from": "2019-01-01T00:00:00Z"},
            422,
            "invalid-validity-window",
        ),
        ({"algorithm": "RSA"}, 422, "validation-failed"),
        ({"valid_from": "2026-01-01T00:00:00"}, 422, "validation-failed"),
        ({"private_key": "x"}, 422, "validation-failed"),
    ],
)
async def test_bad_seal_requests(eseal: Any, overrides: dict[str, Any], status: int, code: str) -> None:
    now = datetime.now(UTC)
    body = {
        "org_name": "某局",
        "uscc": ORGS[BEIJING],
        "region": BEIJING,
        "valid_from": now.isoformat(),
        "valid_to": (now + timedelta(days=10)).isoformat(),
        **overrides,
    }
    async with eseal.ctx.uow() as uow:
        before = (await uow.session.execute(select(func.count()).select_from(SealRow))).scalar_one()
    r = await eseal.client.post("/v1/seals", json=body, headers=eseal.admin())
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert r.headers["content-type"] == "application/problem+json"
    async with eseal.ctx.uow() as uow:
        assert (await uow.session.execute(select(func.count()).select_from(SealRow))).scalar_one() == before


async def test_idempotency_key_replays_the_first_seal(eseal: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "org_name": "幂等单位",
        "uscc": ORGS[GUANGDONG],
        "region": GUANGDONG,
        "valid_from": now.isoformat(),
        "valid_to": (now + timedelta(days=10)).isoformat(),
    }
    headers = {**eseal.admin(), "Idempotency-Key": "seal-create-1"}
    first = await eseal.client.post("/v1/seals", json=body, headers=headers)
    again = await eseal.client.post("/v1/seals", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = await eseal.client.post("/v1/seals", json={**body, "org_name": "另一个"}, headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency-key-reused"


async def test_list_filters_and_keyset_pagination(eseal: Any) -> None:
    for _ in range(3):
        await eseal.create_seal(uscc=ORGS[GUANGDONG], region="440300", org_name="深圳某局")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"org": ORGS[GUANGDONG], "region": "440300", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await eseal.client.get("/v1/seals", params=params, headers=eseal.platform(GUANGDONG))
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [s["id"] for s in page["items"]]
        assert all(s["region"] == "440300" and s["uscc"] == ORGS[GUANGDONG] for s in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3 and seen == sorted(seen)
    r = await eseal.client.get("/v1/seals", params={"cursor": "%%%"}, headers=eseal.admin())
    assert r.status_code == 400 and r.json()["code"] == "bad-cursor"
    # A credit code is 18 letters and digits: anything else (a NUL PostgreSQL cannot store) is a 422.
    for path, headers in (("/v1/seals", eseal.admin()), ("/v1/jwks", {})):
        r = await eseal.client.get(path, params={"org": "M\x00" + "1" * 16}, headers=headers)
        assert r.status_code == 422, r.text


async def test_revoke_needs_if_match_and_records_an_event(eseal: Any) -> None:
    seal = await eseal.create_seal(uscc=ORGS[BEIJING])
    url = f"/v1/seals/{seal['id']}/revoke"
    r = await eseal.client.post(url, json={"reason": "印章遗失"}, headers=eseal.admin())
    assert r.status_code == 428
    r = await eseal.client.post(
        url, json={"reason": "印章遗失"}, headers={**eseal.admin(), "If-Match": '"x-v9"'}
    )
    assert r.status_code == 412
    r = await eseal.client.post(
        url, json={"reason": "印章遗失"}, headers={**eseal.platform(BEIJING), "If-Match": "*"}
    )
    assert r.status_code == 403
    r = await eseal.client.post(
        url, json={"reason": "印章遗失"}, headers={**eseal.admin(), "If-Match": f'"{seal["id"]}-v1"'}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "revoked" and body["revocation_reason"] == "印章遗失" and body["version"] == 2
    assert r.headers["etag"] == f'"{seal["id"]}-v2"'
    r = await eseal.client.post(
        url, json={"reason": "again"}, headers={**eseal.admin(), "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 409 and r.json()["code"] == "seal-already-revoked"
    async with eseal.ctx.uow() as uow:
        rows = (
            (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.key == seal["id"])))
            .scalars()
            .all()
        )
    assert [row.envelope["type"] for row in rows] == ["cn.gov.tongban.eseal.seal-revoked.v1"]
    event = rows[0].envelope
    assert (
        event["sequence"] == 1
        and event["data"]["reason"] == "印章遗失"
        and event["data"]["uscc"] == ORGS[BEIJING]
    )
    assert rows[0].topic == eseal.settings.topic("tongban.eseal.licence.v1")


async def test_revocation_cannot_be_dated_in_the_future(eseal: Any) -> None:
    seal = await eseal.create_seal()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await eseal.client.post(
        f"/v1/seals/{seal['id']}/revoke",
        json={"reason": "x", "invalid_since": future},
        headers={**eseal.admin(), "If-Match": "*"},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid-validity-window"


async def test_unknown_seal_is_404(eseal: Any) -> None:
    r = await eseal.client.get("/v1/seals/nope", headers=eseal.verifier())
    assert r.status_code == 404 and r.json()["code"] == "not-found"
    r = await eseal.client.get("/v1/seals/nope/image", headers=eseal.verifier())
    assert r.status_code == 404
