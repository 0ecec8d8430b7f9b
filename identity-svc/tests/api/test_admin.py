"""Client administration, the dev realm, bootstrap-admin, audit events, contracts."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from identity_svc import event_schemas, openapi
from identity_svc.service_layer import dev_realm
from identity_svc.service_layer.bootstrap import AlreadyBootstrapped, bootstrap_admin

PLATFORM_BODY = {
    "client_id": "platform-350000",
    "name": "福建省政务服务平台",
    "kind": "platform",
    "region": "350000",
    "org": "11350000MB3500001X",  # wrong check character
    "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
    "scopes": ["cases:submit", "cases:read"],
    "redirect_uris": ["https://fj.example.gov.cn/callback"],
    "token_endpoint_auth_method": "client_secret_basic",
}


def _valid_org() -> str:
    from tongban_kit.identifiers import uscc_check_char

    first17 = "11350000MB3500001"
    return first17 + uscc_check_char(first17)


async def test_dev_realm_is_complete(harness: Any) -> None:
    headers = await harness.admin_headers()
    listed = await harness.client.get("/v1/clients", params={"limit": 5}, headers=headers)
    page1 = listed.json()
    assert len(page1["items"]) == 5 and page1["next_cursor"]
    rest = await harness.client.get(
        "/v1/clients", params={"limit": 50, "cursor": page1["next_cursor"]}, headers=headers
    )
    clients = {c["client_id"]: c for c in page1["items"] + rest.json()["items"]}
    for region in dev_realm.PLATFORM_REGIONS:
        platform = clients[f"platform-{region}"]
        assert platform["region"] == region and platform["redirect_uris"] == [dev_realm.REDIRECT_URI]
        assert set(platform["scopes"]) == set(dev_realm.PLATFORM_SCOPES)
        assert "urn:ietf:params:oauth:grant-type:token-exchange" in platform["grant_types"]
    assert clients["ministry-demo"]["region"] is None
    assert "identity:admin" in clients["admin-dev"]["scopes"]
    assert clients["svc-eseal"]["scopes"] == ["eseal:verify"]
    assert {f"svc-{s}" for s in dev_realm.SERVICE_PREFIXES} <= clients.keys()
    assert all(c["client_secret"] is None for c in clients.values())


async def test_client_registration_and_changes(harness: Any) -> None:
    headers = await harness.admin_headers()
    body = {**PLATFORM_BODY, "org": _valid_org()}
    created = await harness.client.post("/v1/clients", json=body, headers=headers)
    assert created.status_code == 201, created.text
    secret = created.json()["client_secret"]
    assert secret and len(secret) >= 40
    token = await harness.token("platform-350000", secret, "cases:read")
    assert token.status_code == 200
    fetched = await harness.client.get("/v1/clients/platform-350000", headers=headers)
    assert fetched.json()["client_secret"] is None
    etag = fetched.headers["etag"]
    no_if_match = await harness.client.patch(
        "/v1/clients/platform-350000", json={"scopes": ["cases:read"]}, headers=headers
    )
    assert no_if_match.status_code == 428
    changed = await harness.client.patch(
        "/v1/clients/platform-350000", json={"scopes": ["cases:read"]}, headers={**headers, "If-Match": etag}
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = await harness.client.patch(
        "/v1/clients/platform-350000", json={"active": False}, headers={**headers, "If-Match": etag}
    )
    assert stale.status_code == 412
    refused_scope = await harness.token("platform-350000", secret, "cases:submit")
    assert refused_scope.json()["error"] == "invalid_scope"
    rotated = await harness.client.post(
        "/v1/clients/platform-350000/secret", headers={**headers, "If-Match": changed.headers["etag"]}
    )
    new_secret = rotated.json()["client_secret"]
    assert (await harness.token("platform-350000", secret)).status_code == 401
    assert (await harness.token("platform-350000", new_secret)).status_code == 200
    disabled = await harness.client.patch(
        "/v1/clients/platform-350000",
        json={"active": False},
        headers={**headers, "If-Match": rotated.headers["etag"]},
    )
    assert disabled.json()["active"] is False
    assert (await harness.token("platform-350000", new_secret)).status_code == 401
    changes = [
        e["data"]["change"]
        for e in await harness.events("client-changed.v1")
        if e["data"]["client_id"] == "platform-350000"
    ]
    assert changes == ["created", "updated", "secret-rotated", "disabled"]


async def test_client_registration_rules(harness: Any) -> None:
    headers = await harness.admin_headers()
    bad_org = await harness.client.post("/v1/clients", json=PLATFORM_BODY, headers=headers)
    assert bad_org.status_code == 422 and bad_org.json()["code"] == "invalid-client-registration"
    duplicate = await harness.client.post(
        "/v1/clients",
        json={**PLATFORM_BODY, "org": _valid_org(), "client_id": "platform-440000"},
        headers=headers,
    )
    assert duplicate.status_code == 422
    implicit = await harness.client.post(
        "/v1/clients",
        json={**PLATFORM_BODY, "org": _valid_org(), "grant_types": ["implicit"]},
        headers=headers,
    )
    assert implicit.status_code == 422
    platform = await harness.access_token("platform-440000", dev_realm.PLATFORM_SECRET, "cases:read")
    denied = await harness.client.post(
        "/v1/clients", json=PLATFORM_BODY, headers={"Authorization": f"Bearer {platform}"}
    )
    assert denied.status_code == 401


async def test_bootstrap_admin_once(harness: Any, make_harness: Any) -> None:
    # The dev realm already has an identity:admin client: bootstrap refuses.
    with pytest.raises(AlreadyBootstrapped):
        await bootstrap_admin(uow=harness.app.state.runtime.uow(), ctx=harness.ctx)
    empty = await make_harness(dev_realm=False)
    client_id, secret = await bootstrap_admin(uow=empty.app.state.runtime.uow(), ctx=empty.ctx)
    assert client_id == "identity-admin"
    token = await empty.access_token(client_id, secret)
    created = await empty.client.post(
        "/v1/clients",
        json={**PLATFORM_BODY, "org": _valid_org()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201
    with pytest.raises(AlreadyBootstrapped, match="already"):
        await bootstrap_admin(uow=empty.app.state.runtime.uow(), ctx=empty.ctx)


async def test_audit_events_follow_their_schemas(harness: Any, helpers: Any) -> None:
    await harness.code_flow("zhangsan")
    _, challenge = helpers.pkce_pair()
    harness.client.cookies.clear()
    page = await harness.authorize(challenge=challenge)
    await harness.post_login(page, "zhangsan", "bad-password-1")
    await harness.client.post("/v1/keys/rotate", headers=await harness.admin_headers())
    events = await harness.events()
    schemas = {
        path.name.removesuffix(".json"): json.loads(text) for path, text in event_schemas.schemas().items()
    }
    kinds = set()
    for envelope in events:
        assert envelope["source"] == "urn:tongban:identity"
        assert envelope["dataschema"] == "urn:tongban:schema:" + envelope["type"]
        jsonschema.validate(envelope["data"], schemas[envelope["type"]])
        kinds.add(envelope["type"].split(".")[-2])
    assert {
        "login-succeeded",
        "login-failed",
        "token-issued",
        "key-rotated",
        "client-changed",
        "person-registered",
    } <= kinds
    # Sequences are gap-free per subject.
    by_subject: dict[str, list[int]] = {}
    for envelope in events:
        by_subject.setdefault(envelope["subject"], []).append(envelope["sequence"])
    for sequence in by_subject.values():
        assert sequence == list(range(1, len(sequence) + 1))


def test_openapi_document_is_current() -> None:
    assert openapi.TARGET.read_text(encoding="utf-8") == openapi.render(), (
        "contracts/openapi/identity.json is stale: run python -m identity_svc.openapi"
    )


def test_event_schemas_are_current() -> None:
    for path, text in event_schemas.schemas().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python -m identity_svc.event_schemas"
        )
