"""Signatures through the API: ownership, batches, DSS-style reports, revocation, trust anchors, PAdES."""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eseal_svc.adapters.crypto import ses
from eseal_svc.adapters.crypto.ca import create_deployment_pki
from eseal_svc.adapters.crypto.sealmaker import make_organisation_seal
from eseal_svc.domain.model import SealAlgorithm, SealSpec, SealType
from eseal_testkit import BEIJING, GUANGDONG, ORGS, OUTSIDER, SHANGHAI, sha256_hex, sm3_hex
from PIL import Image

DOCUMENT = "《跨省通办事项办理结果通知书》第 2026-000123 号".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pdf_document() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(buffer, "PDF")
    return buffer.getvalue()


async def test_sign_and_verify_across_regions(eseal: Any) -> None:
    seal = await eseal.seal_of(GUANGDONG)
    r = await eseal.sign_digest(seal["id"], DOCUMENT, GUANGDONG)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == "GB/T 38540-2020 SES_Signature v4" and body["es_id"] == seal["es_id"]
    (item,) = body["signatures"]
    assert item["data_hash"] == sm3_hex(DOCUMENT)
    parsed = ses.parse_signature(base64.b64decode(item["signature"]))
    assert parsed.seal.es_id == seal["es_id"] and parsed.data_hash.hex() == sm3_hex(DOCUMENT)
    # Beijing's platform verifies what Guangdong sealed.
    r = await eseal.client.post(
        "/v1/signatures/verify",
        json={"signature": item["signature"], "document": b64(DOCUMENT)},
        headers=eseal.platform(BEIJING),
    )
    report = r.json()
    assert report["indication"] == "TOTAL_PASSED" and report["sub_indication"] is None
    assert {c["name"] for c in report["checks"]} >= {
        "format",
        "seal_maker_signature",
        "seal_maker_chain",
        "seal_validity",
        "signer_in_seal",
        "signer_chain",
        "data_hash",
        "signature_value",
        "revocation",
    }
    assert all(c["passed"] for c in report["checks"])
    assert "440000" in report["info"]["trust_anchor_subject"] and report["info"]["digest_algorithm"] == "SM3"


async def test_a_changed_byte_is_a_hash_failure(eseal: Any) -> None:
    seal = await eseal.seal_of(SHANGHAI)
    signature = (await eseal.sign_digest(seal["id"], DOCUMENT, SHANGHAI)).json()["signatures"][0]["signature"]
    changed = bytearray(DOCUMENT)
    changed[7] ^= 0x01
    report = await eseal.verify(signature, bytes(changed))
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "HASH_FAILURE")
    failed = [c for c in report["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["data_hash"]
    # A changed byte in the signature itself breaks the structure or the signature value.
    der = bytearray(base64.b64decode(signature))
    der[-5] ^= 0x01
    report = await eseal.verify(b64(bytes(der)), DOCUMENT)
    assert report["indication"] == "TOTAL_FAILED"
    assert report["sub_indication"] in ("SIG_CRYPTO_FAILURE", "FORMAT_FAILURE")


async def test_digest_form_of_verification(eseal: Any) -> None:
    seal = await eseal.seal_of(SHANGHAI)
    signature = (await eseal.sign_digest(seal["id"], DOCUMENT, SHANGHAI)).json()["signatures"][0]["signature"]
    r = await eseal.client.post(
        "/v1/signatures/verify",
        json={"signature": signature, "digest": {"algorithm": "sm3", "value": sm3_hex(DOCUMENT)}},
        headers=eseal.verifier(),
    )
    assert r.json()["indication"] == "TOTAL_PASSED"
    r = await eseal.client.post(
        "/v1/signatures/verify",
        json={"signature": signature, "digest": {"algorithm": "sm3", "value": sm3_hex(b"other")}},
        headers=eseal.verifier(),
    )
    assert r.json()["sub_indication"] == "HASH_FAILURE"


async def test_document_bytes_are_hashed_by_the_service(eseal: Any) -> None:
    seal = await eseal.seal_of(BEIJING)
    r = await eseal.client.post(
        "/v1/signatures",
        json={
            "seal_id": seal["id"],
            "document": b64(DOCUMENT),
            "property_info": "case:110000-20261127-000001",
        },
        headers=eseal.platform(BEIJING),
    )
    assert r.status_code == 200, r.text
    signature = r.json()["signatures"][0]["signature"]
    assert ses.parse_signature(base64.b64decode(signature)).property_info == "case:110000-20261127-000001"
    assert (await eseal.verify(signature, DOCUMENT))["indication"] == "TOTAL_PASSED"


async def test_batch_signing_and_batch_verification(eseal: Any) -> None:
    seal = await eseal.seal_of(SHANGHAI)
    documents = [f"第{i}号材料".encode() for i in range(100)]
    r = await eseal.client.post(
        "/v1/signatures",
        json={
            "seal_id": seal["id"],
            "digests": [{"algorithm": "sm3", "value": sm3_hex(d)} for d in documents],
        },
        headers=eseal.platform(SHANGHAI),
    )
    assert r.status_code == 200, r.text
    signatures = r.json()["signatures"]
    assert [s["data_hash"] for s in signatures] == [sm3_hex(d) for d in documents]
    times = {ses.parse_signature(base64.b64decode(s["signature"])).time_info for s in signatures}
    assert len(times) == 1
    items = [
        {"signature": s["signature"], "document": b64(d)} for s, d in zip(signatures, documents, strict=True)
    ]
    items[42]["document"] = b64(b"forged")
    r = await eseal.client.post(
        "/v1/signatures/verify/batch", json={"items": items}, headers=eseal.verifier()
    )
    assert r.status_code == 200, r.text
    indications = [rep["indication"] for rep in r.json()["reports"]]
    assert indications.count("TOTAL_PASSED") == 99 and indications[42] == "TOTAL_FAILED"


async def test_a_batch_above_the_limit_is_refused(eseal: Any) -> None:
    seal = await eseal.seal_of(SHANGHAI)
    digests = [{"algorithm": "sm3", "value": "00" * 32}] * 1001
    r = await eseal.client.post(
        "/v1/signatures", json={"seal_id": seal["id"], "digests": digests}, headers=eseal.platform(SHANGHAI)
    )
    assert r.status_code == 422


async def test_an_organisation_signs_only_with_its_own_seal(eseal: Any) -> None:
    shanghai = await eseal.seal_of(SHANGHAI)
    r = await eseal.sign_digest(shanghai["id"], DOCUMENT, BEIJING)
    assert r.status_code == 403 and r.json()["code"] == "seal-not-owned"
    # Admin and service tokens carry no org and hold no eseal:sign: they cannot sign for anyone.
    r = await eseal.client.post(
        "/v1/signatures",
        json={"seal_id": shanghai["id"], "digest": {"algorithm": "sm3", "value": sm3_hex(DOCUMENT)}},
        headers=eseal.token("eseal:sign eseal:admin", client_id="admin-dev"),
    )
    assert r.status_code == 403 and r.json()["code"] == "seal-not-owned"
    r = await eseal.client.post(
        "/v1/signatures",
        json={"seal_id": shanghai["id"], "digest": {"algorithm": "sm3", "value": sm3_hex(DOCUMENT)}},
        headers=eseal.verifier(),
    )
    assert r.status_code == 403 and r.json()["code"] == "insufficient-scope"
    r = await eseal.sign_digest(shanghai["id"], DOCUMENT, SHANGHAI, org=OUTSIDER)
    assert r.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"digest": {"algorithm": "sha256", "value": "00" * 32}},
        {"digest": {"algorithm": "sm3", "value": "zz" * 32}},
        {"digest": {"algorithm": "sm3", "value": "00" * 31}},
        {"document": "not base64!"},
        {},
        {"document": "AA==", "digest": {"algorithm": "sm3", "value": "00" * 32}},
    ],
)
async def test_bad_sign_requests(eseal: Any, body: dict[str, Any]) -> None:
    seal = await eseal.seal_of(SHANGHAI)
    r = await eseal.client.post(
        "/v1/signatures", json={"seal_id": seal["id"], **body}, headers=eseal.platform(SHANGHAI)
    )
    assert r.status_code == 422, r.text


async def test_signatures_after_revocation_report_revoked(eseal: Any) -> None:
    seal = await eseal.create_seal(uscc=ORGS[BEIJING], org_name="即将注销的单位")
    before = (await eseal.sign_digest(seal["id"], DOCUMENT, BEIJING)).json()
    await asyncio.sleep(1.1)  # signing times are to the second
    after = (await eseal.sign_digest(seal["id"], DOCUMENT, BEIJING)).json()
    assert after["signed_at"] > before["signed_at"]
    # The key was found compromised: the seal is invalid from the second signature's time on.
    r = await eseal.client.post(
        f"/v1/seals/{seal['id']}/revoke",
        json={"reason": "私钥泄露", "invalid_since": after["signed_at"]},
        headers={**eseal.admin(), "If-Match": f'"{seal["id"]}-v1"'},
    )
    assert r.status_code == 200, r.text
    report = await eseal.verify(after["signatures"][0]["signature"], DOCUMENT)
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "REVOKED")
    revocation = next(c for c in report["checks"] if c["name"] == "revocation")
    assert not revocation["passed"] and "before signing" in revocation["detail"]
    report = await eseal.verify(before["signatures"][0]["signature"], DOCUMENT)
    assert report["indication"] == "TOTAL_PASSED"
    assert "after signing" in next(c for c in report["checks"] if c["name"] == "revocation")["detail"]
    # And a revoked seal signs nothing more.
    r = await eseal.sign_digest(seal["id"], DOCUMENT, BEIJING)
    assert r.status_code == 409 and r.json()["code"] == "seal-revoked"


async def test_foreign_signatures_need_a_registered_trust_anchor(eseal: Any) -> None:
    now = datetime.now(UTC)
    foreign = create_deployment_pki(
        algorithm=SealAlgorithm.SM2_SM3, region="320000", operator="Tongban 江苏", now=now - timedelta(days=1)
    )
    spec = SealSpec.create(
        org_name="南京市某局",
        uscc="91350100M000100Y43",
        region="320100",
        seal_type=SealType.OFFICIAL,
        algorithm=SealAlgorithm.SM2_SM3,
        valid_from=now - timedelta(hours=1),
        valid_to=now + timedelta(days=30),
        now=now,
    )
    made = make_organisation_seal(spec, pki=foreign, es_id="320100-0001", created_at=now - timedelta(hours=1))
    signature = ses.sign(
        seal_der=made.seal_der,
        signer=made.signer,
        signer_certificate=made.signer_certificate,
        data_hash=bytes.fromhex(sm3_hex(DOCUMENT)),
        signed_at=now,
    )
    report = await eseal.verify(b64(signature), DOCUMENT)
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")

    pem = "-----BEGIN CERTIFICATE-----\n" + b64(foreign.trust_anchor) + "\n-----END CERTIFICATE-----\n"
    r = await eseal.client.post(
        "/v1/trust/anchors", json={"region": "320000", "certificate": pem}, headers=eseal.platform(BEIJING)
    )
    assert r.status_code == 403
    r = await eseal.client.post(
        "/v1/trust/anchors", json={"region": "320000", "certificate": pem}, headers=eseal.admin()
    )
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "registered" and r.json()["algorithm"] == "SM2_SM3"
    r = await eseal.client.post(
        "/v1/trust/anchors",
        json={"region": "320000", "certificate": b64(foreign.trust_anchor)},
        headers=eseal.admin(),
    )
    assert r.status_code == 409 and r.json()["code"] == "anchor-exists"
    report = await eseal.verify(b64(signature), DOCUMENT)
    assert report["indication"] == "TOTAL_PASSED", report
    anchors = (await eseal.client.get("/v1/trust")).json()["anchors"]
    assert any(a["region"] == "320000" for a in anchors)


@pytest.mark.parametrize(
    ("certificate", "code"),
    [
        ("bm90IGEgY2VydA==", "bad-certificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA", "bad-certificate"),
        ("%%%%%%%%%%", "bad-certificate"),
    ],
)
async def test_bad_trust_anchors_are_refused(eseal: Any, certificate: str, code: str) -> None:
    r = await eseal.client.post(
        "/v1/trust/anchors", json={"region": "320000", "certificate": certificate}, headers=eseal.admin()
    )
    assert r.status_code == 422 and r.json()["code"] == code


async def test_a_leaf_certificate_is_no_trust_anchor(eseal: Any) -> None:
    seal = await eseal.seal_of(BEIJING)
    r = await eseal.client.get(f"/v1/seals/{seal['id']}", headers=eseal.verifier())
    leaf = r.json()["signer_certificate"]
    r = await eseal.client.post(
        "/v1/trust/anchors", json={"region": "320000", "certificate": leaf}, headers=eseal.admin()
    )
    assert r.status_code == 422 and r.json()["code"] == "not-a-ca"


@pytest.mark.parametrize("algorithm", ["ECDSA_P256_SHA256", "ED25519"])
async def test_international_seals_sign_the_same_structure(eseal: Any, algorithm: str) -> None:
    seal = await eseal.create_seal(algorithm=algorithm, uscc=ORGS[SHANGHAI], region=SHANGHAI)
    r = await eseal.sign_digest(seal["id"], DOCUMENT, SHANGHAI, algorithm="sha256")
    assert r.status_code == 200, r.text
    assert algorithm in r.json()["format"]
    signature = r.json()["signatures"][0]
    assert signature["data_hash"] == sha256_hex(DOCUMENT)
    assert (await eseal.verify(signature["signature"], DOCUMENT))["indication"] == "TOTAL_PASSED"
    r = await eseal.sign_digest(seal["id"], DOCUMENT, SHANGHAI, algorithm="sm3")
    assert r.status_code == 422 and r.json()["code"] == "wrong-digest-algorithm"


async def test_pades_round_trip(eseal: Any) -> None:
    seal = await eseal.create_seal(algorithm="ECDSA_P256_SHA256", uscc=ORGS[GUANGDONG], region=GUANGDONG)
    r = await eseal.client.post(
        "/v1/signatures/pdf",
        json={"seal_id": seal["id"], "pdf": b64(pdf_document()), "reason": "办理结果", "location": "广州"},
        headers=eseal.platform(GUANGDONG),
    )
    assert r.status_code == 200, r.text
    assert r.json()["level"] == "PAdES-B-B"
    signed = base64.b64decode(r.json()["pdf"])
    assert signed.startswith(b"%PDF") and b"/ETSI.CAdES.detached" in signed

    r = await eseal.client.post(
        "/v1/signatures/pdf/verify", json={"pdf": b64(signed)}, headers=eseal.platform(BEIJING)
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["indication"] == "TOTAL_PASSED", report
    assert {c["name"] for c in report["checks"]} == {
        "format",
        "signer_chain",
        "data_hash",
        "signature_value",
        "coverage",
        "revocation",
    }
    assert ORGS[GUANGDONG] in report["info"]["signer_subject"]

    tampered = bytearray(signed)
    position = signed.find(b"/MediaBox")
    tampered[position + 12] ^= 0x01
    r = await eseal.client.post(
        "/v1/signatures/pdf/verify", json={"pdf": b64(bytes(tampered))}, headers=eseal.verifier()
    )
    assert (r.json()["indication"], r.json()["sub_indication"]) == ("TOTAL_FAILED", "HASH_FAILURE")


async def test_pades_needs_an_ecdsa_or_ed25519_seal_and_a_pdf(eseal: Any) -> None:
    sm2 = await eseal.seal_of(GUANGDONG)
    r = await eseal.client.post(
        "/v1/signatures/pdf",
        json={"seal_id": sm2["id"], "pdf": b64(pdf_document())},
        headers=eseal.platform(GUANGDONG),
    )
    assert r.status_code == 422 and r.json()["code"] == "pades-needs-ecdsa-or-ed25519"
    ecdsa = await eseal.create_seal(algorithm="ECDSA_P256_SHA256", uscc=ORGS[GUANGDONG], region=GUANGDONG)
    r = await eseal.client.post(
        "/v1/signatures/pdf",
        json={"seal_id": ecdsa["id"], "pdf": b64(b"%PDF-1.7 garbage")},
        headers=eseal.platform(GUANGDONG),
    )
    assert r.status_code == 422 and r.json()["code"] == "bad-pdf"
    r = await eseal.client.post(
        "/v1/signatures/pdf",
        json={"seal_id": ecdsa["id"], "pdf": b64(pdf_document())},
        headers=eseal.platform(BEIJING),
    )
    assert r.status_code == 403
    for pdf in (b"not a pdf", pdf_document()):
        r = await eseal.client.post(
            "/v1/signatures/pdf/verify", json={"pdf": b64(pdf)}, headers=eseal.verifier()
        )
        assert (r.json()["indication"], r.json()["sub_indication"]) == ("TOTAL_FAILED", "FORMAT_FAILURE")


async def test_pades_signature_after_revocation(eseal: Any) -> None:
    seal = await eseal.create_seal(algorithm="ED25519", uscc=ORGS[GUANGDONG], region=GUANGDONG)
    r = await eseal.client.post(
        "/v1/signatures/pdf",
        json={"seal_id": seal["id"], "pdf": b64(pdf_document())},
        headers=eseal.platform(GUANGDONG),
    )
    signed, signed_at = r.json()["pdf"], r.json()["signed_at"]
    r = await eseal.client.post(
        f"/v1/seals/{seal['id']}/revoke",
        json={"reason": "compromised", "invalid_since": signed_at},
        headers={**eseal.admin(), "If-Match": "*"},
    )
    assert r.status_code == 200
    r = await eseal.client.post("/v1/signatures/pdf/verify", json={"pdf": signed}, headers=eseal.verifier())
    assert (r.json()["indication"], r.json()["sub_indication"]) == ("TOTAL_FAILED", "REVOKED")
