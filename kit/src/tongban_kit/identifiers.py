"""Check digits of Chinese identity numbers: GB 11643 (resident) and GB 32100 (credit code)."""

from __future__ import annotations

import re
from datetime import date

_RID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK = "10X98765432"
_RID_RE = re.compile(r"^\d{17}[\dX]$")

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


class InvalidIdentifier(ValueError):
    """An identity number or credit code failed its format or check digit."""


def resident_id_check_digit(first17: str) -> str:
    """Compute the GB 11643 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11]


def validate_resident_id(value: str) -> str:
    """Return the normalised 18-character resident identity number or raise InvalidIdentifier."""
    s = value.strip().upper()
    if not _RID_RE.match(s):
        raise InvalidIdentifier("resident identity number must be 17 digits and a digit or X")
    try:
        date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError as exc:
        raise InvalidIdentifier("resident identity number has an impossible birth date") from exc
    if resident_id_check_digit(s[:17]) != s[17]:
        raise InvalidIdentifier("resident identity number check digit is wrong")
    return s


def uscc_check_char(first17: str) -> str:
    """Compute the GB 32100 check character of the first 17 characters."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Return the normalised unified social credit code or raise InvalidIdentifier."""
    s = value.strip().upper()
    if not _USCC_RE.match(s):
        raise InvalidIdentifier("unified social credit code must be 18 characters of the GB 32100 alphabet")
    if uscc_check_char(s[:17]) != s[17]:
        raise InvalidIdentifier("unified social credit code check character is wrong")
    return s


def mask_resident_id(value: str) -> str:
    """Mask an identity number for display: keep the first 6 and last 4 characters."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
