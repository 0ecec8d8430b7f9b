"""Queries end to end in-process: policy refusals, minimisation, verify, signatures, providers down."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from data_exchange_svc.adapters.orm import AuditRow
from exchange_hubkit import ITEM, OTHER_ITEM, hash_of  # type: ignore[import-not-found]
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select
from tongban_contracts.events.exchange import QueryLogged
from tongban_kit.outbox import OutboxMessage


async def _ready(
    hub: Any, resources: tuple[str, ...] = ("household-registration",), **case: Any
) -> tuple[str, str]:
    """A subject and an active case in 440000 they consented to."""
    person = hub.subject()
    case_id = hub.cases.add(**case)
    await hub.consent(person, case_id, list(resources))
    return person, case_id


def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    return body


async def test_share_returns_granted_fields_masked_and_signed(hub: Any) -> None:
    person, case_id = await _ready(hub)
    r = await hub.query(person, case_id, fields=["name", "birth_date", "household_head_name"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["data"]) == {"name", "birth_date", "household_head_name"}
    assert body["data"]["birth_date"] == f"{person[6:10]}-{person[10:12]}-{person[12:14]}"
    assert body["masked_fields"] == ["household_head_name"]
    assert body["data"]["household_head_name"].endswith("*")
    assert body["found"] is True
    assert body["subject_hash"] == hash_of(person)
    assert person not in r.text  # the identity number never comes back
    entry = (await hub.audit(case_id=case_id))[0]
    assert entry["outcome"] == "allowed"
    assert entry["seq"] == body["audit_seq"]
    assert entry["basis"].startswith("consent:")


async def test_response_signature_verifies_with_the_published_key(hub: Any) -> None:
    person, case_id = await _ready(hub)
    body = (await hub.query(person, case_id)).json()
    signature = body.pop("signature")
    keys = KeySet.import_key_set((await hub.client.get("/v1/keys")).json())
    signed = jws.deserialize_compact(signature, keys, algorithms=["ES256"])
    assert json.loads(signed.payload) == body
    assert signed.headers()["typ"] == "tongban-exchange-result+jws"
    assert signed.headers()["kid"] == keys.keys[0].kid
    # the same signature over an altered document does not verify
    head, _, sig = signature.split(".")
    altered = {**body, "data": {**body["data"], "name": "李四"}}
    payload = base64.urlsafe_b64encode(json.dumps(altered).encode()).decode().rstrip("=")
    with pytest.raises(JoseError):
        jws.deserialize_compact(f"{head}.{payload}.{sig}", keys, algorithms=["ES256"])
    # nor does a document signed by another key claiming the hub's kid
    stranger = ECKey.generate_key("P-256", parameters={"kid": keys.keys[0].kid})
    forged = jws.serialize_compact(
        {"alg": "ES256", "kid": keys.keys[0].kid},
        json.dumps(altered).encode(),
        stranger,
        algorithms=["ES256"],
    )
    with pytest.raises(JoseError):
        jws.deserialize_compact(forged, keys, algorithms=["ES256"])


async def test_no_grant_is_refused_and_logged(hub: Any) -> None:
    person, case_id = await _ready(hub, resources=("tax",))
    r = await hub.query(person, case_id, resource="tax", fields=["annual_income"])
    _problem(r, 403, "no-grant")
    (entry,) = await hub.audit(case_id=case_id)
    assert entry["outcome"] == "refused"
    assert entry["reason"] == "no-grant"
    assert entry["subject_hash"] == hash_of(person)
    assert entry["client_id"] == "platform-440000"
    assert entry["fields"] == ["annual_income"]
    assert entry["item_code"] == ITEM


async def test_grant_for_item_x_does_not_serve_item_y(hub: Any) -> None:
    person, case_id = await _ready(hub, item_code=OTHER_ITEM)
    r = await hub.query(person, case_id, item=OTHER_ITEM)
    _problem(r, 403, "item-not-granted")
    assert (await hub.audit(case_id=case_id))[0]["reason"] == "item-not-granted"


async def test_field_outside_grant_is_refused(hub: Any) -> None:
    person, case_id = await _ready(hub)
    r = await hub.query(person, case_id, fields=["name", "ethnicity"])
    body = _problem(r, 403, "field-not-granted")
    assert body["fields"] == ["ethnicity"]


async def test_field_outside_grant_never_returned_even_if_provider_sends_it(hub: Any) -> None:
    person, case_id = await _ready(hub)
    r = await hub.sandbox_client.put("/control/household-registration", json={"overshare": True})
    assert r.status_code == 200
    r = await hub.query(person, case_id, fields=["name"])
    assert r.status_code == 200, r.text
    assert list(r.json()["data"]) == ["name"]
    for leaked in ("ethnicity", "id_number", "household_address", "education"):
        assert leaked not in r.text


async def test_unknown_field_is_a_422(hub: Any) -> None:
    person, case_id = await _ready(hub)
    _problem(await hub.query(person, case_id, fields=["shoe_size"]), 422, "unknown-field")


async def test_no_consent_is_refused(hub: Any) -> None:
    person = hub.subject()
    case_id = hub.cases.add()
    _problem(await hub.query(person, case_id), 403, "no-consent")
    # a consent of someone else, or for another case, does not count
    await hub.consent(hub.subject(), case_id, ["household-registration"])
    await hub.consent(person, hub.cases.add(), ["household-registration"])
    _problem(await hub.query(person, case_id), 403, "no-consent")


async def test_revoked_consent_is_refused(hub: Any) -> None:
    person = hub.subject()
    case_id = hub.cases.add()
    consent = await hub.consent(person, case_id, ["household-registration"])
    assert (await hub.query(person, case_id)).status_code == 200
    url = f"/v1/consents/{consent['id']}/revoke"
    assert (await hub.client.post(url, headers=hub.citizen(person))).status_code == 428
    not_theirs = await hub.client.post(
        url, headers={**hub.citizen(hub.subject()), "If-Match": f'"{consent["id"]}-v1"'}
    )
    assert not_theirs.status_code == 404
    r = await hub.client.post(url, headers={**hub.citizen(person), "If-Match": f'"{consent["id"]}-v1"'})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked"
    _problem(await hub.query(person, case_id), 403, "no-consent")
    again = await hub.client.post(url, headers={**hub.citizen(person), "If-Match": f'"{consent["id"]}-v2"'})
    assert again.status_code == 409


async def test_case_checks(hub: Any) -> None:
    person, closed = await _ready(hub, status="concluded")
    _problem(await hub.query(person, closed), 403, "case-not-active")
    person, elsewhere = await _ready(hub, receiving="310000", handling="320000")
    _problem(await hub.query(person, elsewhere), 403, "case-wrong-region")
    person = hub.subject()
    _problem(await hub.query(person, "no-such-case"), 403, "case-not-found")


async def test_handling_and_joint_regions_may_query(hub: Any) -> None:
    person, case_id = await _ready(hub, receiving="310000", handling="440000")
    assert (await hub.query(person, case_id)).status_code == 200
    person, joint = await _ready(
        hub, receiving="310000", handling="320000", participants=frozenset({"440000"})
    )
    assert (await hub.query(person, joint)).status_code == 200


async def test_verify_returns_only_yes_or_no(hub: Any) -> None:
    person, case_id = await _ready(hub)
    await hub.sandbox_client.put("/control/household-registration", json={"overshare": True})
    share = (await hub.query(person, case_id, fields=["name"])).json()
    yes = await hub.query(person, case_id, mode="verify", fact={"name": share["data"]["name"]})
    assert yes.status_code == 200, yes.text
    body = yes.json()
    assert body["verified"] is True
    assert "data" not in body
    assert "found" not in body
    assert share["data"]["name"] not in yes.text  # the stated value is not echoed back
    no = await hub.query(person, case_id, mode="verify", fact={"name": "查无此人", "marital_status": "已婚"})
    assert no.json()["verified"] is False
    assert set(no.json()) >= {"verified", "signature", "fact_fields"}


async def test_statutory_basis_needs_no_consent(hub: Any) -> None:
    si = await hub.resource("social-insurance")
    await hub.grant(
        resource_id=si["id"],
        items=["JF00021001"],
        allowed_fields=["pension_status", "pension_contribution_months"],
        modes=["verify", "share"],
        statutory_basis="《中华人民共和国社会保险法》第十九条",
    )
    person = hub.subject()
    case_id = hub.cases.add(item_code="JF00021001")
    r = await hub.query(
        person, case_id, resource="social-insurance", item="JF00021001", fields=["pension_status"]
    )
    assert r.status_code == 200, r.text
    assert (await hub.audit(case_id=case_id))[0]["basis"] == "statutory:《中华人民共和国社会保险法》第十九条"


async def test_rate_limit_per_grant(hub: Any) -> None:
    emp = await hub.resource("employment")
    await hub.grant(
        resource_id=emp["id"],
        items=["GG00031001"],
        allowed_fields=["employment_status"],
        rate_limit_per_minute=2,
    )
    person, case_id = await _ready(hub, resources=("employment",), item_code="GG00031001")
    for _ in range(2):
        ok = await hub.query(
            person, case_id, resource="employment", item="GG00031001", fields=["employment_status"]
        )
        assert ok.status_code == 200, ok.text
    r = await hub.query(
        person, case_id, resource="employment", item="GG00031001", fields=["employment_status"]
    )
    _problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) >= 1


async def test_invalid_identity_number_is_a_logged_422(hub: Any) -> None:
    case_id = hub.cases.add()
    bad = hub.subject()[:17] + ("0" if hub.subject()[17] != "0" else "1")
    r = await hub.query(bad, case_id)
    body = _problem(r, 422, "invalid-subject")
    assert body["errors"][0]["field"] == "subject_id_number"
    (entry,) = await hub.audit(case_id=case_id)
    assert entry["outcome"] == "refused"
    assert entry["subject_hash"] is None


async def test_query_needs_the_query_scope(hub: Any) -> None:
    person, case_id = await _ready(hub)
    r = await hub.query(person, case_id, headers=hub.platform(scopes="eseal:verify"))
    _problem(r, 403, "insufficient-scope")


async def test_malformed_query_bodies_are_422(hub: Any) -> None:
    for body in (
        {
            "resource_id": "tax",
            "subject_id_number": "x" * 18,
            "case_id": "c",
            "item_code": ITEM,
            "mode": "share",
        },
        {
            "resource_id": "tax",
            "subject_id_number": "x" * 18,
            "case_id": "c",
            "item_code": ITEM,
            "mode": "verify",
            "fields": ["name"],
        },
    ):
        r = await hub.client.post("/v1/queries", json=body, headers=hub.platform())
        assert r.status_code == 422


async def test_provider_timeout_is_504_naming_it_and_breaker_opens(hub: Any) -> None:
    res = await hub.resource("housing-fund")
    patched = await hub.client.patch(
        f"/v1/resources/{res['id']}",
        json={"timeout_ms": 100},
        headers={**hub.admin(), "If-Match": f'"{res["id"]}-v{res["version"]}"'},
    )
    assert patched.status_code == 200
    await hub.grant(resource_id=res["id"], allowed_fields=["account_status"], modes=["share"])
    person, case_id = await _ready(hub, resources=("housing-fund",))
    await hub.sandbox_client.put("/control/housing-fund", json={"delay_ms": 1000})
    for _ in range(3):  # breaker_failures=3 in the test settings
        started = time.monotonic()
        r = await hub.query(person, case_id, resource="housing-fund", fields=["account_status"])
        body = _problem(r, 504, "provider-timeout")
        assert body["provider"] == "housing-fund"
        assert "housing-fund" in body["detail"]
        assert "住房和城乡建设部" in body["detail"]
        assert time.monotonic() - started < 0.9
    started = time.monotonic()
    r = await hub.query(person, case_id, resource="housing-fund", fields=["account_status"])
    body = _problem(r, 503, "provider-circuit-open")
    assert body["provider"] == "housing-fund"
    assert int(r.headers["Retry-After"]) >= 1
    assert time.monotonic() - started < 0.09  # refused without calling the provider
    outcomes = [(e["outcome"], e["reason"]) for e in await hub.audit(case_id=case_id)]
    assert outcomes == [("failed", "provider-circuit-open")] + [("failed", "provider-timeout")] * 3
    # other providers are unaffected
    person2, case2 = await _ready(hub)
    assert (await hub.query(person2, case2)).status_code == 200


async def test_failing_provider_is_503_naming_it(hub: Any) -> None:
    med = await hub.resource("medical-insurance")
    await hub.grant(resource_id=med["id"], allowed_fields=["insurance_status"], modes=["share"])
    person, case_id = await _ready(hub, resources=("medical-insurance",))
    await hub.sandbox_client.put("/control/medical-insurance", json={"fail_status": 500})
    r = await hub.query(person, case_id, resource="medical-insurance", fields=["insurance_status"])
    body = _problem(r, 503, "provider-unavailable")
    assert body["provider"] == "medical-insurance"
    await hub.sandbox_client.post("/control/reset")
    ok = await hub.query(person, case_id, resource="medical-insurance", fields=["insurance_status"])
    assert ok.status_code == 200
    assert ok.json()["data"]["insurance_status"] in {"参保", "暂停"}


async def test_citizen_sees_who_used_their_data(hub: Any) -> None:
    person, case_id = await _ready(hub)
    assert (await hub.query(person, case_id, fields=["name"])).status_code == 200
    _problem(await hub.query(person, case_id, fields=["ethnicity"]), 403, "field-not-granted")
    r = await hub.client.get("/v1/audit/subjects/me", headers=hub.citizen(person))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["outcome"] for i in items] == ["refused", "allowed"]
    assert items[1]["client_id"] == "platform-440000"
    assert items[1]["region"] == "440000"
    assert items[1]["resource"]["provider"] == "公安部"
    assert items[1]["item_code"] == ITEM
    assert items[1]["legal_basis"].startswith("consent:")
    other = await hub.client.get("/v1/audit/subjects/me", headers=hub.citizen(hub.subject()))
    assert other.json()["items"] == []
    assert (await hub.client.get("/v1/audit/subjects/me", headers=hub.platform())).status_code == 403


async def test_platform_sees_only_its_own_log_entries(hub: Any) -> None:
    person, case_id = await _ready(hub)
    await hub.query(person, case_id)
    r = await hub.client.get("/v1/audit", headers=hub.platform("310000"))
    assert r.status_code == 200
    assert {e["client_id"] for e in r.json()["items"]} <= {"platform-310000"}


async def test_every_log_entry_goes_to_the_outbox_in_chain_order(hub: Any) -> None:
    person, case_id = await _ready(hub)
    await hub.query(person, case_id)
    async with hub.app.state.runtime.session_factory() as session:
        rows = (await session.execute(select(AuditRow).order_by(AuditRow.seq))).scalars().all()
        events = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.key == "exchange-log")))
            .scalars()
            .all()
        )
    assert [e.sequence for e in events] == [r.seq for r in rows]
    last = events[-1].envelope
    assert last["type"] == "cn.gov.tongban.exchange.query-logged.v1"
    assert events[-1].topic.endswith("tongban.exchange.audit.v1")
    payload = QueryLogged.model_validate(last["data"])
    assert payload.hash == rows[-1].hash
    assert person not in json.dumps(last)
