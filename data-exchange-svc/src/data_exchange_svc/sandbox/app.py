"""The sandbox provider app: six synthetic provider systems that check the hub's request signature."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tongban_kit.middleware import RequestContextMiddleware
from tongban_kit.problems import Problem, install_problem_handlers, problem_response

from data_exchange_svc.adapters.signing import ALG, REQUEST_TYP, body_digest
from data_exchange_svc.sandbox.catalogue import PROVIDERS
from data_exchange_svc.sandbox.records import RecordStore, population

log = structlog.get_logger("exchange.sandbox")
SIGNATURE_HEADER = "tongban-signature"


class SandboxSettings(BaseSettings):
    """``SANDBOX_*`` settings; the sandbox runs only in dev and tests."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore", populate_by_name=True)

    env: str = Field("production", validation_alias=AliasChoices("TONGBAN_ENV"))
    port: int = 8006
    hub_jwks_url: str = "http://127.0.0.1:8005/.well-known/jwks.json"
    hub_jwks: str | None = None
    subjects: int = 300
    seed: str = "tongban-sandbox"
    max_skew_seconds: int = 60
    require_signature: bool = True


class HubKeys:
    """The hub's public keys: given inline, or fetched from its JWKS (again when a kid is unknown)."""

    def __init__(self, url: str, inline: str | None, *, min_refresh: float = 5.0) -> None:
        self.url = url
        self.min_refresh = min_refresh
        self._keys: KeySet | None = None
        self._kids: set[str] = set()
        self._fetched = 0.0
        self._lock = asyncio.Lock()
        if inline:
            self.set(json.loads(inline))

    def set(self, jwks: dict[str, Any]) -> None:
        """Install a key set."""
        self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        self._kids = {str(k.get("kid")) for k in jwks.get("keys", [])}
        self._fetched = time.monotonic()

    async def for_kid(self, kid: str) -> KeySet | None:
        """The key set when it holds ``kid`` (fetching once if not), else None."""
        if kid not in self._kids and time.monotonic() - self._fetched > self.min_refresh:
            async with self._lock:
                if kid not in self._kids:
                    try:
                        async with httpx.AsyncClient(timeout=3.0) as client:
                            response = await client.get(self.url)
                            response.raise_for_status()
                            self.set(response.json())
                    except (httpx.HTTPError, ValueError) as exc:
                        self._fetched = time.monotonic()
                        log.warning("hub JWKS unavailable", url=self.url, error=type(exc).__name__)
        return self._keys if kid in self._kids else None


class ReplayCache:
    """Remembers request ids until their signatures expire, so a captured request cannot be replayed."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def first_use(self, jti: str, until: float) -> bool:
        """True the first time a jti is seen."""
        now = time.time()
        if len(self._seen) > 100_000:
            self._seen = {k: v for k, v in self._seen.items() if v > now}
        if jti in self._seen:
            return False
        self._seen[jti] = until
        return True


class Behaviour(BaseModel):
    """How a provider misbehaves, for tests: slow, failing, or sending more than it was asked for."""

    model_config = ConfigDict(extra="forbid")

    delay_ms: int = Field(default=0, ge=0, le=120_000)
    fail_status: int | None = Field(default=None, ge=400, le=599)
    overshare: bool = False


def _bad_signature(detail: str) -> Problem:
    return Problem(401, "bad-signature", detail)


async def check_signature(request: Request, body: bytes, code: str) -> dict[str, Any]:
    """Verify the hub's JWS over this request: key, algorithm, audience, method, path, body, age, replay."""
    settings: SandboxSettings = request.app.state.settings
    token = request.headers.get(SIGNATURE_HEADER)
    if not token:
        raise _bad_signature("The request carries no Tongban-Signature header.")
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise _bad_signature("The signature is malformed.") from exc
    if header.get("alg") != ALG or header.get("typ") != REQUEST_TYP:
        raise _bad_signature("The signature has the wrong algorithm or type.")
    keys = await request.app.state.hub_keys.for_kid(str(header.get("kid")))
    if keys is None:
        raise _bad_signature("The signature was made with a key the hub does not publish.")
    try:
        claims = json.loads(jws.deserialize_compact(token, keys, algorithms=[ALG]).payload)
    except (JoseError, ValueError) as exc:
        raise _bad_signature("The signature does not verify.") from exc
    now = time.time()
    checks = {
        "audience": claims.get("aud") == code,
        "method": claims.get("htm") == request.method,
        "path": claims.get("htu") == request.url.path,
        "body": claims.get("bodyhash") == body_digest(body),
        "time": isinstance(claims.get("iat"), int) and abs(now - claims["iat"]) <= settings.max_skew_seconds,
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise _bad_signature(f"The signature does not match this request ({', '.join(failed)}).")
    if not request.app.state.replays.first_use(str(claims.get("jti")), now + settings.max_skew_seconds):
        raise _bad_signature("This signed request was already used.")
    return dict(claims)


def _matches(record: dict[str, Any], fact: dict[str, Any]) -> bool:
    """Every stated field equals the record's value (compared as trimmed text, case-insensitive)."""
    for name, value in fact.items():
        if name not in record or record[name] is None:
            return False
        if str(record[name]).strip().upper() != str(value).strip().upper():
            return False
    return True


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """Build the sandbox provider app (``uvicorn --factory data_exchange_svc.sandbox:create_app``)."""
    settings = settings or SandboxSettings()
    if settings.env not in ("dev", "test"):
        raise RuntimeError("the sandbox providers run only with TONGBAN_ENV=dev or test")
    app = FastAPI(
        title="Sandbox providers",
        description="Six synthetic provider systems for the data-exchange hub (dev and tests only).",
        version="1.0.0",
    )
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.state.settings = settings
    app.state.hub_keys = HubKeys(settings.hub_jwks_url, settings.hub_jwks)
    app.state.replays = ReplayCache()
    app.state.records = RecordStore()
    app.state.behaviour = {code: Behaviour() for code in PROVIDERS}
    subjects = population(settings.subjects, settings.seed)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        """Ready (no dependencies)."""
        return {"status": "ok"}

    @app.get("/providers")
    async def providers() -> list[dict[str, Any]]:
        """The six provider systems and their fields."""
        return [
            {
                "code": p.code,
                "name": p.name,
                "provider": p.provider_name,
                "domain": p.domain.value,
                "fields": p.field_names(),
            }
            for p in PROVIDERS.values()
        ]

    @app.get("/subjects")
    async def list_subjects(
        limit: int = Query(20, ge=1, le=1000), offset: int = Query(0, ge=0)
    ) -> dict[str, Any]:
        """Synthetic resident identity numbers to try (any valid number works; these are listed)."""
        store: RecordStore = app.state.records
        items = []
        for rid in subjects[offset : offset + limit]:
            person = store.lookup("household-registration", rid) or {}
            items.append({"id_number": rid, "name": person.get("name")})
        return {"items": items, "total": len(subjects)}

    @app.get("/control")
    async def get_control() -> dict[str, Behaviour]:
        """How each provider currently behaves."""
        behaviour: dict[str, Behaviour] = app.state.behaviour
        return behaviour

    @app.put("/control/{code}")
    async def set_control(code: str, behaviour: Behaviour) -> Behaviour:
        """Make one provider slow, failing or oversharing (tests)."""
        if code not in PROVIDERS:
            raise Problem(404, "not-found", f"No sandbox provider {code}.")
        app.state.behaviour[code] = behaviour
        return behaviour

    @app.post("/control/reset")
    async def reset_control() -> dict[str, str]:
        """Every provider back to normal."""
        app.state.behaviour = {c: Behaviour() for c in PROVIDERS}
        return {"status": "reset"}

    @app.post("/providers/{code}")
    async def answer(
        code: str,
        request: Request,
        delay_ms: int | None = Query(None, ge=0, le=120_000),
        fail_status: int | None = Query(None, ge=400, le=599),
    ) -> JSONResponse:
        """Answer the hub: a record (share) or yes/no (verify), after checking its signature."""
        spec = PROVIDERS.get(code)
        if spec is None:
            raise Problem(404, "not-found", f"No sandbox provider {code}.")
        behaviour: Behaviour = app.state.behaviour[code]
        delay = delay_ms if delay_ms is not None else behaviour.delay_ms
        if delay:
            await asyncio.sleep(delay / 1000)
        status = fail_status if fail_status is not None else behaviour.fail_status
        if status is not None:
            return problem_response(Problem(status, "sandbox-failure", f"Provider {code} was told to fail."))
        body = await request.body()
        if settings.require_signature:
            await check_signature(request, body, code)
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise Problem(400, "bad-request", "The body is not JSON.") from exc
        if not isinstance(doc, dict) or doc.get("mode") not in ("share", "verify"):
            raise Problem(400, "bad-request", "The body needs mode share or verify.")
        store: RecordStore = app.state.records
        record = store.lookup(code, str(doc.get("subject_id_number", "")))
        if record is None:
            return JSONResponse({"found": False, "provider": code}, status_code=404)
        out: dict[str, Any] = {"found": True, "provider": code, "request_id": doc.get("request_id")}
        if doc["mode"] == "verify":
            fact = doc.get("fact")
            fact = fact if isinstance(fact, dict) else {}
            out["match"] = bool(fact) and _matches(record, fact)
            if behaviour.overshare:
                out["record"] = record
        else:
            wanted = doc.get("fields")
            wanted = wanted if isinstance(wanted, list) else []
            out["record"] = record if behaviour.overshare else {k: record[k] for k in wanted if k in record}
        return JSONResponse(out)

    return app
