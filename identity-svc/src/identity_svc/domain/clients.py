"""OAuth clients: provincial platforms, ministry systems, services; their grants, scopes and URIs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from tongban_contracts.reference import is_province
from tongban_kit.identifiers import InvalidIdentifier, validate_uscc

from identity_svc.domain.errors import InvalidClient, invalid_scope, unauthorized_client
from identity_svc.domain.tokens import API_SCOPES, OIDC_SCOPES, parse_scope

_CLIENT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class GrantType(StrEnum):
    """Grant types this provider implements (no implicit, no password grant: RFC 9700)."""

    AUTHORIZATION_CODE = "authorization_code"
    REFRESH_TOKEN = "refresh_token"
    CLIENT_CREDENTIALS = "client_credentials"
    TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


GRANT_ALIASES = {"token-exchange": GrantType.TOKEN_EXCHANGE}


class AuthMethod(StrEnum):
    """Token endpoint authentication methods."""

    PRIVATE_KEY_JWT = "private_key_jwt"
    CLIENT_SECRET_BASIC = "client_secret_basic"
    CLIENT_SECRET_POST = "client_secret_post"
    NONE = "none"  # public clients (browser or mobile apps): PKCE is their only protection


SECRET_METHODS = {AuthMethod.CLIENT_SECRET_BASIC, AuthMethod.CLIENT_SECRET_POST}


class ClientKind(StrEnum):
    """What a client is, for audit and for the introspection rule."""

    PLATFORM = "platform"
    MINISTRY = "ministry"
    SERVICE = "service"
    ADMIN = "admin"
    PUBLIC = "public"


def parse_grant_type(value: str) -> GrantType:
    """A grant type by its URN or short alias."""
    if value in GRANT_ALIASES:
        return GRANT_ALIASES[value]
    try:
        return GrantType(value)
    except ValueError as exc:
        raise InvalidClient(f"unknown grant type {value!r}") from exc


def check_redirect_uri(uri: str) -> str:
    """Registered redirect URIs are absolute, without fragment; plain http only for loopback."""
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc or parts.scheme not in ("https", "http"):
        raise InvalidClient(f"redirect URI {uri!r} must be an absolute http(s) URI without fragment")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidClient(f"redirect URI {uri!r} must use https (http only for loopback)")
    return uri


@dataclass
class Client:
    """A registered client."""

    client_id: str
    name: str
    kind: ClientKind
    grant_types: list[GrantType]
    scopes: list[str]
    auth_method: AuthMethod
    region: str | None = None
    org: str | None = None
    redirect_uris: list[str] = field(default_factory=list)
    jwks: dict[str, Any] | None = None
    active: bool = True
    version: int = 1

    def validate(self) -> None:
        """Check the registration rules; raise InvalidClient."""
        if not _CLIENT_ID_RE.match(self.client_id):
            raise InvalidClient("client_id must be 2 to 64 of a-z, 0-9, '.', '_', '-'")
        if not self.grant_types:
            raise InvalidClient("a client needs at least one grant type")
        unknown = [s for s in self.scopes if s not in API_SCOPES and s not in OIDC_SCOPES]
        if unknown:
            raise InvalidClient(f"unknown scopes: {' '.join(unknown)}")
        if self.region is not None and not is_province(self.region):
            raise InvalidClient("region must be a GB/T 2260 province code such as 440000")
        if self.org is not None:
            try:
                self.org = validate_uscc(self.org)
            except InvalidIdentifier as exc:
                raise InvalidClient(f"org: {exc}") from exc
        if GrantType.AUTHORIZATION_CODE in self.grant_types and not self.redirect_uris:
            raise InvalidClient("authorization_code needs at least one redirect URI")
        for uri in self.redirect_uris:
            check_redirect_uri(uri)
        if self.auth_method is AuthMethod.PRIVATE_KEY_JWT:
            keys = (self.jwks or {}).get("keys")
            if not isinstance(keys, list) or not keys:
                raise InvalidClient("private_key_jwt needs a JWKS with at least one public key")
            if any(isinstance(k, dict) and "d" in k for k in keys):
                raise InvalidClient("the JWKS must hold public keys only")
        if self.auth_method is AuthMethod.NONE:
            allowed = {GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN}
            if not set(self.grant_types) <= allowed:
                raise InvalidClient("a public client may only use authorization_code and refresh_token")
        if self.client_id.startswith("svc-") and self.kind is not ClientKind.SERVICE:
            raise InvalidClient("client ids starting with svc- are reserved for mesh services")

    def allows(self, grant: GrantType) -> None:
        """Refuse a grant type the client is not registered for."""
        if grant not in self.grant_types:
            raise unauthorized_client(f"this client may not use the {grant.value} grant")

    def grant_scopes(self, requested: str | None, *, default_all: bool) -> list[str]:
        """The scopes a request may get: all of them must be the client's (OIDC ones for code flow)."""
        allowed = set(self.scopes)
        if GrantType.AUTHORIZATION_CODE in self.grant_types:
            allowed |= OIDC_SCOPES
        wanted = parse_scope(requested)
        if not wanted:
            if not default_all:
                raise invalid_scope("scope is required")
            return [s for s in self.scopes if s in API_SCOPES]
        refused = [s for s in wanted if s not in allowed]
        if refused:
            raise invalid_scope(f"scope not allowed for this client: {' '.join(refused)}")
        return wanted

    @property
    def is_public(self) -> bool:
        """Public clients do not authenticate at the token endpoint."""
        return self.auth_method is AuthMethod.NONE
