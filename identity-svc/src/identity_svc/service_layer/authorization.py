"""The authorization endpoint and its login: validate the request, authenticate, issue a code."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tongban_kit.uow import UnitOfWork

from identity_svc.adapters import totp
from identity_svc.adapters.orm import (
    AuthCodeRow,
    AuthRequestRow,
    ClientRow,
    NaturalPersonRow,
    SessionRow,
    ThrottleRow,
)
from identity_svc.adapters.repository import (
    client_from_row,
    get_client,
    person_by_username,
    save_throttle,
    storable,
    throttle_state,
)
from identity_svc.domain import pkce
from identity_svc.domain.assurance import Level, achieved_level, amr_for, required_level, satisfies
from identity_svc.domain.clients import Client, GrantType
from identity_svc.domain.errors import OAuthError
from identity_svc.domain.lockout import Decision, ThrottleState
from identity_svc.service_layer import audit
from identity_svc.service_layer.context import IdentityContext, token_hash

SINGLE_VALUED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "acr_values",
    "prompt",
    "max_age",
    "response_mode",
)
PROMPTS = {"none", "login", "consent", "select_account"}
GENERIC_FAILURE = "用户名或密码错误 / Wrong username or password."


# --- outcomes the API layer renders -------------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """Send the browser to a URL (the client's redirect URI with a code or an error)."""

    url: str
    session_cookie: str | None = None


@dataclass(frozen=True)
class ErrorPage:
    """A page for errors that must not redirect (unknown client, unregistered redirect URI)."""

    status: int
    message: str


@dataclass(frozen=True)
class LoginPage:
    """The login form (stage `login`) or the one-time-code form (stage `otp`)."""

    request_id: str
    csrf_token: str
    client_name: str
    stage: str = "login"
    error: str | None = None
    status: int = 200
    username: str = ""
    retry_after: float | None = None
    acr_required: str | None = None


Outcome = Redirect | ErrorPage | LoginPage


@dataclass(frozen=True)
class AuthorizationParams:
    """The query (or form) of an authorization request, each value once."""

    values: dict[str, str] = field(default_factory=dict)
    repeated: frozenset[str] = frozenset()

    def get(self, name: str) -> str | None:
        """A parameter, None when absent or empty."""
        value = self.values.get(name)
        return value if value else None


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """Add parameters to a URI that may already have a query."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def error_redirect(ctx: IdentityContext, redirect_uri: str, error: OAuthError, state: str | None) -> Redirect:
    """An RFC 6749 error response at the client's redirect URI, with `iss` (RFC 9207)."""
    return Redirect(
        with_query(
            redirect_uri,
            {"error": error.error, "error_description": error.description, "state": state, "iss": ctx.issuer},
        )
    )


# --- GET/POST /oauth2/authorize ----------------------------------------------------------------


async def _usable_session(
    uow: UnitOfWork, ctx: IdentityContext, session_id: str | None, required: Level | None, max_age: int | None
) -> SessionRow | None:
    """An SSO session good enough for this request (level and age), or None."""
    if not session_id:
        return None
    row = await uow.session.get(SessionRow, token_hash(session_id))
    now = ctx.clock()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    # Reusing a weaker session for a stronger request would be the classic step-up bypass.
    if not satisfies(row.acr, required):
        return None
    if max_age is not None and row.auth_time + timedelta(seconds=max_age) < now:
        return None
    return row


async def start_authorization(
    params: AuthorizationParams,
    *,
    uow: UnitOfWork,
    ctx: IdentityContext,
    browser_id: str,
    session_id: str | None,
    ip: str | None,
) -> Outcome:
    """Validate an authorization request; answer with SSO, an error redirect, or the login page."""
    if params.repeated & {"client_id", "redirect_uri"}:
        return ErrorPage(400, "client_id and redirect_uri must each be sent once.")
    client_id = params.get("client_id")
    redirect_uri = params.get("redirect_uri")
    row = await get_client(uow.session, client_id) if client_id else None
    if row is None or not row.active:
        return ErrorPage(400, "The application (client_id) is not registered.")
    client = client_from_row(row)
    # Exact string match: no prefix, wildcard or normalisation (RFC 9700 section 4.1).
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        return ErrorPage(400, "The redirect_uri is not registered for this application.")
    state = params.get("state")
    try:
        return await _validated(params, client, redirect_uri, state, uow, ctx, browser_id, session_id, ip)
    except OAuthError as err:
        return error_redirect(ctx, redirect_uri, err, state)


async def _validated(
    params: AuthorizationParams,
    client: Client,
    redirect_uri: str,
    state: str | None,
    uow: UnitOfWork,
    ctx: IdentityContext,
    browser_id: str,
    session_id: str | None,
    ip: str | None,
) -> Outcome:
    if params.repeated:
        raise OAuthError("invalid_request", f"repeated parameters: {', '.join(sorted(params.repeated))}")
    if params.get("request") or params.get("request_uri"):
        raise OAuthError("request_not_supported", "request objects are not supported")
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    if params.get("response_mode") not in (None, "query"):
        raise OAuthError("invalid_request", "only response_mode=query is supported")
    if GrantType.AUTHORIZATION_CODE not in client.grant_types:
        raise OAuthError("unauthorized_client", "this client may not use the authorization code flow")
    scopes = client.grant_scopes(params.get("scope"), default_all=False)
    challenge = pkce.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    prompts = set((params.get("prompt") or "").split())
    if not prompts <= PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise OAuthError("invalid_request", "prompt must be none, or any of login, consent, select_account")
    max_age_raw = params.get("max_age")
    if max_age_raw is not None and not max_age_raw.isdigit():
        raise OAuthError("invalid_request", "max_age must be a non-negative integer")
    max_age = int(max_age_raw) if max_age_raw is not None else None
    required = required_level(params.get("acr_values"))
    nonce = params.get("nonce")
    for name, limit in (("state", 1000), ("nonce", 500)):
        value = params.get(name)
        if value is not None and len(value) > limit:
            raise OAuthError("invalid_request", f"{name} is longer than {limit} characters")

    sso = None if "login" in prompts else await _usable_session(uow, ctx, session_id, required, max_age)
    if sso is not None:
        code = await _issue_code(
            uow,
            ctx,
            client_id=client.client_id,
            person_id=sso.person_id,
            redirect_uri=redirect_uri,
            scope=" ".join(scopes),
            nonce=nonce,
            challenge=challenge,
            acr=sso.acr,
            amr=list(sso.amr),
            auth_time=sso.auth_time,
        )
        await audit.record(
            uow,
            ctx,
            "login-succeeded",
            sso.person_id,
            {
                "person_id": sso.person_id,
                "client_id": client.client_id,
                "acr": sso.acr,
                "amr": list(sso.amr),
                "ip": ip,
                "sso": True,
            },
        )
        await uow.commit()
        return Redirect(with_query(redirect_uri, {"code": code, "state": state, "iss": ctx.issuer}))
    if "none" in prompts:
        raise OAuthError("login_required", "the person must log in")

    now = ctx.clock()
    request = AuthRequestRow(
        id=secrets.token_urlsafe(24),
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        acr_required=required.value if required else None,
        max_age=max_age,
        browser_hash=token_hash(browser_id),
        csrf_token=secrets.token_urlsafe(24),
        stage="login",
        created_at=now,
        expires_at=now + timedelta(seconds=ctx.settings.auth_request_ttl),
    )
    uow.session.add(request)
    await uow.commit()
    return LoginPage(request.id, request.csrf_token, client.name, acr_required=request.acr_required)


async def _issue_code(
    uow: UnitOfWork,
    ctx: IdentityContext,
    *,
    client_id: str,
    person_id: str,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    challenge: str,
    acr: str,
    amr: list[str],
    auth_time: datetime,
) -> str:
    code = secrets.token_urlsafe(32)
    uow.session.add(
        AuthCodeRow(
            code_hash=token_hash(code),
            client_id=client_id,
            person_id=person_id,
            redirect_uri=redirect_uri,
            scope=scope,
            nonce=nonce,
            code_challenge=challenge,
            acr=acr,
            amr=amr,
            auth_time=auth_time,
            expires_at=ctx.clock() + timedelta(seconds=ctx.settings.code_ttl),
        )
    )
    return code


# --- POST /oauth2/login and /oauth2/login/otp --------------------------------------------------


@dataclass(frozen=True)
class LoginForm:
    """What the login (or one-time-code) form posted."""

    request_id: str
    csrf_token: str
    username: str = ""
    password: str = ""
    otp: str = ""


async def _pending(
    uow: UnitOfWork, ctx: IdentityContext, form: LoginForm, browser_id: str | None
) -> AuthRequestRow | ErrorPage:
    known = form.request_id and storable(form.request_id)
    row = await uow.session.get(AuthRequestRow, form.request_id) if known else None
    if row is None or row.completed_at is not None or row.expires_at <= ctx.clock():
        return ErrorPage(400, "This login page has expired. Go back to the application and start again.")
    # The form must come from the browser that opened it (cookie) and carry its token (CSRF).
    same_browser = browser_id is not None and hmac.compare_digest(token_hash(browser_id), row.browser_hash)
    if not same_browser or not hmac.compare_digest(form.csrf_token.encode(), row.csrf_token.encode()):
        return ErrorPage(403, "The login form could not be verified. Start again from the application.")
    return row


def _page(row: AuthRequestRow, client_name: str, **kw: object) -> LoginPage:
    return LoginPage(row.id, row.csrf_token, client_name, acr_required=row.acr_required, **kw)  # type: ignore[arg-type]


async def _client_name(uow: UnitOfWork, client_id: str) -> str:
    row = await uow.session.get(ClientRow, client_id)
    return row.name if row is not None else client_id


async def _throttles(
    uow: UnitOfWork, ctx: IdentityContext, ip: str | None, person: NaturalPersonRow | None
) -> tuple[tuple[ThrottleRow | None, ThrottleState], tuple[ThrottleRow | None, ThrottleState] | None]:
    ip_state = await throttle_state(uow.session, f"ip:{ip or 'unknown'}")
    account_state = await throttle_state(uow.session, f"account:{person.id}") if person else None
    return ip_state, account_state


def _refusal(
    ctx: IdentityContext,
    ip_state: tuple[ThrottleRow | None, ThrottleState],
    account_state: tuple[ThrottleRow | None, ThrottleState] | None,
) -> Decision | None:
    now = ctx.clock()
    for policy, state in ((ctx.ip_policy, ip_state), (ctx.account_policy, account_state)):
        if state is None:
            continue
        decision = policy.check(state[1], now)
        if not decision.allowed:
            return decision
    return None


def _refusal_message(decision: Decision) -> str:
    wait = max(1, round(decision.retry_after))
    if decision.locked:
        return f"登录失败次数过多，账户已临时锁定 / Too many failed attempts: locked for {wait} s."
    return f"请稍候再试 / Too many attempts: wait {wait} s before trying again."


async def _fail(
    uow: UnitOfWork,
    ctx: IdentityContext,
    row: AuthRequestRow,
    ip: str | None,
    person: NaturalPersonRow | None,
    reason: str,
) -> ThrottleState | None:
    """Count a failure against the address and the account, audit it, commit."""
    now = ctx.clock()
    ip_key = f"ip:{ip or 'unknown'}"
    ip_row, ip_state = await throttle_state(uow.session, ip_key)
    save_throttle(uow.session, ip_row, ip_key, ctx.ip_policy.failed(ip_state, now))
    account = None
    if person is not None:
        key = f"account:{person.id}"
        acc_row, acc_state = await throttle_state(uow.session, key)
        account = ctx.account_policy.failed(acc_state, now)
        save_throttle(uow.session, acc_row, key, account)
    await audit.record(
        uow,
        ctx,
        "login-failed",
        person.id if person else "login:unknown-account",
        {
            "person_id": person.id if person else None,
            "client_id": row.client_id,
            "reason": reason,
            "ip": ip,
            "failures": account.failures if account else 0,
            "locked_until": account.locked_until if account else None,
        },
    )
    await uow.commit()
    return account


async def _refused(
    uow: UnitOfWork,
    ctx: IdentityContext,
    row: AuthRequestRow,
    ip: str | None,
    person: NaturalPersonRow | None,
    decision: Decision,
    stage: str,
    username: str,
) -> LoginPage:
    await audit.record(
        uow,
        ctx,
        "login-failed",
        person.id if person else "login:unknown-account",
        {
            "person_id": person.id if person else None,
            "client_id": row.client_id,
            "reason": "account-locked" if decision.locked else "throttled",
            "ip": ip,
        },
    )
    await uow.commit()
    return _page(
        row,
        await _client_name(uow, row.client_id),
        stage=stage,
        error=_refusal_message(decision),
        status=429,
        username=username,
        retry_after=decision.retry_after,
    )


async def _check_otp(ctx: IdentityContext, person: NaturalPersonRow, code: str) -> bool:
    if person.totp_secret_enc is None:
        return False
    secret = ctx.cipher.decrypt(person.totp_secret_enc, associated=person.id.encode())
    step = totp.matching_step(secret, code, ctx.clock(), person.totp_last_step)
    if step is None:
        return False
    person.totp_last_step = step
    return True


async def _finish(
    uow: UnitOfWork,
    ctx: IdentityContext,
    row: AuthRequestRow,
    person: NaturalPersonRow,
    level: Level,
    ip: str | None,
) -> Outcome:
    """Both factors checked: clear the account counter, issue the code, open an SSO session."""
    now = ctx.clock()
    key = f"account:{person.id}"
    acc_row, _ = await throttle_state(uow.session, key)
    if acc_row is not None:
        save_throttle(uow.session, acc_row, key, ctx.account_policy.succeeded())
    row.completed_at = now
    required = Level(row.acr_required) if row.acr_required else None
    if not satisfies(level, required):
        await audit.record(
            uow,
            ctx,
            "login-failed",
            person.id,
            {"person_id": person.id, "client_id": row.client_id, "reason": "level-unreachable", "ip": ip},
        )
        await uow.commit()
        return error_redirect(
            ctx,
            row.redirect_uri,
            OAuthError(
                "access_denied",
                f"the account cannot reach the assurance level {row.acr_required} the client requires",
            ),
            row.state,
        )
    amr = amr_for(level)
    code = await _issue_code(
        uow,
        ctx,
        client_id=row.client_id,
        person_id=person.id,
        redirect_uri=row.redirect_uri,
        scope=row.scope,
        nonce=row.nonce,
        challenge=row.code_challenge,
        acr=level.value,
        amr=amr,
        auth_time=now,
    )
    session_id = secrets.token_urlsafe(32)
    uow.session.add(
        SessionRow(
            id_hash=token_hash(session_id),
            person_id=person.id,
            acr=level.value,
            amr=amr,
            auth_time=now,
            expires_at=now + timedelta(seconds=ctx.settings.session_ttl),
        )
    )
    await audit.record(
        uow,
        ctx,
        "login-succeeded",
        person.id,
        {"person_id": person.id, "client_id": row.client_id, "acr": level.value, "amr": amr, "ip": ip},
    )
    await uow.commit()
    return Redirect(
        with_query(row.redirect_uri, {"code": code, "state": row.state, "iss": ctx.issuer}),
        session_cookie=session_id,
    )


async def login_password(
    form: LoginForm, *, uow: UnitOfWork, ctx: IdentityContext, browser_id: str | None, ip: str | None
) -> Outcome:
    """First factor: username and password (and the one-time code if the form carried one)."""
    pending = await _pending(uow, ctx, form, browser_id)
    if isinstance(pending, ErrorPage):
        return pending
    row = pending
    if row.stage != "login":
        return _page(row, await _client_name(uow, row.client_id), stage=row.stage)
    username = form.username.strip().lower()[:64]
    person = await person_by_username(uow.session, username) if username else None
    ip_state, account_state = await _throttles(uow, ctx, ip, person)
    decision = _refusal(ctx, ip_state, account_state)
    if decision is not None:
        return await _refused(uow, ctx, row, ip, person, decision, "login", username)

    ok = await ctx.hasher.verify(person.password_hash if person else None, form.password)
    if person is None or not ok:
        await _fail(uow, ctx, row, ip, person, "wrong-password")
        return _page(
            row, await _client_name(uow, row.client_id), error=GENERIC_FAILURE, status=401, username=username
        )
    if ctx.hasher.needs_rehash(person.password_hash):
        person.password_hash = await ctx.hasher.hash(form.password)

    verified_in_person = person.verification_level == Level.L3.value
    if person.totp_secret_enc is not None:
        if not form.otp:
            # Password accepted; the enrolled second factor is always asked for.
            row.stage = "otp"
            row.person_id = person.id
            await uow.commit()
            return _page(row, await _client_name(uow, row.client_id), stage="otp", username=username)
        if not await _check_otp(ctx, person, form.otp):
            await _fail(uow, ctx, row, ip, person, "wrong-otp")
            return _page(
                row,
                await _client_name(uow, row.client_id),
                error="动态口令错误 / Wrong one-time code.",
                status=401,
                username=username,
            )
        level = achieved_level(password=True, otp=True, verified_in_person=verified_in_person)
    else:
        level = achieved_level(password=True, otp=False, verified_in_person=verified_in_person)
    assert level is not None
    return await _finish(uow, ctx, row, person, level, ip)


async def login_otp(
    form: LoginForm, *, uow: UnitOfWork, ctx: IdentityContext, browser_id: str | None, ip: str | None
) -> Outcome:
    """Second factor for a request whose password step succeeded."""
    pending = await _pending(uow, ctx, form, browser_id)
    if isinstance(pending, ErrorPage):
        return pending
    row = pending
    if row.stage != "otp" or row.person_id is None:
        return _page(row, await _client_name(uow, row.client_id))
    person = await uow.session.get(NaturalPersonRow, row.person_id)
    if person is None:
        return ErrorPage(400, "The account no longer exists.")
    ip_state, account_state = await _throttles(uow, ctx, ip, person)
    decision = _refusal(ctx, ip_state, account_state)
    if decision is not None:
        return await _refused(uow, ctx, row, ip, person, decision, "otp", person.username)
    if not form.otp or not await _check_otp(ctx, person, form.otp):
        await _fail(uow, ctx, row, ip, person, "wrong-otp")
        return _page(
            row,
            await _client_name(uow, row.client_id),
            stage="otp",
            error="动态口令错误 / Wrong one-time code.",
            status=401,
            username=person.username,
        )
    level = achieved_level(
        password=True, otp=True, verified_in_person=person.verification_level == Level.L3.value
    )
    assert level is not None
    return await _finish(uow, ctx, row, person, level, ip)


async def end_session(uow: UnitOfWork, ctx: IdentityContext, session_id: str | None) -> None:
    """Log out of single sign-on."""
    if not session_id:
        return
    row = await uow.session.get(SessionRow, token_hash(session_id))
    if row is not None and row.revoked_at is None:
        row.revoked_at = ctx.clock()
        await uow.commit()
