"""Accounts: natural persons (resident identity number) and legal persons (credit code)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from tongban_kit.identifiers import InvalidIdentifier, mask_resident_id, validate_resident_id, validate_uscc

from identity_svc.domain.assurance import Level
from identity_svc.domain.errors import InvalidIdentity, VerificationRefused

_USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256


class RepresentativeRole(StrEnum):
    """How a person may act for a legal person."""

    LEGAL_REPRESENTATIVE = "legal_representative"  # 法定代表人
    AGENT = "agent"  # 经办人


def normalise_resident_id(value: str) -> str:
    """Validate an 18-character resident identity number (GB 11643 check digit)."""
    try:
        return validate_resident_id(value)
    except InvalidIdentifier as exc:
        raise InvalidIdentity(str(exc)) from exc


def normalise_uscc(value: str) -> str:
    """Validate a unified social credit code (GB 32100 check character)."""
    try:
        return validate_uscc(value)
    except InvalidIdentifier as exc:
        raise InvalidIdentity(str(exc)) from exc


def normalise_name(value: str, what: str = "name") -> str:
    """A display name: NFC, trimmed, 1-100 characters, no control characters."""
    name = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(name) <= 100 or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidIdentity(f"{what} must be 1 to 100 printable characters")
    return name


def normalise_phone(value: str) -> str:
    """A mainland mobile number, with or without +86."""
    digits = re.sub(r"[\s-]", "", value)
    digits = digits.removeprefix("+86").removeprefix("0086")
    if not _PHONE_RE.match(digits):
        raise InvalidIdentity("phone must be an 11-digit mainland mobile number")
    return digits


def normalise_username(value: str) -> str:
    """Usernames are lower-case ASCII so that look-alike accounts cannot be registered."""
    name = value.strip().lower()
    if not _USERNAME_RE.match(name):
        raise InvalidIdentity(
            "username must be 3 to 64 characters: a letter, then letters, digits, '.', '_' or '-'"
        )
    return name


def check_password_strength(password: str, *, username: str = "") -> None:
    """A password long enough to resist guessing and not the username."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidIdentity(f"password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if password.isdigit() or (username and username in password.lower()):
        raise InvalidIdentity("password must not be only digits nor contain the username")


def mask_uscc(value: str) -> str:
    """Mask a credit code for display like a resident id."""
    return mask_resident_id(value)


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits of a phone number."""
    return value[:3] + "****" + value[-4:] if len(value) >= 7 else "*" * len(value)


@dataclass
class NaturalPerson:
    """A citizen's account (自然人)."""

    id: str
    username: str
    name: str
    resident_id: str
    subject_hash: str
    phone: str | None = None
    verification_level: Level = Level.L1
    totp_enrolled: bool = False
    version: int = 1

    @property
    def masked_resident_id(self) -> str:
        """The resident id as everyone but an identity administrator sees it."""
        return mask_resident_id(self.resident_id)

    def verify_in_person(self, presented_resident_id: str) -> None:
        """A window clerk checked the identity card: it must be the registered number."""
        if normalise_resident_id(presented_resident_id) != self.resident_id:
            raise VerificationRefused("the identity card presented is not this account's")
        self.verification_level = Level.L3
        self.version += 1


@dataclass(frozen=True)
class Representative:
    """A person who may act for a legal person."""

    person_id: str
    role: RepresentativeRole


@dataclass
class LegalPerson:
    """A company or institution (法人) with its representatives."""

    id: str
    name: str
    uscc: str
    representatives: list[Representative] = field(default_factory=list)
    version: int = 1

    def add_representative(self, rep: Representative) -> None:
        """Add or change a representative; a legal person has at most one legal representative."""
        others = [r for r in self.representatives if r.person_id != rep.person_id]
        if rep.role is RepresentativeRole.LEGAL_REPRESENTATIVE and any(
            r.role is RepresentativeRole.LEGAL_REPRESENTATIVE for r in others
        ):
            raise InvalidIdentity("a legal person has only one legal representative")
        self.representatives = [*others, rep]
        self.version += 1
