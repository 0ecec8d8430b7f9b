"""Repositories: rows to domain objects and back, throttle counters, token bookkeeping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_kit.crypto import FieldCipher

from identity_svc.adapters.orm import (
    AccessTokenRow,
    ClientRow,
    LegalPersonRow,
    NaturalPersonRow,
    RefreshFamilyRow,
    RepresentativeRow,
    ThrottleRow,
)
from identity_svc.domain.accounts import (
    LegalPerson,
    NaturalPerson,
    Representative,
    RepresentativeRole,
)
from identity_svc.domain.assurance import Level
from identity_svc.domain.clients import AuthMethod, Client, ClientKind, parse_grant_type
from identity_svc.domain.lockout import ThrottleState

# --- clients ------------------------------------------------------------------------------------


def client_from_row(row: ClientRow) -> Client:
    """The domain view of a client row."""
    return Client(
        client_id=row.client_id,
        name=row.name,
        kind=ClientKind(row.kind),
        grant_types=[parse_grant_type(g) for g in row.grant_types],
        scopes=list(row.scopes),
        auth_method=AuthMethod(row.auth_method),
        region=row.region,
        org=row.org,
        redirect_uris=list(row.redirect_uris),
        jwks=row.jwks,
        active=row.active,
        version=row.version,
    )


def apply_client(row: ClientRow, client: Client) -> None:
    """Copy a domain client's registration onto its row."""
    row.name = client.name
    row.kind = client.kind.value
    row.region = client.region
    row.org = client.org
    row.grant_types = [g.value for g in client.grant_types]
    row.scopes = list(client.scopes)
    row.redirect_uris = list(client.redirect_uris)
    row.auth_method = client.auth_method.value
    row.jwks = client.jwks
    row.active = client.active


def storable(value: str) -> bool:
    """Whether a key can exist at all: PostgreSQL text holds no NUL and refuses to even compare one."""
    return "\x00" not in value


async def get_client(session: AsyncSession, client_id: str) -> ClientRow | None:
    """A client row by id (None for an id no client can have)."""
    return await session.get(ClientRow, client_id) if storable(client_id) else None


# --- persons ------------------------------------------------------------------------------------


def person_from_row(row: NaturalPersonRow, cipher: FieldCipher) -> NaturalPerson:
    """The domain view of a person, identity number and phone decrypted."""
    return NaturalPerson(
        id=row.id,
        username=row.username,
        name=row.name,
        resident_id=cipher.decrypt(row.resident_id_enc, associated=row.id.encode()),
        subject_hash=row.subject_hash,
        phone=cipher.decrypt(row.phone_enc, associated=row.id.encode()) if row.phone_enc else None,
        verification_level=Level(row.verification_level),
        totp_enrolled=row.totp_secret_enc is not None,
        version=row.version,
    )


async def person_by_username(session: AsyncSession, username: str) -> NaturalPersonRow | None:
    """A person by login name (None for a name no person can have)."""
    if not storable(username):
        return None
    row: NaturalPersonRow | None = await session.scalar(
        select(NaturalPersonRow).where(NaturalPersonRow.username == username)
    )
    return row


async def person_by_hash(session: AsyncSession, subject_hash: str) -> NaturalPersonRow | None:
    """A person by the keyed hash of their identity number."""
    row: NaturalPersonRow | None = await session.scalar(
        select(NaturalPersonRow).where(NaturalPersonRow.subject_hash == subject_hash)
    )
    return row


async def representations(session: AsyncSession, person_id: str) -> list[tuple[LegalPersonRow, str]]:
    """The legal persons a person may act for, with the role."""
    rows = await session.execute(
        select(LegalPersonRow, RepresentativeRow.role)
        .join(RepresentativeRow, RepresentativeRow.legal_person_id == LegalPersonRow.id)
        .where(RepresentativeRow.person_id == person_id)
        .order_by(LegalPersonRow.id)
    )
    return [(lp, role) for lp, role in rows.all()]


async def legal_person_from_row(
    session: AsyncSession, row: LegalPersonRow, cipher: FieldCipher
) -> LegalPerson:
    """The domain view of a legal person with its representatives."""
    reps = (
        await session.scalars(
            select(RepresentativeRow)
            .where(RepresentativeRow.legal_person_id == row.id)
            .order_by(RepresentativeRow.person_id)
        )
    ).all()
    return LegalPerson(
        id=row.id,
        name=row.name,
        uscc=cipher.decrypt(row.uscc_enc, associated=row.id.encode()),
        representatives=[Representative(r.person_id, RepresentativeRole(r.role)) for r in reps],
        version=row.version,
    )


# --- throttles ----------------------------------------------------------------------------------


async def throttle_state(session: AsyncSession, key: str) -> tuple[ThrottleRow | None, ThrottleState]:
    """The counter of one account or address."""
    row = await session.get(ThrottleRow, key)
    if row is None:
        return None, ThrottleState()
    return row, ThrottleState(row.failures, row.last_failure_at, row.locked_until)


def save_throttle(session: AsyncSession, row: ThrottleRow | None, key: str, state: ThrottleState) -> None:
    """Write a counter back."""
    if row is None:
        row = ThrottleRow(key=key)
        session.add(row)
    row.failures = state.failures
    row.last_failure_at = state.last_failure_at
    row.locked_until = state.locked_until


# --- tokens -------------------------------------------------------------------------------------


async def revoke_family(session: AsyncSession, family_id: str, reason: str, now: datetime) -> bool:
    """Revoke a refresh family and the access tokens issued from it; False if it already was."""
    result = await session.execute(
        update(RefreshFamilyRow)
        .where(RefreshFamilyRow.id == family_id, RefreshFamilyRow.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    )
    await session.execute(
        update(AccessTokenRow)
        .where(AccessTokenRow.family_id == family_id, AccessTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
