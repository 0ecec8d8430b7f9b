"""Private keys never appear in a response, a log line or an event; holders' numbers not in logs or events."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eseal_svc.adapters.crypto.keys import EcdsaP256Signer, Ed25519Signer, Signer, Sm2Signer
from eseal_svc.adapters.orm import SealRow
from eseal_testkit import BEIJING, LISI, ORGS, SHANGHAI, sm3_hex
from sqlalchemy import select
from tongban_kit.outbox import OutboxMessage


def _raw(signer: Signer) -> bytes:
    if isinstance(signer, Sm2Signer):
        return signer.private_key
    if isinstance(signer, EcdsaP256Signer):
        return signer.key.private_numbers().private_value.to_bytes(32, "big")
    assert isinstance(signer, Ed25519Signer)
    from cryptography.hazmat.primitives import serialization

    return signer.key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _forms(signer: Signer) -> set[str]:
    forms: set[str] = set()
    for blob in (_raw(signer), signer.pkcs8_der()):
        forms |= {
            blob.hex(),
            blob.hex().upper(),
            base64.b64encode(blob).decode().rstrip("="),
            base64.urlsafe_b64encode(blob).decode().rstrip("="),
        }
    return forms


async def test_private_keys_never_leave_the_service(eseal: Any, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    bodies: list[str] = []

    async def call(method: str, url: str, **kw: Any) -> Any:
        r = await eseal.client.request(method, url, **kw)
        assert r.status_code < 500, r.text
        bodies.append(r.text)
        return r

    now = datetime.now(UTC)
    created = []
    for algorithm in ("SM2_SM3", "ECDSA_P256_SHA256", "ED25519"):
        r = await call(
            "POST",
            "/v1/seals",
            json={
                "org_name": "密钥测试单位",
                "uscc": ORGS[BEIJING],
                "region": BEIJING,
                "algorithm": algorithm,
                "valid_from": now.isoformat(),
                "valid_to": (now + timedelta(days=30)).isoformat(),
            },
            headers=eseal.admin(),
        )
        created.append(r.json())
    for seal in created:
        digest = {
            "algorithm": "sm3" if seal["algorithm"] == "SM2_SM3" else "sha256",
            "value": sm3_hex(b"doc"),
        }
        await call(
            "POST",
            "/v1/signatures",
            json={"seal_id": seal["id"], "digest": digest},
            headers=eseal.platform(BEIJING),
        )
        await call("GET", f"/v1/seals/{seal['id']}", headers=eseal.verifier())
        licence = await call(
            "POST",
            "/v1/licences",
            json={
                "licence_type": "household_registration_proof",
                "seal_id": seal["id"],
                "holder": {"name": "李四", "id_number": LISI},
            },
            headers=eseal.platform(BEIJING),
        )
        for entry in licence.json()["credential_status"]:
            await call("GET", entry["status_list"][entry["status_list"].index("/v1/") :])
        await call(
            "POST",
            f"/v1/seals/{seal['id']}/revoke",
            json={"reason": "测试"},
            headers={**eseal.admin(), "If-Match": "*"},
        )
    await call("GET", "/v1/seals", headers=eseal.admin())
    await call("GET", "/v1/trust")
    await call("GET", "/v1/jwks")
    seed = await eseal.seal_of(SHANGHAI)
    await call("GET", f"/v1/seals/{seed['id']}", headers=eseal.verifier())

    captured = capfd.readouterr()
    logs = captured.out + captured.err
    assert "seal created" in logs and "licence issued" in logs  # the capture does see the service's logs
    async with eseal.ctx.uow() as uow:
        events = [
            json.dumps(m.envelope) for m in (await uow.session.execute(select(OutboxMessage))).scalars()
        ]
        rows = (await uow.session.execute(select(SealRow))).scalars().all()
    assert events

    keyring = eseal.ctx.keyring
    signers: list[Signer] = []
    for row in rows:
        signers.append(keyring.seal_signer(row.id, row.wrapped_key))
        if row.jose_wrapped_key is not None:
            signers.append(keyring.seal_signer(row.id, row.jose_wrapped_key, role="jose"))
    for hosted in keyring.pkis.values():
        signers += [hosted.pki.root.signer, hosted.pki.maker]
    assert len(signers) >= 3 * 2 + 9 * 2
    haystacks = {"responses": "\n".join(bodies), "logs": logs, "events": "\n".join(events)}
    for signer in signers:
        for form in _forms(signer):
            for where, text in haystacks.items():
                assert form not in text, f"a private key appeared in {where}"
    assert LISI not in logs and LISI not in haystacks["events"] and LISI not in haystacks["responses"]
    # The wrapped blobs are not the keys either.
    for row in rows:
        assert _raw(keyring.seal_signer(row.id, row.wrapped_key)) not in row.wrapped_key
