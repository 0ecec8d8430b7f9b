"""Token endpoint grants, introspection (RFC 7662), revocation (RFC 7009) and userinfo."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from sqlalchemy import update
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters.orm import (
    AccessTokenRow,
    AuthCodeRow,
    NaturalPersonRow,
    RefreshFamilyRow,
    RefreshTokenRow,
)
from identity_svc.adapters.repository import person_from_row, representations, revoke_family
from identity_svc.domain import pkce
from identity_svc.domain.accounts import mask_uscc
from identity_svc.domain.clients import Client, ClientKind, GrantType
from identity_svc.domain.errors import (
    OAuthError,
    invalid_grant,
    invalid_request,
    invalid_scope,
)
from identity_svc.domain.keys import CLOCK_SKEW
from identity_svc.domain.tokens import (
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    IDENTITY_AUDIENCE,
    OIDC_SCOPES,
    access_token_claims,
    audience_for,
    exchange_actor,
    id_token_claims,
    parse_scope,
    refresh_expiry,
)
from identity_svc.service_layer import audit
from identity_svc.service_layer.context import IdentityContext, token_hash


class TokenInvalid(Exception):
    """A token presented to this issuer is not one of its valid tokens."""


@dataclass(frozen=True)
class Form:
    """Form parameters of a token-endpoint request (each at most once)."""

    values: dict[str, str]

    def get(self, name: str) -> str | None:
        """A parameter, None when absent or empty."""
        value = self.values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        """A required parameter."""
        value = self.get(name)
        if value is None:
            raise invalid_request(f"{name} is required")
        return value


# --- verifying this issuer's own tokens --------------------------------------------------------


def verify_own(ctx: IdentityContext, token: str, *, typ: str, skew: int = 0) -> dict[str, Any]:
    """Claims of a token this issuer signed with a published key, of the given `typ`, unexpired."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as exc:
        raise TokenInvalid("malformed") from exc
    if str(header.get("typ", "")).lower() not in (typ.lower(), f"application/{typ.lower()}"):
        raise TokenInvalid("wrong token type")
    if header.get("kid") not in ctx.keys.kids():
        raise TokenInvalid("unknown key")
    try:
        claims = jwt.decode(token, ctx.keys.key_set(), algorithms=["ES256"]).claims
    except (JoseError, ValueError) as exc:
        raise TokenInvalid("bad signature") from exc
    exp = claims.get("exp")
    if claims.get("iss") != ctx.issuer or not isinstance(exp, int) or exp + skew <= ctx.clock().timestamp():
        raise TokenInvalid("expired or foreign")
    return claims


async def access_token_active(uow: UnitOfWork, claims: dict[str, Any]) -> bool:
    """A verified, unexpired access token is active unless it or its refresh family was revoked.

    Only tokens tied to a refresh family get a record when issued (client-credentials tokens,
    the bulk, do not); a revoked token always has one.
    """
    row = await uow.session.get(AccessTokenRow, str(claims.get("jti", "")))
    if row is None:
        return True
    if row.revoked_at is not None:
        return False
    if row.family_id is not None:
        family = await uow.session.get(RefreshFamilyRow, row.family_id)
        if family is None or family.revoked_at is not None:
            return False
    return True


# --- issuing -----------------------------------------------------------------------------------


async def issue_access_token(
    uow: UnitOfWork,
    ctx: IdentityContext,
    *,
    client: Client,
    subject: str,
    scopes: list[str],
    grant_type: str,
    acr: str | None = None,
    subject_hash: str | None = None,
    auth_time: datetime | None = None,
    act: dict[str, Any] | None = None,
    family_id: str | None = None,
    audience: list[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign an RFC 9068 access token, record its id, audit it."""
    aud = audience if audience is not None else audience_for(scopes)
    if not aud:
        raise invalid_scope("the scopes name no service, so no audience can be set")
    now = ctx.clock()
    jti = new_id()
    claims = access_token_claims(
        issuer=ctx.issuer,
        subject=subject,
        client_id=client.client_id,
        scopes=scopes,
        audience=aud,
        jti=jti,
        now=now,
        ttl=ctx.settings.access_token_ttl,
        region=client.region,
        org=client.org,
        acr=acr,
        subject_hash=subject_hash,
        auth_time=auth_time,
        act=act,
    )
    token = ctx.keys.sign(claims, "at+jwt")
    expires_at = now + timedelta(seconds=ctx.settings.access_token_ttl)
    if family_id is not None:
        # Revoking the family must reach this token; other tokens need a record only once revoked.
        uow.session.add(
            AccessTokenRow(
                jti=jti,
                client_id=client.client_id,
                subject=subject,
                family_id=family_id,
                expires_at=expires_at,
            )
        )
    await audit.record(
        uow,
        ctx,
        "token-issued",
        client.client_id,
        {
            "jti": jti,
            "client_id": client.client_id,
            "subject": subject,
            "grant_type": grant_type,
            "scope": claims["scope"],
            "audience": aud,
            "expires_at": expires_at,
            "acr": acr,
            "region": client.region,
            "actor": act,
            "refresh_family_id": family_id,
        },
    )
    return token, claims


def _token_response(
    ctx: IdentityContext, access_token: str, scopes: list[str], **extra: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ctx.settings.access_token_ttl,
        "scope": " ".join(scopes),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _id_token(
    ctx: IdentityContext,
    client: Client,
    person_id: str,
    *,
    auth_time: datetime,
    acr: str,
    amr: list[str],
    nonce: str | None,
    access_token: str,
) -> str:
    claims = id_token_claims(
        issuer=ctx.issuer,
        subject=person_id,
        client_id=client.client_id,
        now=ctx.clock(),
        ttl=ctx.settings.id_token_ttl,
        auth_time=auth_time,
        acr=acr,
        amr=amr,
        nonce=nonce,
        access_token=access_token,
    )
    return ctx.keys.sign(claims, "JWT")


async def _new_refresh_token(uow: UnitOfWork, family: RefreshFamilyRow, expires_at: datetime) -> str:
    value = secrets.token_urlsafe(32)
    uow.session.add(
        RefreshTokenRow(
            token_hash=token_hash(value),
            family_id=family.id,
            client_id=family.client_id,
            expires_at=expires_at,
        )
    )
    return value


async def _revoked(
    uow: UnitOfWork, ctx: IdentityContext, family_id: str, client_id: str, subject: str | None, reason: str
) -> None:
    """Revoke a family for a security reason, audit and commit (the request then fails)."""
    if await revoke_family(uow.session, family_id, reason, ctx.clock()):
        await audit.record(
            uow,
            ctx,
            "token-revoked",
            client_id,
            {
                "client_id": client_id,
                "reason": reason,
                "refresh_family_id": family_id,
                "subject": subject,
                "revoked_by": "identity",
            },
        )
    await uow.commit()


async def _person(uow: UnitOfWork, person_id: str | None) -> NaturalPersonRow:
    row = await uow.session.get(NaturalPersonRow, person_id) if person_id else None
    if row is None:
        raise invalid_grant("the account no longer exists")
    return row


async def grant_authorization_code(
    form: Form, client: Client, *, uow: UnitOfWork, ctx: IdentityContext
) -> dict[str, Any]:
    """Redeem a code once, with its PKCE verifier and the same redirect URI."""
    client.allows(GrantType.AUTHORIZATION_CODE)
    code = form.require("code")
    redirect_uri = form.require("redirect_uri")
    verifier = form.get("code_verifier")
    row = await uow.session.get(AuthCodeRow, token_hash(code))
    now = ctx.clock()
    if row is None or row.client_id != client.client_id:
        raise invalid_grant("the authorization code is not valid")
    if row.used_at is not None:
        # A second redemption means the code leaked: take back what the first one got.
        if row.family_id is not None:
            await _revoked(uow, ctx, row.family_id, client.client_id, row.person_id, "code-reuse")
        raise invalid_grant("the authorization code was already used")
    if row.expires_at <= now:
        raise invalid_grant("the authorization code has expired")
    if redirect_uri != row.redirect_uri:
        raise invalid_grant("redirect_uri does not match the authorization request")
    claimed = await uow.session.execute(
        update(AuthCodeRow)
        .where(AuthCodeRow.code_hash == row.code_hash, AuthCodeRow.used_at.is_(None))
        .values(used_at=now)
    )
    if not getattr(claimed, "rowcount", 0):
        raise invalid_grant("the authorization code was already used")
    try:
        pkce.check_verifier(row.code_challenge, verifier)
    except OAuthError:
        await uow.commit()  # a failed verifier still uses the code up: one try per code
        raise
    person_row = await _person(uow, row.person_id)
    person = person_from_row(person_row, ctx.cipher)
    scopes = parse_scope(row.scope)
    family_id = None
    refresh = None
    if GrantType.REFRESH_TOKEN in client.grant_types:
        family = RefreshFamilyRow(
            id=new_id(),
            client_id=client.client_id,
            person_id=person.id,
            scope=row.scope,
            acr=row.acr,
            amr=list(row.amr),
            auth_time=row.auth_time,
            created_at=now,
        )
        uow.session.add(family)
        family_id = family.id
        row.family_id = family.id
        refresh = await _new_refresh_token(
            uow,
            family,
            refresh_expiry(now, now, ctx.settings.refresh_token_ttl, ctx.settings.refresh_family_max_age),
        )
    access, _ = await issue_access_token(
        uow,
        ctx,
        client=client,
        subject=person.id,
        scopes=scopes,
        grant_type=GrantType.AUTHORIZATION_CODE.value,
        acr=row.acr,
        subject_hash=person.subject_hash,
        auth_time=row.auth_time,
        family_id=family_id,
    )
    id_token = None
    if "openid" in scopes:
        id_token = _id_token(
            ctx,
            client,
            person.id,
            auth_time=row.auth_time,
            acr=row.acr,
            amr=list(row.amr),
            nonce=row.nonce,
            access_token=access,
        )
    await uow.commit()
    return _token_response(ctx, access, scopes, refresh_token=refresh, id_token=id_token)


async def grant_refresh_token(
    form: Form, client: Client, *, uow: UnitOfWork, ctx: IdentityContext
) -> dict[str, Any]:
    """Rotate a refresh token; presenting a rotated one again revokes the whole family."""
    client.allows(GrantType.REFRESH_TOKEN)
    value = form.require("refresh_token")
    row = await uow.session.get(RefreshTokenRow, token_hash(value))
    now = ctx.clock()
    if row is None or row.client_id != client.client_id:
        raise invalid_grant("the refresh token is not valid")
    family = await uow.session.get(RefreshFamilyRow, row.family_id)
    if family is None or family.revoked_at is not None:
        raise invalid_grant("the refresh token was revoked")
    if row.used_at is not None:
        await _revoked(uow, ctx, family.id, client.client_id, family.person_id, "refresh-token-reuse")
        raise invalid_grant("the refresh token was already used; its family is revoked")
    if row.expires_at <= now:
        raise invalid_grant("the refresh token has expired")
    claimed = await uow.session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.token_hash == row.token_hash, RefreshTokenRow.used_at.is_(None))
        .values(used_at=now)
    )
    if not getattr(claimed, "rowcount", 0):
        await _revoked(uow, ctx, family.id, client.client_id, family.person_id, "refresh-token-reuse")
        raise invalid_grant("the refresh token was already used; its family is revoked")
    granted = parse_scope(family.scope)
    requested = parse_scope(form.get("scope"))
    if requested and not set(requested) <= set(granted):
        raise invalid_scope("a refresh may narrow the scope, never widen it")
    scopes = requested or granted
    person = person_from_row(await _person(uow, family.person_id), ctx.cipher)
    expires = refresh_expiry(
        now, family.created_at, ctx.settings.refresh_token_ttl, ctx.settings.refresh_family_max_age
    )
    if expires <= now:
        raise invalid_grant("the login is too old; log in again")
    refresh = await _new_refresh_token(uow, family, expires)
    access, _ = await issue_access_token(
        uow,
        ctx,
        client=client,
        subject=person.id,
        scopes=scopes,
        grant_type=GrantType.REFRESH_TOKEN.value,
        acr=family.acr,
        subject_hash=person.subject_hash,
        auth_time=family.auth_time,
        family_id=family.id,
    )
    id_token = None
    if "openid" in scopes:
        id_token = _id_token(
            ctx,
            client,
            person.id,
            auth_time=family.auth_time,
            acr=family.acr,
            amr=list(family.amr),
            nonce=None,
            access_token=access,
        )
    await uow.commit()
    return _token_response(ctx, access, scopes, refresh_token=refresh, id_token=id_token)


async def grant_client_credentials(
    form: Form, client: Client, *, uow: UnitOfWork, ctx: IdentityContext
) -> dict[str, Any]:
    """A token for the client itself: its region and organisation, no person."""
    client.allows(GrantType.CLIENT_CREDENTIALS)
    scopes = client.grant_scopes(form.get("scope"), default_all=True)
    if set(scopes) & OIDC_SCOPES:
        raise invalid_scope("OpenID scopes need a person: use the authorization code flow")
    access, _ = await issue_access_token(
        uow,
        ctx,
        client=client,
        subject=client.client_id,
        scopes=scopes,
        grant_type=GrantType.CLIENT_CREDENTIALS.value,
    )
    await uow.commit()
    return _token_response(ctx, access, scopes)


async def grant_token_exchange(
    form: Form, client: Client, *, uow: UnitOfWork, ctx: IdentityContext
) -> dict[str, Any]:
    """RFC 8693: a platform acts for a person who logged in at it; the token says so in `act`."""
    client.allows(GrantType.TOKEN_EXCHANGE)
    subject_token = form.require("subject_token")
    subject_type = form.require("subject_token_type")
    requested_type = form.get("requested_token_type") or ACCESS_TOKEN_TYPE
    if requested_type != ACCESS_TOKEN_TYPE:
        raise invalid_request("only access tokens can be requested")
    try:
        if subject_type == ACCESS_TOKEN_TYPE:
            claims = verify_own(ctx, subject_token, typ="at+jwt")
            if not await access_token_active(uow, claims):
                raise TokenInvalid("revoked")
            issued_to = claims.get("client_id")
        elif subject_type == ID_TOKEN_TYPE:
            claims = verify_own(ctx, subject_token, typ="JWT")
            issued_to = claims.get("aud")
        else:
            raise invalid_request("subject_token_type must be an access token or an ID token")
    except TokenInvalid as exc:
        raise invalid_grant("the subject token is not valid") from exc
    # Only the client the person logged in at may act for them: a token leaked to another
    # client cannot be turned into that client's delegation.
    if issued_to != client.client_id:
        raise invalid_grant("the subject token was not issued to this client")
    actor_token = form.get("actor_token")
    if actor_token is not None:
        try:
            actor_claims = verify_own(ctx, actor_token, typ="at+jwt")
        except TokenInvalid as exc:
            raise invalid_grant("the actor token is not valid") from exc
        if actor_claims.get("sub") != client.client_id:
            raise invalid_grant("the actor token must be the client's own")
    person_row = await uow.session.get(NaturalPersonRow, str(claims.get("sub", "")))
    if person_row is None:
        raise invalid_grant("the subject token does not represent a person")
    scopes = client.grant_scopes(form.get("scope"), default_all=True)
    scopes = [s for s in scopes if s not in OIDC_SCOPES]
    aud = audience_for(scopes)
    wanted = form.get("audience")
    if wanted is not None:
        targets = wanted.split()
        aud = [a for a in aud if a in targets]
        if not aud:
            raise OAuthError("invalid_target", "the requested audience is not covered by the scopes")
    acr = claims.get("acr")
    auth_time = claims.get("auth_time")
    prior_act = claims.get("act")
    when = datetime.fromtimestamp(auth_time, ctx.clock().tzinfo) if isinstance(auth_time, int) else None
    access, _ = await issue_access_token(
        uow,
        ctx,
        client=client,
        subject=person_row.id,
        scopes=scopes,
        grant_type=GrantType.TOKEN_EXCHANGE.value,
        acr=acr if isinstance(acr, str) else None,
        subject_hash=person_row.subject_hash,
        auth_time=when,
        act=exchange_actor(client.client_id, prior_act if isinstance(prior_act, dict) else None),
        audience=aud,
    )
    await uow.commit()
    body = _token_response(ctx, access, scopes)
    body["issued_token_type"] = ACCESS_TOKEN_TYPE
    return body


GRANTS = {
    GrantType.AUTHORIZATION_CODE.value: grant_authorization_code,
    GrantType.REFRESH_TOKEN.value: grant_refresh_token,
    GrantType.CLIENT_CREDENTIALS.value: grant_client_credentials,
    GrantType.TOKEN_EXCHANGE.value: grant_token_exchange,
}


# --- introspection and revocation --------------------------------------------------------------


def _may_see(caller: Client, issued_to: str) -> bool:
    """Resource servers (services) and identity admins see every token; a client only its own."""
    return (
        caller.kind is ClientKind.SERVICE
        or "identity:admin" in caller.scopes
        or caller.client_id == issued_to
    )


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


async def introspect(token: str, caller: Client, *, uow: UnitOfWork, ctx: IdentityContext) -> dict[str, Any]:
    """RFC 7662: `active` and the token's claims, or just `active: false`."""
    inactive: dict[str, Any] = {"active": False}
    if _looks_like_jwt(token):
        try:
            claims = verify_own(ctx, token, typ="at+jwt")
        except TokenInvalid:
            return inactive
        if not await access_token_active(uow, claims) or not _may_see(caller, str(claims.get("client_id"))):
            return inactive
        keep = (
            "scope",
            "client_id",
            "sub",
            "aud",
            "iss",
            "exp",
            "iat",
            "jti",
            "region",
            "acr",
            "org",
            "subject_hash",
            "act",
            "auth_time",
        )
        body = {k: claims[k] for k in keep if k in claims}
        return {"active": True, "token_type": "Bearer", **body}
    row = await uow.session.get(RefreshTokenRow, token_hash(token))
    now = ctx.clock()
    if row is None or row.used_at is not None or row.expires_at <= now:
        return inactive
    family = await uow.session.get(RefreshFamilyRow, row.family_id)
    if family is None or family.revoked_at is not None or not _may_see(caller, row.client_id):
        return inactive
    return {
        "active": True,
        "token_type": "refresh_token",
        "client_id": row.client_id,
        "scope": family.scope,
        "sub": family.person_id,
        "iss": ctx.issuer,
        "exp": int(row.expires_at.timestamp()),
        "iat": int(row.created_at.timestamp()),
    }


async def revoke(token: str, caller: Client, *, uow: UnitOfWork, ctx: IdentityContext) -> None:
    """RFC 7009: revoke a refresh token (with its family) or an access token the caller holds."""
    now = ctx.clock()
    if _looks_like_jwt(token):
        try:
            # Expired tokens need no revocation; skew covers one that is just about to expire.
            claims = verify_own(ctx, token, typ="at+jwt", skew=CLOCK_SKEW)
        except TokenInvalid:
            return
        if claims.get("client_id") != caller.client_id or not await access_token_active(uow, claims):
            return
        jti = str(claims.get("jti", ""))
        row = await uow.session.get(AccessTokenRow, jti)
        if row is None:
            row = AccessTokenRow(
                jti=jti,
                client_id=caller.client_id,
                subject=str(claims.get("sub", "")),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), now.tzinfo),
            )
            uow.session.add(row)
        row.revoked_at = now
        await audit.record(
            uow,
            ctx,
            "token-revoked",
            caller.client_id,
            {
                "client_id": caller.client_id,
                "reason": "client-request",
                "jti": row.jti,
                "subject": row.subject,
                "revoked_by": caller.client_id,
            },
        )
        await uow.commit()
        return
    refresh = await uow.session.get(RefreshTokenRow, token_hash(token))
    if refresh is None or refresh.client_id != caller.client_id:
        return
    family = await uow.session.get(RefreshFamilyRow, refresh.family_id)
    if family is None:
        return
    if await revoke_family(uow.session, family.id, "client-request", now):
        await audit.record(
            uow,
            ctx,
            "token-revoked",
            caller.client_id,
            {
                "client_id": caller.client_id,
                "reason": "client-request",
                "refresh_family_id": family.id,
                "subject": family.person_id,
                "revoked_by": caller.client_id,
            },
        )
    await uow.commit()


# --- userinfo ----------------------------------------------------------------------------------


class BearerError(Exception):
    """RFC 6750 error at a protected resource of this service."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


async def userinfo(token: str, *, uow: UnitOfWork, ctx: IdentityContext) -> dict[str, Any]:
    """Claims about the person the access token represents, as far as its scopes allow."""
    try:
        claims = verify_own(ctx, token, typ="at+jwt")
    except TokenInvalid as exc:
        raise BearerError("invalid_token", "the access token is not valid", 401) from exc
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if IDENTITY_AUDIENCE not in auds or not await access_token_active(uow, claims):
        raise BearerError("invalid_token", "the access token is not valid here", 401)
    scopes = parse_scope(claims.get("scope"))
    if "openid" not in scopes:
        raise BearerError("insufficient_scope", "userinfo needs the openid scope", 403)
    row = await uow.session.get(NaturalPersonRow, str(claims.get("sub", "")))
    if row is None:
        raise BearerError("invalid_token", "the token does not represent a person", 401)
    person = person_from_row(row, ctx.cipher)
    info: dict[str, Any] = {
        "sub": person.id,
        "subject_hash": person.subject_hash,
        "verification_level": person.verification_level.value,
    }
    if "profile" in scopes:
        info["name"] = person.name
        info["preferred_username"] = person.username
        # Masked always: only an identity administrator ever sees a full identity number.
        info["resident_id_masked"] = person.masked_resident_id
        info["representations"] = [
            {
                "legal_person_id": lp.id,
                "name": lp.name,
                "uscc_masked": mask_uscc(ctx.cipher.decrypt(lp.uscc_enc, associated=lp.id.encode())),
                "role": role,
            }
            for lp, role in await representations(uow.session, person.id)
        ]
    if "phone" in scopes and person.phone:
        info["phone_number"] = "+86" + person.phone
        info["phone_number_verified"] = False
    return info
