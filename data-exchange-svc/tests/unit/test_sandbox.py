"""The sandbox providers: deterministic records, signature checks, behaviour controls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from data_exchange_svc.adapters.signing import HubSigner, generate_key
from data_exchange_svc.sandbox import SandboxSettings, create_app
from data_exchange_svc.sandbox.catalogue import PROVIDERS
from data_exchange_svc.sandbox.records import Person, RecordStore, population
from tongban_kit.identifiers import validate_resident_id

PATH = "/providers/household-registration"


@pytest.fixture
def signer() -> HubSigner:
    return HubSigner(generate_key())


@pytest.fixture
async def sandbox(signer: HubSigner) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SandboxSettings(env="test", hub_jwks=json.dumps(signer.jwks)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client


def _body(rid: str, **kw: Any) -> bytes:
    doc = {"request_id": "r1", "mode": "share", "subject_id_number": rid, "fields": ["name", "gender"], **kw}
    return json.dumps(doc).encode()


async def _post(
    client: httpx.AsyncClient,
    signer: HubSigner,
    body: bytes,
    *,
    path: str = PATH,
    aud: str = "household-registration",
    sign_body: bytes | None = None,
) -> httpx.Response:
    sig = signer.sign_request("POST", path, sign_body if sign_body is not None else body, aud)
    return await client.post(path, content=body, headers={"Tongban-Signature": sig})


def test_population_is_deterministic_and_valid() -> None:
    first, again = population(300), population(300)
    assert first == again
    assert len(set(first)) == 300
    assert all(validate_resident_id(r) == r for r in first)
    assert population(5, seed="other") != first[:5]


def test_records_agree_across_providers_and_with_the_number() -> None:
    rid = population(10)[3]
    store = RecordStore()
    household = store.lookup("household-registration", rid)
    assert household is not None
    assert household["birth_date"] == f"{rid[6:10]}-{rid[10:12]}-{rid[12:14]}"
    assert household["gender"] == ("男" if int(rid[16]) % 2 else "女")
    for code in PROVIDERS:
        record = store.lookup(code, rid)
        if record is not None:
            assert record["name"] == household["name"]
            assert set(record) <= set(PROVIDERS[code].field_names())
    assert store.lookup("household-registration", rid) == Person(rid).records()["household-registration"]


def test_children_have_no_adult_records() -> None:
    store = RecordStore()
    from datetime import date

    from data_exchange_svc.sandbox.records import make_resident_id

    child = make_resident_id("440106", date(2020, 5, 1), 12)
    assert store.lookup("household-registration", child) is not None
    assert store.lookup("medical-insurance", child) is not None
    for code in ("social-insurance", "tax", "employment", "housing-fund"):
        assert store.lookup(code, child) is None
    assert store.lookup("household-registration", "123") is None


async def test_signed_request_is_answered(sandbox: httpx.AsyncClient, signer: HubSigner) -> None:
    rid = population(1)[0]
    r = await _post(sandbox, signer, _body(rid))
    assert r.status_code == 200, r.text
    assert set(r.json()["record"]) == {"name", "gender"}


async def test_unsigned_or_altered_requests_are_refused(
    sandbox: httpx.AsyncClient, signer: HubSigner
) -> None:
    rid = population(1)[0]
    unsigned = await sandbox.post(PATH, content=_body(rid))
    assert unsigned.status_code == 401
    altered = await _post(sandbox, signer, _body(rid, fields=["name", "ethnicity"]), sign_body=_body(rid))
    assert altered.status_code == 401
    assert "body" in altered.json()["detail"]
    wrong_aud = await _post(sandbox, signer, _body(rid), aud="tax")
    assert "audience" in wrong_aud.json()["detail"]
    stranger = HubSigner(generate_key())
    assert (await _post(sandbox, stranger, _body(rid))).status_code == 401


async def test_replayed_request_is_refused(sandbox: httpx.AsyncClient, signer: HubSigner) -> None:
    body = _body(population(1)[0])
    sig = signer.sign_request("POST", PATH, body, "household-registration")
    first = await sandbox.post(PATH, content=body, headers={"Tongban-Signature": sig})
    second = await sandbox.post(PATH, content=body, headers={"Tongban-Signature": sig})
    assert first.status_code == 200
    assert second.status_code == 401
    assert "already used" in second.json()["detail"]


async def test_verify_and_unknown_subject(sandbox: httpx.AsyncClient, signer: HubSigner) -> None:
    rid = population(2)[1]
    name = Person(rid).records()["household-registration"]["name"]  # type: ignore[index]
    yes = await _post(
        sandbox,
        signer,
        json.dumps({"mode": "verify", "subject_id_number": rid, "fact": {"name": name}}).encode(),
    )
    assert yes.json() == {
        "found": True,
        "provider": "household-registration",
        "request_id": None,
        "match": True,
    }
    no = await _post(
        sandbox,
        signer,
        json.dumps({"mode": "verify", "subject_id_number": rid, "fact": {"name": name + "甲"}}).encode(),
    )
    assert no.json()["match"] is False
    path = "/providers/tax"
    child = "440106202005010125"
    from tongban_kit.identifiers import resident_id_check_digit

    child = child[:17] + resident_id_check_digit(child[:17])
    missing = await _post(sandbox, signer, _body(child), path=path, aud="tax")
    assert missing.status_code == 404


async def test_controls_make_a_provider_fail_and_the_query_flag_too(
    sandbox: httpx.AsyncClient, signer: HubSigner
) -> None:
    rid = population(1)[0]
    r = await sandbox.put("/control/household-registration", json={"fail_status": 503})
    assert r.status_code == 200
    assert (await _post(sandbox, signer, _body(rid))).status_code == 503
    await sandbox.post("/control/reset")
    assert (await _post(sandbox, signer, _body(rid))).status_code == 200
    flagged = await _post(sandbox, signer, _body(rid), path=PATH + "?fail_status=502")
    assert flagged.status_code == 502
    assert (await sandbox.put("/control/nope", json={})).status_code == 404


def test_sandbox_refuses_to_run_in_production() -> None:
    with pytest.raises(RuntimeError):
        create_app(SandboxSettings(env="production"))
