"""The authorization endpoint and the server-rendered login pages."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from tongban_kit.app import RuntimeDep

from identity_svc.api.deps import NO_STORE, CtxDep, client_ip, form_schema
from identity_svc.service_layer import authorization as authz
from identity_svc.service_layer.context import IdentityContext

router = APIRouter(tags=["login"])

BROWSER_COOKIE = "tb_browser"
SESSION_COOKIE = "tb_session"
_templates = Environment(
    loader=PackageLoader("identity_svc", "templates"), autoescape=select_autoescape(["html"])
)
# The pages run no script and load nothing; they may not be framed (clickjacking of the login).
PAGE_HEADERS = {
    **NO_STORE,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _secure(ctx: IdentityContext) -> bool:
    return ctx.issuer.startswith("https://")


def _render(ctx: IdentityContext, outcome: authz.Outcome, browser_id: str | None = None) -> Response:
    response: Response
    if isinstance(outcome, authz.Redirect):
        response = RedirectResponse(outcome.url, status_code=303, headers=NO_STORE)
        if outcome.session_cookie:
            response.set_cookie(
                SESSION_COOKIE,
                outcome.session_cookie,
                max_age=ctx.settings.session_ttl,
                httponly=True,
                secure=_secure(ctx),
                samesite="lax",
            )
    elif isinstance(outcome, authz.ErrorPage):
        html = _templates.get_template("message.html").render(
            title="无法继续 / Cannot continue", message=outcome.message
        )
        response = HTMLResponse(html, status_code=outcome.status, headers=PAGE_HEADERS)
    else:
        html = _templates.get_template("login.html").render(
            client_name=outcome.client_name,
            request_id=outcome.request_id,
            csrf_token=outcome.csrf_token,
            stage=outcome.stage,
            error=outcome.error,
            username=outcome.username,
            acr_required=outcome.acr_required,
            login_action=ctx.url("/oauth2/login"),
            otp_action=ctx.url("/oauth2/login/otp"),
        )
        headers = dict(PAGE_HEADERS)
        if outcome.retry_after:
            headers["Retry-After"] = str(max(1, round(outcome.retry_after)))
        response = HTMLResponse(html, status_code=outcome.status, headers=headers)
    if browser_id is not None:
        response.set_cookie(
            BROWSER_COOKIE,
            browser_id,
            max_age=ctx.settings.auth_request_ttl,
            httponly=True,
            secure=_secure(ctx),
            samesite="lax",
        )
    return response


async def _authorize(
    request: Request, ctx: IdentityContext, runtime: RuntimeDep, items: list[tuple[str, str]]
) -> Response:
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in items:
        if name in values and name in authz.SINGLE_VALUED:
            repeated.add(name)
        values[name] = value
    browser_id = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
    async with runtime.uow() as uow:
        outcome = await authz.start_authorization(
            authz.AuthorizationParams(values, frozenset(repeated)),
            uow=uow,
            ctx=ctx,
            browser_id=browser_id,
            session_id=request.cookies.get(SESSION_COOKIE),
            ip=client_ip(request, ctx),
        )
    if isinstance(outcome, authz.Redirect):
        response = _render(ctx, outcome)
        response.status_code = 302
        return response
    return _render(ctx, outcome, browser_id if isinstance(outcome, authz.LoginPage) else None)


@router.get("/oauth2/authorize", response_class=HTMLResponse)
async def authorize(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """Authorization endpoint (code flow with PKCE S256); shows the login page or redirects back."""
    return await _authorize(request, ctx, runtime, list(request.query_params.multi_items()))


@router.post(
    "/oauth2/authorize",
    response_class=HTMLResponse,
    openapi_extra=form_schema({"client_id": {"type": "string"}}, ["client_id"]),
)
async def authorize_post(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """Authorization endpoint by form POST (OIDC Core 3.1.2.1)."""
    form = await request.form()
    return await _authorize(
        request, ctx, runtime, [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    )


async def _login_form(request: Request) -> authz.LoginForm:
    form = await request.form()

    def field(name: str, limit: int) -> str:
        value = form.get(name)
        return value[:limit] if isinstance(value, str) else ""

    return authz.LoginForm(
        request_id=field("request_id", 64),
        csrf_token=field("csrf_token", 64),
        username=field("username", 64),
        password=field("password", 256),
        otp=field("otp", 10),
    )


_LOGIN_FORM = form_schema(
    {
        "request_id": {"type": "string"},
        "csrf_token": {"type": "string"},
        "username": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "otp": {"type": "string"},
    },
    ["request_id", "csrf_token"],
)


@router.post("/oauth2/login", response_class=HTMLResponse, openapi_extra=_LOGIN_FORM)
async def login(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """The login form's target: password (and TOTP), then back to the client with a code."""
    form = await _login_form(request)
    async with runtime.uow() as uow:
        outcome = await authz.login_password(
            form, uow=uow, ctx=ctx, browser_id=request.cookies.get(BROWSER_COOKIE), ip=client_ip(request, ctx)
        )
    return _render(ctx, outcome)


@router.post("/oauth2/login/otp", response_class=HTMLResponse, openapi_extra=_LOGIN_FORM)
async def login_otp(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """The one-time-code form's target (second factor)."""
    form = await _login_form(request)
    async with runtime.uow() as uow:
        outcome = await authz.login_otp(
            form, uow=uow, ctx=ctx, browser_id=request.cookies.get(BROWSER_COOKIE), ip=client_ip(request, ctx)
        )
    return _render(ctx, outcome)


@router.get("/oauth2/logout", response_class=HTMLResponse)
async def logout(request: Request, ctx: CtxDep, runtime: RuntimeDep) -> Response:
    """End the single-sign-on session of this browser."""
    async with runtime.uow() as uow:
        await authz.end_session(uow, ctx, request.cookies.get(SESSION_COOKIE))
    html = _templates.get_template("message.html").render(
        title="已退出 / Logged out", message="您已退出统一身份认证 / You are logged out."
    )
    response = HTMLResponse(html, headers=PAGE_HEADERS)
    response.delete_cookie(SESSION_COOKIE)
    return response
