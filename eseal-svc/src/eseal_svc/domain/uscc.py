"""Unified social credit code (统一社会信用代码) of GB 32100-2015: format and check character."""

from __future__ import annotations

import re

from eseal_svc.domain.errors import InvalidUSCC

# GB 32100 uses 31 characters: digits and capitals without I, O, S, V and Z (easily misread).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Weight of position i is 3**i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_FORMAT = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    if len(first17) != 17 or any(c not in ALPHABET for c in first17):
        raise InvalidUSCC("a credit code body is 17 characters of the GB 32100 alphabet")
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """Return the code upper-cased and stripped, or raise InvalidUSCC."""
    code = value.strip().upper()
    if not _FORMAT.fullmatch(code):
        raise InvalidUSCC("a unified social credit code is 18 characters of the GB 32100 alphabet")
    if check_character(code[:17]) != code[17]:
        raise InvalidUSCC("the unified social credit code's check character is wrong")
    return code


def is_valid_uscc(value: str) -> bool:
    """True when the value is a well-formed code with a correct check character."""
    try:
        validate_uscc(value)
    except InvalidUSCC:
        return False
    return True
