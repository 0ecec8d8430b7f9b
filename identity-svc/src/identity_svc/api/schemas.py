"""Request and response bodies of the identity REST API (not the OAuth endpoints)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from identity_svc.domain.accounts import RepresentativeRole
from identity_svc.domain.clients import AuthMethod, ClientKind

Short = Annotated[str, Field(min_length=1, max_length=200)]
Uri = Annotated[str, Field(min_length=1, max_length=2000)]
Scope = Annotated[str, Field(min_length=1, max_length=64)]
GrantName = Annotated[str, Field(min_length=1, max_length=80)]
Region = Annotated[str, Field(pattern=r"^\d{6}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClientCreate(_In):
    """Register a client (a provincial platform, ministry system, service or public app)."""

    client_id: str | None = Field(None, min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]+$")
    name: Short
    kind: ClientKind
    region: Region | None = None
    org: str | None = Field(None, min_length=18, max_length=18, description="unified social credit code")
    grant_types: list[GrantName] = Field(min_length=1, max_length=4)
    scopes: list[Scope] = Field(default_factory=list, max_length=20)
    redirect_uris: list[Uri] = Field(default_factory=list, max_length=10)
    token_endpoint_auth_method: AuthMethod = AuthMethod.PRIVATE_KEY_JWT
    jwks: dict[str, Any] | None = Field(None, description="public keys for private_key_jwt")


class ClientPatch(_In):
    """Change a client's registration; absent fields stay as they are."""

    name: Short | None = None
    region: Region | None = None
    org: str | None = Field(None, min_length=18, max_length=18)
    grant_types: list[GrantName] | None = Field(None, min_length=1, max_length=4)
    scopes: list[Scope] | None = Field(None, max_length=20)
    redirect_uris: list[Uri] | None = Field(None, max_length=10)
    token_endpoint_auth_method: AuthMethod | None = None
    jwks: dict[str, Any] | None = None
    active: bool | None = None


class ClientOut(BaseModel):
    """A client as administrators see it (never its secret, except once at creation or rotation)."""

    client_id: str
    name: str
    kind: ClientKind
    region: str | None
    org: str | None
    grant_types: list[str]
    scopes: list[str]
    redirect_uris: list[str]
    token_endpoint_auth_method: AuthMethod
    jwks: dict[str, Any] | None
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    client_secret: str | None = Field(None, description="only in the response that created or rotated it")


class ClientPage(BaseModel):
    """One page of clients."""

    items: list[ClientOut]
    next_cursor: str | None = None


class KeyOut(BaseModel):
    """A signing key's public facts."""

    kid: str
    alg: str
    status: str
    created_at: datetime
    deactivated_at: datetime | None
    retire_after: datetime | None
    public_jwk: dict[str, Any]


class KeyList(BaseModel):
    """Signing keys, newest first."""

    items: list[KeyOut]


class RotationOut(BaseModel):
    """Result of a key rotation."""

    kid: str
    previous_kids: list[str]
    previous_retire_after: datetime | None


class PersonCreate(_In):
    """Register a natural person (self-service or by an identity administrator)."""

    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=100)
    resident_id: str = Field(min_length=1, max_length=32, description="18-character resident identity number")
    phone: str | None = Field(None, min_length=1, max_length=20)


class PersonOut(BaseModel):
    """A person; `resident_id` is masked unless the caller holds identity:admin."""

    id: str
    username: str
    name: str
    resident_id: str
    resident_id_masked: bool
    subject_hash: str
    phone: str | None
    verification_level: str
    totp_enrolled: bool
    version: int


class PersonPage(BaseModel):
    """One page of persons."""

    items: list[PersonOut]
    next_cursor: str | None = None


class VerificationIn(_In):
    """A window clerk's in-person check of the identity card."""

    resident_id: str = Field(min_length=1, max_length=32, description="number read from the card")
    clerk: str = Field(min_length=1, max_length=100, description="clerk's staff id")
    office: str = Field(min_length=1, max_length=200, description="service window / office")


class TotpOut(BaseModel):
    """A new TOTP secret, shown once."""

    secret: str
    otpauth_uri: str
    version: int


class RepresentativeIn(_In):
    """A person who may act for a legal person."""

    person_id: str = Field(min_length=1, max_length=36)
    role: RepresentativeRole


class LegalPersonCreate(_In):
    """Register a legal person."""

    name: str = Field(min_length=1, max_length=100)
    uscc: str = Field(min_length=1, max_length=32, description="unified social credit code")
    representatives: list[RepresentativeIn] = Field(default_factory=list, max_length=50)


class RepresentativeOut(BaseModel):
    """A representative of a legal person."""

    person_id: str
    role: RepresentativeRole


class LegalPersonOut(BaseModel):
    """A legal person; `uscc` is masked unless the caller holds identity:admin."""

    id: str
    name: str
    uscc: str
    uscc_masked: bool
    representatives: list[RepresentativeOut]
    version: int
