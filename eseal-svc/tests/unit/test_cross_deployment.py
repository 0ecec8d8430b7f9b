"""Two separate deployments: Beijing validates what Shanghai sealed once it registers Shanghai's anchors.

Each deployment hosts only its own province's CAs. Beijing fetches Shanghai's status lists over HTTP
(an ASGI transport standing in for the network, with the gateway's /eseal prefix stripped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from eseal_svc.service_layer.licence_verify import _read_list, _status_list_jwt
from eseal_testkit import BEIJING, ORGS, SHANGHAI, running_eseal
from starlette.types import ASGIApp, Receive, Scope, Send

DOCUMENT = "异地代收代办：上海受理，北京核验".encode()


class StripPrefix:
    """What the gateway does: /eseal/v1/... reaches the service as /v1/...; can also play dead."""

    def __init__(self, app: ASGIApp, prefix: str = "/eseal") -> None:
        self.app = app
        self.prefix = prefix
        self.down = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.down:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            scope = {**scope, "path": scope["path"][len(self.prefix) :], "raw_path": None}
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
async def deployments(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    sh_dir, bj_dir = tmp_path_factory.mktemp("shanghai"), tmp_path_factory.mktemp("beijing")
    async with running_eseal(
        sh_dir, region=SHANGHAI, hosted_regions=[SHANGHAI], public_url="https://sh.example"
    ) as shanghai:
        gateway = StripPrefix(shanghai.app)
        network = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway))
        async with running_eseal(
            bj_dir,
            http=network,
            region=BEIJING,
            hosted_regions=[BEIJING],
            public_url="https://bj.example",
            status_list_max_age=0,  # no caching, so a revocation shows at once
        ) as beijing:
            yield {"shanghai": shanghai, "beijing": beijing, "gateway": gateway}
        await network.aclose()


async def _register_shanghai(beijing: Any, shanghai: Any) -> None:
    anchors = (await shanghai.client.get("/v1/trust")).json()["anchors"]
    assert {a["region"] for a in anchors} == {SHANGHAI}
    for anchor in anchors:
        r = await beijing.client.post(
            "/v1/trust/anchors",
            json={"region": anchor["region"], "certificate": anchor["certificate"]},
            headers=beijing.admin(),
        )
        assert r.status_code == 201, r.text


async def test_each_deployment_hosts_only_its_province(deployments: dict[str, Any]) -> None:
    beijing, shanghai = deployments["beijing"], deployments["shanghai"]
    assert beijing.ctx.keyring.provinces == [BEIJING] and shanghai.ctx.keyring.provinces == [SHANGHAI]
    r = await beijing.client.post(
        "/v1/seals",
        json={
            "org_name": "x",
            "uscc": ORGS[SHANGHAI],
            "region": SHANGHAI,
            "valid_from": "2026-11-27T00:00:00Z",
            "valid_to": "2027-11-27T00:00:00Z",
        },
        headers=beijing.admin(),
    )
    assert r.status_code == 422 and r.json()["code"] == "region-not-hosted"


async def test_shanghai_seal_and_licence_validate_in_beijing(deployments: dict[str, Any]) -> None:
    beijing, shanghai, gateway = deployments["beijing"], deployments["shanghai"], deployments["gateway"]
    seal = await shanghai.seal_of(SHANGHAI)
    signature = (await shanghai.sign_digest(seal["id"], DOCUMENT, SHANGHAI)).json()["signatures"][0][
        "signature"
    ]
    r = await shanghai.issue(SHANGHAI)
    assert r.status_code == 201, r.text
    licence = r.json()
    assert licence["credential_status"][0]["status_list"].startswith(
        "https://sh.example/eseal/v1/status-lists/"
    )

    # Before Beijing knows Shanghai's roots, neither validates.
    report = await beijing.verify(signature, DOCUMENT)
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
    report = await beijing.verify_licence(credential=licence["vc_jwt"])
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")

    await _register_shanghai(beijing, shanghai)
    assert (await beijing.verify(signature, DOCUMENT))["indication"] == "TOTAL_PASSED"
    # The chain holds now, but Beijing's registry does not yet recognise the Shanghai issuer.
    report = await beijing.verify_licence(credential=licence["vc_jwt"], gm_signature=licence["gm_signature"])
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "ISSUER_NOT_TRUSTED")
    r = await beijing.client.post(
        "/v1/trust/issuers",
        json={
            "uscc": ORGS[SHANGHAI],
            "region": SHANGHAI,
            "org_name": "上海市政务服务平台",
            "licence_types": ["household_registration_proof"],
        },
        headers=beijing.admin(),
    )
    assert r.status_code == 201
    report = await beijing.verify_licence(credential=licence["vc_jwt"], gm_signature=licence["gm_signature"])
    assert report["indication"] == "TOTAL_PASSED", report
    assert report["licence"]["trust_anchor_region"] == SHANGHAI
    assert [c["passed"] for c in report["checks"] if c["name"] == "licence_status"] == [True, True]

    # Shanghai revokes; Beijing reads the bit from Shanghai's signed list.
    r = await shanghai.client.post(
        f"/v1/licences/{licence['id']}/revoke",
        json={"reason": "迁出"},
        headers={**shanghai.platform(SHANGHAI), "If-Match": "*"},
    )
    assert r.status_code == 200
    report = await beijing.verify_licence(credential=licence["vc_jwt"])
    assert (report["indication"], report["sub_indication"]) == ("TOTAL_FAILED", "REVOKED")

    # Shanghai unreachable: the status cannot be known.
    second = (await shanghai.issue(SHANGHAI)).json()
    gateway.down = True
    try:
        report = await beijing.verify_licence(credential=second["vc_jwt"])
    finally:
        gateway.down = False
    assert (report["indication"], report["sub_indication"]) == ("INDETERMINATE", "TRY_LATER")
    assert (await beijing.verify_licence(credential=second["vc_jwt"]))["indication"] == "TOTAL_PASSED"


async def test_a_status_list_signed_by_someone_else_does_not_count(deployments: dict[str, Any]) -> None:
    beijing, shanghai = deployments["beijing"], deployments["shanghai"]
    # A genuine, signed revocation list of the Beijing organisation...
    own = (await beijing.issue(BEIJING, holder={"name": "张三", "id_number": "110101199003074477"})).json()
    jwt = await _status_list_jwt(beijing.ctx, own["credential_status"][0]["status_list"])
    assert jwt is not None
    trust = await beijing.ctx.trust.snapshot()
    now = beijing.ctx.clock()
    assert not isinstance(
        _read_list(jwt, uscc=ORGS[BEIJING], purpose="revocation", trust=trust, now=now), str
    )
    # ...does not speak for a Shanghai licence, nor for the suspension purpose.
    result = _read_list(jwt, uscc=ORGS[SHANGHAI], purpose="revocation", trust=trust, now=now)
    assert result == "the status list was not issued by the licence's issuer"
    result = _read_list(jwt, uscc=ORGS[BEIJING], purpose="suspension", trust=trust, now=now)
    assert result == "the status list is not a suspension list"
    # A list from another deployment whose anchors are unknown is not relied on either.
    shanghai_list = (await shanghai.issue(SHANGHAI)).json()["credential_status"][0]["status_list"]
    remote = await _status_list_jwt(deployments["beijing"].ctx, shanghai_list)
    assert remote is not None
