"""The hub's API in-process: keys, seeded resources and grants, admin writes, consents, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

ADMIN_ONLY = ("/v1/audit/verify",)
SOON = (datetime.now(UTC) + timedelta(days=20)).isoformat()


async def test_public_keys_need_no_token(hub: Any) -> None:
    r = await hub.client.get("/v1/keys")
    assert r.status_code == 200
    (key,) = r.json()["keys"]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert "d" not in key  # never the private half
    assert (await hub.client.get("/.well-known/jwks.json")).json() == r.json()


async def test_dev_seed_registers_six_providers_and_platform_grants(hub: Any) -> None:
    r = await hub.client.get("/v1/resources", headers=hub.platform())
    assert r.status_code == 200
    codes = {item["code"] for item in r.json()["items"]}
    assert codes == {
        "household-registration",
        "social-insurance",
        "housing-fund",
        "medical-insurance",
        "tax",
        "employment",
    }
    grants = (await hub.client.get("/v1/grants", headers=hub.platform())).json()["items"]
    assert grants, "platform-440000 has its seeded grant"
    assert {g["client_id"] for g in grants} == {"platform-440000"}  # a client sees only its own
    household = await hub.resource("household-registration")
    assert all(g["resource_id"] == household["id"] for g in grants)
    assert "XK00003001" in grants[0]["items"]
    admin_view = (await hub.client.get("/v1/grants", headers=hub.admin(), params={"limit": 200})).json()
    assert len({g["client_id"] for g in admin_view["items"]}) >= 6


async def test_resource_pagination_uses_cursors(hub: Any) -> None:
    first = (await hub.client.get("/v1/resources", params={"limit": 4}, headers=hub.admin())).json()
    assert len(first["items"]) == 4
    assert first["next_cursor"]
    second = (
        await hub.client.get(
            "/v1/resources", params={"limit": 4, "cursor": first["next_cursor"]}, headers=hub.admin()
        )
    ).json()
    assert len(second["items"]) >= 2
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    bad = await hub.client.get("/v1/resources", params={"cursor": "!!"}, headers=hub.admin())
    assert bad.status_code == 400


async def test_writing_resources_needs_admin_scope(hub: Any) -> None:
    body = {
        "code": "test-pension",
        "name": "养老金领取资格",
        "provider": {"name": "某省人社厅"},
        "region": "440000",
        "domain": "pension",
        "endpoint_url": "http://sandbox/providers/social-insurance",
        "fields": [{"name": "pension_status", "label": "养老保险参保状态", "kind": "code"}],
        "supports": ["verify"],
    }
    denied = await hub.client.post("/v1/resources", json=body, headers=hub.platform())
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient-scope"
    made = await hub.client.post("/v1/resources", json=body, headers=hub.admin())
    assert made.status_code == 201, made.text
    assert made.headers["ETag"] == f'"{made.json()["id"]}-v1"'
    again = await hub.client.post("/v1/resources", json=body, headers=hub.admin())
    assert again.status_code == 409
    bad = await hub.client.post(
        "/v1/resources", json={**body, "code": "x-2", "domain": "weather", "extra": 1}, headers=hub.admin()
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"body.domain", "body.extra"}


async def test_patch_resource_needs_if_match(hub: Any) -> None:
    res = await hub.resource("employment")
    no_match = await hub.client.patch(
        f"/v1/resources/{res['id']}", json={"timeout_ms": 1500}, headers=hub.admin()
    )
    assert no_match.status_code == 428
    stale = await hub.client.patch(
        f"/v1/resources/{res['id']}", json={"timeout_ms": 1500}, headers={**hub.admin(), "If-Match": '"x-v9"'}
    )
    assert stale.status_code == 412
    ok = await hub.client.patch(
        f"/v1/resources/{res['id']}",
        json={"timeout_ms": 1500},
        headers={**hub.admin(), "If-Match": f'"{res["id"]}-v{res["version"]}"'},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["timeout_ms"] == 1500
    assert ok.json()["version"] == res["version"] + 1


async def test_grant_must_fit_the_resource(hub: Any) -> None:
    tax = await hub.resource("tax")
    r = await hub.client.post(
        "/v1/grants",
        json={
            "client_id": "platform-310000",
            "resource_id": tax["id"],
            "items": ["XK00003001"],
            "allowed_fields": ["annual_income", "shoe_size"],
            "masked_fields": ["name"],
            "modes": ["share"],
            "expires_at": "2030-01-01T00:00:00Z",
        },
        headers=hub.admin(),
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"allowed_fields", "masked_fields"}


async def test_grant_creation_is_idempotent(hub: Any) -> None:
    tax = await hub.resource("tax")
    body = {
        "client_id": "platform-320000",
        "resource_id": tax["id"],
        "items": ["QR00011001"],
        "allowed_fields": ["tax_year", "annual_income"],
        "modes": ["verify"],
        "expires_at": "2030-01-01T00:00:00Z",
    }
    headers = {**hub.admin(), "Idempotency-Key": "grant-once-1"}
    first = await hub.client.post("/v1/grants", json=body, headers=headers)
    second = await hub.client.post("/v1/grants", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = await hub.client.post("/v1/grants", json={**body, "rate_limit_per_minute": 5}, headers=headers)
    assert other.status_code == 409


async def test_consent_needs_a_person_and_is_theirs_alone(hub: Any) -> None:
    person, other = hub.subject(), hub.subject()
    case_id = hub.cases.add()
    platform_only = await hub.client.post(
        "/v1/consents",
        json={"case_id": case_id, "resource_ids": ["tax"], "until": SOON},
        headers=hub.platform(),
    )
    assert platform_only.status_code == 403
    assert platform_only.json()["code"] == "citizen-token-required"
    consent = await hub.consent(person, case_id, ["tax", "household-registration"])
    assert len(consent["resource_ids"]) == 2
    assert consent["actor"]["client_id"] == "platform-440000"
    mine = await hub.client.get(f"/v1/consents/{consent['id']}", headers=hub.citizen(person))
    assert mine.status_code == 200
    theirs = await hub.client.get(f"/v1/consents/{consent['id']}", headers=hub.citizen(other))
    assert theirs.status_code == 404
    listed = (await hub.client.get("/v1/consents", headers=hub.citizen(other))).json()["items"]
    assert listed == []


async def test_consent_via_token_exchange_records_the_platform_as_actor(hub: Any) -> None:
    person = hub.subject()
    r = await hub.client.post(
        "/v1/consents",
        json={"case_id": hub.cases.add(), "resource_ids": ["household-registration"], "until": SOON},
        headers=hub.citizen(person, via_exchange=True),
    )
    assert r.status_code == 201, r.text
    assert r.json()["actor"]["on_behalf_of"].startswith("person-")


async def test_consent_rejects_unknown_resources_and_past_or_far_ends(hub: Any) -> None:
    person = hub.subject()
    r = await hub.client.post(
        "/v1/consents",
        json={"case_id": "c-1", "resource_ids": ["no-such"], "until": "2020-01-01T00:00:00Z"},
        headers=hub.citizen(person),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"resource_ids", "until"}
    far = await hub.client.post(
        "/v1/consents",
        json={"case_id": "c-1", "resource_ids": ["tax"], "until": "2099-01-01T00:00:00Z"},
        headers=hub.citizen(person),
    )
    assert far.status_code == 422
    naive = await hub.client.post(
        "/v1/consents",
        json={"case_id": "c-1", "resource_ids": ["tax"], "until": "2027-01-01T00:00:00"},
        headers=hub.citizen(person),
    )
    assert naive.status_code == 422


async def test_admin_only_routes_refuse_platforms(hub: Any) -> None:
    for path in ADMIN_ONLY:
        r = await hub.client.get(path, headers=hub.platform())
        assert r.status_code == 403, path
    assert (await hub.client.get("/v1/audit")).status_code == 401
