"""The real identity process (PostgreSQL, Kafka) against an independent OIDC relying party.

The relying party is authlib's OAuth 2.0 client; tokens are checked with PyJWT against the
published JWKS; the browser is plain httpx posting the login forms with their CSRF tokens.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from aiokafka import AIOKafkaConsumer
from authlib.integrations.httpx_client import AsyncOAuth2Client
from identity_svc.adapters import totp
from identity_svc.service_layer import dev_realm
from tongban_kit.db import utcnow
from tongban_kit.testing import (
    AppProcess,
    create_database_sync,
    drop_database_sync,
    ensure_broker,
    free_port,
    run_topic_prefix,
    start_app,
)

pytestmark = pytest.mark.integration

CLIENT_ID = "platform-440000"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture(scope="module")
def identity() -> Iterator[tuple[AppProcess, dict[str, str]]]:
    """identity-svc as its own process on a fresh PostgreSQL database and the real broker."""
    database = create_database_sync("identity_rp")
    bootstrap = ensure_broker()
    port = free_port()
    env = {
        "TONGBAN_ENV": "test",
        "IDENTITY_DATABASE_URL": database,
        "TONGBAN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "TONGBAN_KAFKA_BOOTSTRAP": bootstrap,
        "TONGBAN_TOPIC_PREFIX": run_topic_prefix(),
        "IDENTITY_PORT": str(port),
    }
    app = start_app("identity_svc.main:create_app", env, port, "identity-rp")
    try:
        app.wait_ready("/readyz", timeout=120)
        yield app, env
    finally:
        app.stop()
        drop_database_sync(database)


def _form(html: str) -> tuple[str, dict[str, str]]:
    """What a browser would submit: the form's action and its hidden fields."""
    action = _ACTION.search(html)
    assert action, html
    return action.group(1), dict(_HIDDEN.findall(html))


async def _audit_events(topic: str, bootstrap: str, person_id: str) -> list[dict[str, Any]]:
    """Read the audit topic from the start until this person's login-succeeded event is there."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        headers = {k: v.decode() for k, v in record.headers}
                        found.append({"type": headers.get("ce_type"), "data": json.loads(record.value)})
                if any(
                    e["type"] == "cn.gov.tongban.identity.login-succeeded.v1"
                    and e["data"].get("person_id") == person_id
                    for e in found
                ):
                    return found
    finally:
        await consumer.stop()


async def test_authlib_relying_party_completes_login_with_pkce(
    identity: tuple[AppProcess, dict[str, str]],
) -> None:
    app, env = identity
    issuer = env["TONGBAN_PUBLIC_URL"] + "/identity"
    async with httpx.AsyncClient(timeout=10) as browser:
        discovery = (await browser.get(issuer + "/.well-known/openid-configuration")).json()
        assert discovery["issuer"] == issuer
        assert "S256" in discovery["code_challenge_methods_supported"]

        rp = AsyncOAuth2Client(
            client_id=CLIENT_ID,
            client_secret=dev_realm.PLATFORM_SECRET,
            scope="openid profile cases:submit",
            redirect_uri=dev_realm.REDIRECT_URI,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )
        verifier = secrets.token_urlsafe(64)
        nonce = secrets.token_urlsafe(16)
        url, state = rp.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce, acr_values="L2"
        )

        # The browser: login page, password form, one-time-code form, redirect back.
        page = await browser.get(url)
        assert page.status_code == 200 and "csrf_token" in page.text
        action, fields = _form(page.text)
        assert action == issuer + "/oauth2/login"
        step = await browser.post(
            action, data={**fields, "username": "lisi", "password": dev_realm.DEMO_PASSWORD}
        )
        assert step.status_code == 200 and 'name="otp"' in step.text
        action, fields = _form(step.text)
        code = totp.current_code(dev_realm.LISI_TOTP_SECRET, utcnow())
        back = await browser.post(action, data={**fields, "otp": code})
        assert back.status_code == 303
        callback = back.headers["location"]
        assert callback.startswith(dev_realm.REDIRECT_URI)
        query = parse_qs(urlsplit(callback).query)
        assert query["iss"] == [issuer] and query["state"] == [state]  # RFC 9207 mix-up defence

        token = await rp.fetch_token(
            discovery["token_endpoint"], authorization_response=callback, state=state, code_verifier=verifier
        )
        assert token["token_type"].lower() == "bearer"

        jwks = jwt.PyJWKClient(discovery["jwks_uri"])
        id_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token["id_token"])
        id_claims = jwt.decode(
            token["id_token"],
            id_key.key,
            algorithms=discovery["id_token_signing_alg_values_supported"],
            audience=CLIENT_ID,
            issuer=issuer,
        )
        assert id_claims["nonce"] == nonce and id_claims["acr"] == "L2"
        digest = hashlib.sha256(token["access_token"].encode()).digest()
        assert id_claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

        assert jwt.get_unverified_header(token["access_token"])["typ"] == "at+jwt"
        at_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token["access_token"])
        access = jwt.decode(
            token["access_token"],
            at_key.key,
            algorithms=["ES256"],
            audience="urn:tongban:case",
            issuer=issuer,
        )
        assert access["sub"] == id_claims["sub"] and access["client_id"] == CLIENT_ID
        assert access["region"] == "440000" and access["acr"] == "L2" and access["subject_hash"]
        assert access["exp"] - access["iat"] == 300

        refreshed = await rp.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])
        assert refreshed["access_token"] != token["access_token"]
        assert refreshed["refresh_token"] != token["refresh_token"]
        new_claims = jwt.decode(
            refreshed["access_token"],
            (await asyncio.to_thread(jwks.get_signing_key_from_jwt, refreshed["access_token"])).key,
            algorithms=["ES256"],
            audience="urn:tongban:identity",
            issuer=issuer,
        )
        assert new_claims["sub"] == id_claims["sub"]

        info = await rp.get(discovery["userinfo_endpoint"])  # with the refreshed token
        assert info.status_code == 200, info.text
        claims = info.json()
        assert claims["sub"] == id_claims["sub"] and claims["name"] == "李四"
        assert claims["resident_id_masked"] == "310104********3025"
        await rp.aclose()

    topic = env["TONGBAN_TOPIC_PREFIX"] + "tongban.identity.audit.v1"
    events = await _audit_events(topic, env["TONGBAN_KAFKA_BOOTSTRAP"], id_claims["sub"])
    types = {e["type"] for e in events}
    assert "cn.gov.tongban.identity.token-issued.v1" in types
    assert all("310104198506123025" not in json.dumps(e) for e in events)
    assert app.is_running()


async def test_ids_with_a_nul_are_unknown_not_server_errors(
    identity: tuple[AppProcess, dict[str, str]],
) -> None:
    # PostgreSQL refuses to compare text holding a NUL; such an id simply names no client or request.
    app, _ = identity
    async with httpx.AsyncClient(base_url=app.base_url, timeout=10) as client:
        authorize = await client.post("/oauth2/authorize", data={"client_id": "platform-440000\x00"})
        assert authorize.status_code == 400, authorize.text
        token = await client.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, auth=("svc\x00", "secret")
        )
        assert token.status_code == 401 and token.json()["error"] == "invalid_client"
        login = await client.post(
            "/oauth2/login", data={"request_id": "x\x00", "csrf_token": "t", "username": "u", "password": "p"}
        )
        assert login.status_code == 400, login.text
