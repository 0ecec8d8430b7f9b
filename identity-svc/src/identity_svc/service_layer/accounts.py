"""Account handlers: registration, in-person verification, legal persons and representatives, TOTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters import totp
from identity_svc.adapters.orm import LegalPersonRow, NaturalPersonRow, RepresentativeRow
from identity_svc.adapters.repository import (
    legal_person_from_row,
    person_by_hash,
    person_by_username,
    person_from_row,
)
from identity_svc.domain.accounts import (
    LegalPerson,
    NaturalPerson,
    Representative,
    RepresentativeRole,
    check_password_strength,
    normalise_name,
    normalise_phone,
    normalise_resident_id,
    normalise_uscc,
    normalise_username,
)
from identity_svc.domain.assurance import Level
from identity_svc.domain.errors import DomainError, DuplicateAccount, InvalidIdentity
from identity_svc.service_layer import audit
from identity_svc.service_layer.context import IdentityContext


class NotFound(DomainError):
    """No such account."""

    code = "not-found"
    status = 404


class StaleAccount(DomainError):
    """The account changed since the caller read it."""

    code = "stale-etag"
    status = 412


@dataclass(frozen=True)
class RegisterPerson:
    """Register a natural person."""

    username: str
    password: str
    name: str
    resident_id: str
    phone: str | None = None
    totp_secret: str | None = None


@dataclass(frozen=True)
class VerifyInPerson:
    """A window clerk saw the identity card and confirms the account's identity number."""

    person_id: str
    resident_id: str
    clerk: str
    office: str


@dataclass(frozen=True)
class RegisterLegalPerson:
    """Register a company or institution and its representatives."""

    name: str
    uscc: str
    representatives: list[tuple[str, RepresentativeRole]] = field(default_factory=list)


async def register_person(
    cmd: RegisterPerson, *, uow: UnitOfWork, ctx: IdentityContext, actor: str | None
) -> NaturalPerson:
    """Validate, encrypt and store a new natural person at level L1."""
    username = normalise_username(cmd.username)
    resident_id = normalise_resident_id(cmd.resident_id)
    name = normalise_name(cmd.name)
    phone = normalise_phone(cmd.phone) if cmd.phone else None
    check_password_strength(cmd.password, username=username)
    subject_hash = ctx.subject_hash(resident_id)
    session = uow.session
    if await person_by_username(session, username) is not None:
        raise DuplicateAccount("this username is taken")
    if await person_by_hash(session, subject_hash) is not None:
        raise DuplicateAccount("an account with this identity number exists")
    person_id = new_id()
    aad = person_id.encode()
    now = ctx.clock()
    row = NaturalPersonRow(
        id=person_id,
        username=username,
        name=name,
        resident_id_enc=ctx.cipher.encrypt(resident_id, associated=aad),
        subject_hash=subject_hash,
        phone_enc=ctx.cipher.encrypt(phone, associated=aad) if phone else None,
        password_hash=await ctx.hasher.hash(cmd.password),
        totp_secret_enc=ctx.cipher.encrypt(cmd.totp_secret, associated=aad) if cmd.totp_secret else None,
        verification_level=Level.L1.value,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        uow,
        ctx,
        "person-registered",
        person_id,
        {
            "person_id": person_id,
            "subject_hash": subject_hash,
            "verification_level": Level.L1.value,
            "registered_by": actor,
        },
    )
    return person_from_row(row, ctx.cipher)


async def load_person(uow: UnitOfWork, ctx: IdentityContext, person_id: str) -> NaturalPerson:
    """A person or 404."""
    row = await uow.session.get(NaturalPersonRow, person_id)
    if row is None:
        raise NotFound(f"person {person_id} was not found")
    return person_from_row(row, ctx.cipher)


async def verify_in_person(
    cmd: VerifyInPerson,
    *,
    expected_version: int | None,
    uow: UnitOfWork,
    ctx: IdentityContext,
    actor: str,
    region: str | None,
) -> NaturalPerson:
    """Raise a person to L3 after a clerk checked the identity card at a service window."""
    row = await uow.session.get(NaturalPersonRow, cmd.person_id)
    if row is None:
        raise NotFound(f"person {cmd.person_id} was not found")
    if expected_version is not None and row.version != expected_version:
        raise StaleAccount("the account changed since you read it")
    person = person_from_row(row, ctx.cipher)
    person.verify_in_person(cmd.resident_id)
    now = ctx.clock()
    row.verification_level = person.verification_level.value
    row.version = person.version
    row.verified_at = now
    row.verified_by = {"client_id": actor, "region": region, "clerk": cmd.clerk, "office": cmd.office}
    row.updated_at = now
    await uow.session.flush()
    await audit.record(
        uow,
        ctx,
        "person-verified",
        row.id,
        {
            "person_id": row.id,
            "verification_level": "L3",
            "verified_by": actor,
            "region": region,
            "clerk": cmd.clerk,
            "office": cmd.office,
        },
    )
    return person


async def enroll_totp(person_id: str, *, uow: UnitOfWork, ctx: IdentityContext) -> tuple[NaturalPerson, str]:
    """Give a person a new TOTP secret (returned once, to be scanned into an authenticator)."""
    row = await uow.session.get(NaturalPersonRow, person_id)
    if row is None:
        raise NotFound(f"person {person_id} was not found")
    secret = totp.new_secret()
    row.totp_secret_enc = ctx.cipher.encrypt(secret, associated=row.id.encode())
    row.totp_last_step = None
    row.version += 1
    row.updated_at = ctx.clock()
    await uow.session.flush()
    return person_from_row(row, ctx.cipher), secret


def _rep_list(lp: LegalPerson) -> list[dict[str, str]]:
    return [{"person_id": r.person_id, "role": r.role.value} for r in lp.representatives]


async def register_legal_person(
    cmd: RegisterLegalPerson, *, uow: UnitOfWork, ctx: IdentityContext, actor: str
) -> LegalPerson:
    """Store a legal person (credit code encrypted, keyed hash for lookup) with representatives."""
    uscc = normalise_uscc(cmd.uscc)
    name = normalise_name(cmd.name, "legal person name")
    session = uow.session
    uscc_hash = ctx.subject_hash(uscc)
    exists = await session.scalar(select(LegalPersonRow.id).where(LegalPersonRow.uscc_hash == uscc_hash))
    if exists is not None:
        raise DuplicateAccount("a legal person with this credit code exists")
    lp = LegalPerson(id=new_id(), name=name, uscc=uscc)
    for person_id, role in cmd.representatives:
        if await session.get(NaturalPersonRow, person_id) is None:
            raise InvalidIdentity(f"representative {person_id} is not a registered person")
        lp.add_representative(Representative(person_id, role))
    lp.version = 1
    now = ctx.clock()
    session.add(
        LegalPersonRow(
            id=lp.id,
            name=lp.name,
            uscc_enc=ctx.cipher.encrypt(uscc, associated=lp.id.encode()),
            uscc_hash=uscc_hash,
            version=1,
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    for rep in lp.representatives:
        session.add(RepresentativeRow(legal_person_id=lp.id, person_id=rep.person_id, role=rep.role.value))
    await session.flush()
    await audit.record(
        uow,
        ctx,
        "legal-person-changed",
        lp.id,
        {
            "legal_person_id": lp.id,
            "change": "created",
            "changed_by": actor,
            "representatives": _rep_list(lp),
        },
    )
    return lp


async def load_legal_person(uow: UnitOfWork, ctx: IdentityContext, legal_person_id: str) -> LegalPerson:
    """A legal person or 404."""
    row = await uow.session.get(LegalPersonRow, legal_person_id)
    if row is None:
        raise NotFound(f"legal person {legal_person_id} was not found")
    return await legal_person_from_row(uow.session, row, ctx.cipher)


async def add_representative(
    legal_person_id: str,
    person_id: str,
    role: RepresentativeRole,
    *,
    expected_version: int | None,
    uow: UnitOfWork,
    ctx: IdentityContext,
    actor: str,
) -> LegalPerson:
    """Let one more person act for a legal person."""
    session = uow.session
    row = await session.get(LegalPersonRow, legal_person_id)
    if row is None:
        raise NotFound(f"legal person {legal_person_id} was not found")
    if expected_version is not None and row.version != expected_version:
        raise StaleAccount("the legal person changed since you read it")
    if await session.get(NaturalPersonRow, person_id) is None:
        raise InvalidIdentity(f"representative {person_id} is not a registered person")
    lp = await legal_person_from_row(session, row, ctx.cipher)
    lp.add_representative(Representative(person_id, role))
    existing = await session.get(RepresentativeRow, (legal_person_id, person_id))
    if existing is None:
        session.add(RepresentativeRow(legal_person_id=lp.id, person_id=person_id, role=role.value))
    else:
        existing.role = role.value
    row.version = lp.version
    row.updated_at = ctx.clock()
    await session.flush()
    await audit.record(
        uow,
        ctx,
        "legal-person-changed",
        lp.id,
        {
            "legal_person_id": lp.id,
            "change": "representative-added",
            "changed_by": actor,
            "representatives": _rep_list(lp),
        },
    )
    return lp


def person_view(person: NaturalPerson, *, full: bool) -> dict[str, Any]:
    """What a response shows of a person: identity number masked unless `full` (identity:admin)."""
    return {
        "id": person.id,
        "username": person.username,
        "name": person.name,
        "resident_id": person.resident_id if full else person.masked_resident_id,
        "resident_id_masked": not full,
        "subject_hash": person.subject_hash,
        "phone": person.phone if full or person.phone is None else _masked_phone(person.phone),
        "verification_level": person.verification_level.value,
        "totp_enrolled": person.totp_enrolled,
        "version": person.version,
    }


def _masked_phone(phone: str) -> str:
    from identity_svc.domain.accounts import mask_phone

    return mask_phone(phone)
