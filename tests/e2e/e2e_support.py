"""What the end-to-end tests share: a platform's client on the gateway, OIDC login, Kafka reads, dev data."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
from aiokafka import AIOKafkaConsumer

REPO = Path(__file__).resolve().parents[2]

# The dev realm identity-svc creates with TONGBAN_ENV=dev|test (identity-svc/README.md).
PLATFORM_SECRET = "dev-platform-secret"
MINISTRY = ("ministry-demo", "dev-ministry-secret")
ADMIN = ("admin-dev", "dev-admin-secret")
REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEMO_PASSWORD = "Demo-pass-2026"
ORGS = {"110000": "11110000MB1100001P", "310000": "11310000MB3100001H", "440000": "11440000MB4400001J"}

BEIJING, SHANGHAI, GUANGDONG = "110000", "310000", "440000"
CASE_TOPIC = "tongban.case.lifecycle.v1"
ALL_TOPICS = (
    "tongban.catalogue.item.v1",
    CASE_TOPIC,
    "tongban.identity.audit.v1",
    "tongban.eseal.licence.v1",
    "tongban.exchange.audit.v1",
)
# Emitted by case-svc's deadline worker on its own clock, so a test cannot predict when.
CLOCK_EVENTS = frozenset({"cn.gov.tongban.case.deadline-warning.v1", "cn.gov.tongban.case.overdue.v1"})


@dataclass(frozen=True)
class Citizen:
    """A demo citizen of the dev realm."""

    username: str
    name: str
    resident_id: str
    totp_secret: str | None = None


ZHANGSAN = Citizen("zhangsan", "张三", "110101199003074477")
LISI = Citizen("lisi", "李四", "310104198506123025", "TONGBANDEVLISITOTPSECRETABCDEFGH")


def case_type(name: str) -> str:
    """The integration event type of a case event, e.g. ``submitted``."""
    return f"cn.gov.tongban.case.{name}.v1"


def pdf_bytes(label: str) -> bytes:
    """A small, distinct PDF (case-svc checks uploads by content)."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n% "
        + label.encode()
        + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256, as case-svc names uploaded files."""
    return hashlib.sha256(data).hexdigest()


class Api:
    """One OAuth client talking to the gateway, as a provincial platform's back end would."""

    def __init__(self, gateway: str, client_id: str, secret: str, scope: str | None = None) -> None:
        self.gateway = gateway
        self.client_id = client_id
        self.secret = secret
        self.scope = scope
        self.http = httpx.Client(base_url=gateway, timeout=60)
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        """A client-credentials access token, renewed a minute before it expires."""
        if self._token is None or time.monotonic() > self._expires - 60:
            data = {"grant_type": "client_credentials"}
            if self.scope:
                data["scope"] = self.scope
            answer = self.http.post("/identity/oauth2/token", data=data, auth=(self.client_id, self.secret))
            assert answer.status_code == 200, f"token for {self.client_id}: {answer.text}"
            body = answer.json()
            self._token = body["access_token"]
            self._expires = time.monotonic() + float(body["expires_in"])
        return self._token

    def call(
        self,
        method: str,
        path: str,
        *,
        expect: int | None = None,
        token: str | None = None,
        if_match: str | None = None,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request through the gateway; with ``expect``, assert the status (showing the body if not)."""
        sent = {"Authorization": f"Bearer {token or self.token()}", **(headers or {})}
        if if_match is not None:
            sent["If-Match"] = if_match
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        response = self.http.request(method, path, headers=sent, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{self.client_id} {method} {path}: expected {expect}, got {response.status_code}: "
                f"{response.text[:3000]}"
            )
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET expecting 200; the JSON body."""
        return self.call("GET", path, expect=200, **kwargs).json()

    def post(self, path: str, body: Any = None, *, expect: int = 200, **kwargs: Any) -> Any:
        """POST JSON expecting ``expect``; the JSON body."""
        return self.call("POST", path, json=body, expect=expect, **kwargs).json()

    def case(self, case_id: str) -> tuple[dict[str, Any], str]:
        """A case and its ETag."""
        response = self.call("GET", f"/cases/v1/cases/{case_id}", expect=200)
        return response.json(), response.headers["ETag"]

    def command(self, case_id: str, action: str, body: Any = None, *, expect: int = 200) -> dict[str, Any]:
        """Read the case for its ETag, then run one command on it with If-Match."""
        _, etag = self.case(case_id)
        response = self.call(
            "POST", f"/cases/v1/cases/{case_id}/{action}", json=body, if_match=etag, expect=expect
        )
        result: dict[str, Any] = response.json()
        return result

    def upload(self, case_id: str, material_code: str, name: str, content: bytes) -> dict[str, Any]:
        """Upload a scanned material (multipart)."""
        response = self.call(
            "POST",
            f"/cases/v1/cases/{case_id}/materials",
            data={"material_code": material_code},
            files={"file": (name, content, "application/pdf")},
            expect=201,
        )
        result: dict[str, Any] = response.json()
        return result

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def platform(gateway: str, region: str) -> Api:
    """The provincial platform of a region, with every scope it holds."""
    return Api(gateway, f"platform-{region}", PLATFORM_SECRET)


_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def _form(html: str) -> tuple[str, dict[str, str]]:
    """What a browser submits: the form's action and its hidden fields (request id, CSRF token)."""
    action = _ACTION.search(html)
    assert action, f"no login form in: {html[:500]}"
    return action.group(1), dict(_HIDDEN.findall(html))


@dataclass
class Login:
    """The outcome of an authorization-code login: the token response and what the browser saw."""

    tokens: dict[str, Any]
    callback: str
    state: str
    nonce: str


_used_codes: dict[str, str] = {}


def _fresh_code(secret: str) -> str:
    """The current one-time code, waiting for the next period if this one was used (identity refuses reuse)."""
    totp = pyotp.TOTP(secret)
    code = totp.now()
    while code == _used_codes.get(secret):
        time.sleep(totp.interval - time.time() % totp.interval + 0.5)
        code = totp.now()
    _used_codes[secret] = code
    return code


def oidc_login(
    gateway: str,
    client_id: str,
    citizen: Citizen,
    scope: str,
    *,
    acr_values: str | None = None,
) -> Login:
    """A citizen logs in at a platform: authorization code with PKCE (S256), forms with CSRF tokens."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if acr_values:
        params["acr_values"] = acr_values
    with httpx.Client(base_url=gateway, timeout=30) as browser:
        page = browser.get("/identity/oauth2/authorize", params=params)
        assert page.status_code == 200, page.text[:1000]
        action, fields = _form(page.text)
        step = browser.post(action, data={**fields, "username": citizen.username, "password": DEMO_PASSWORD})
        if citizen.totp_secret is not None:
            assert step.status_code == 200 and 'name="otp"' in step.text, step.text[:1000]
            action, fields = _form(step.text)
            step = browser.post(action, data={**fields, "otp": _fresh_code(citizen.totp_secret)})
        assert step.status_code == 303, step.text[:1000]
        callback = step.headers["location"]
        assert callback.startswith(REDIRECT_URI + "?"), callback
        query = parse_qs(urlsplit(callback).query)
        assert query["state"] == [state]
        tokens = browser.post(
            "/identity/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(client_id, PLATFORM_SECRET),
        )
        assert tokens.status_code == 200, tokens.text
    return Login(tokens.json(), callback, state, nonce)


def act_for(api: Api, subject_token: str, scope: str) -> str:
    """RFC 8693 token exchange: the platform's token to act for the person who logged in at it."""
    response = api.http.post(
        "/identity/oauth2/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "scope": scope,
        },
        auth=(api.client_id, api.secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def new_key() -> str:
    """A fresh Idempotency-Key."""
    return str(uuid.uuid4())


# --- Kafka ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One Kafka message as read back from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]
    value: bytes


async def read_topic(bootstrap: str, topic: str, *, timeout: float = 60.0) -> list[Record]:
    """Every message of a topic from the beginning up to its end now (no consumer group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Record] = []
    deadline = time.monotonic() + timeout
    try:
        while not consumer.assignment():  # without a group every partition is assigned once known
            assert time.monotonic() < deadline, f"topic {topic} has no partitions"
            await consumer.getmany(timeout_ms=200)
        tps = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            assert time.monotonic() < deadline, f"reading {topic} took over {timeout} s"
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(
                    Record(
                        rec.topic,
                        rec.partition,
                        rec.offset,
                        rec.key,
                        {k: v.decode() for k, v in rec.headers},
                        rec.value or b"",
                    )
                    for rec in records
                )
    finally:
        await consumer.stop()
    return out


def read_topic_sync(bootstrap: str, topic: str) -> list[Record]:
    """read_topic() from a synchronous test."""
    return asyncio.run(read_topic(bootstrap, topic))


# --- the ministry subscriber (contracts/examples/ministry_subscriber.py) ----------------------------


def load_subscriber() -> ModuleType:
    """Import the example subscriber by path, exactly as it ships."""
    path = REPO / "contracts" / "examples" / "ministry_subscriber.py"
    spec = importlib.util.spec_from_file_location("ministry_subscriber", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@dataclass
class Ministry:
    """The example subscriber following the case topic in a thread of its own, from the session's start."""

    follower: Any
    thread: threading.Thread
    stop: threading.Event
    errors: list[BaseException] = field(default_factory=list)

    def events_of(self, case_id: str) -> list[dict[str, Any]]:
        """The events the subscriber applied for one case, in the order it applied them."""
        return [e for e in list(self.follower.events) if e["case"] == case_id]

    def wait_for(self, done: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        """Wait until ``done()`` holds, failing early if the subscriber died."""
        deadline = time.monotonic() + timeout
        while not done():
            assert not self.errors, f"the subscriber failed: {self.errors!r}"
            assert self.thread.is_alive(), "the subscriber stopped"
            assert time.monotonic() < deadline, f"the subscriber did not see {what} within {timeout:.0f} s"
            time.sleep(0.2)

    def wait_for_event(self, case_id: str, event: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until the subscriber applied an event of this type for the case; its events so far."""
        wanted = case_type(event)
        self.wait_for(
            lambda: any(e["type"] == wanted for e in self.events_of(case_id)),
            f"{event} of case {case_id}",
            timeout,
        )
        return self.events_of(case_id)


def assert_gap_free(events: Iterable[dict[str, Any]]) -> list[int]:
    """The sequences of one case's applied events are 1, 2, 3 … in order, each applied once."""
    sequences = [e["sequence"] for e in events]
    assert sequences == list(range(1, len(sequences) + 1)), sequences
    return sequences


def lifecycle(events: Iterable[dict[str, Any]]) -> list[str]:
    """The event names of a case in order, without the deadline worker's clock events."""
    return [e["type"].split(".")[-2] for e in events if e["type"] not in CLOCK_EVENTS]
