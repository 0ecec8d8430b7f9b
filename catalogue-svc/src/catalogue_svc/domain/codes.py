"""Our rules for basic codes (基本编码) and implementation codes (实施编码).

The national coding standard GB/T 39554.1-2020 exists, but its digit layout could not be confirmed,
so the catalogue uses its own rule, documented here and checked everywhere a code enters:

* **Basic code** — 10 characters: a two-letter item-type prefix, a 5-digit main-item number
  (00001–99999) and a 3-digit sub-item number (000 = the main item itself, 001–999 = its
  business-handling sub-items such as the five kinds of 户口迁移). Example: ``XK00003002``.
  The layout follows the provincial precedent DB52/T 1264-2018 (2 + 5 + 3) and fits the
  12-character ``catalog_code`` column seen in public sync schemas. The prefix must match the item's
  type (see ``reference.ITEM_TYPE_CODE_PREFIXES``), so an item cannot change type without a new code.
* **Implementation code** — 31 characters: the 18-character unified social credit code of the
  handling organisation, then the item's basic code, then a 3-digit sequence (``001`` for the
  first implementation by that organisation). 31 is the length of a real implementation code seen
  in public data (USCC + 13 characters); the meaning we give the 13 characters is ours.

These rules are ours, not the standard's; when the standard's layout is confirmed, only this module
and the seed data change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tongban_kit.identifiers import InvalidIdentifier, validate_uscc

from catalogue_svc.domain.errors import InvalidBasicCode
from catalogue_svc.domain.reference import PROVINCES, ItemType, item_type_for_prefix

BASIC_CODE_LENGTH = 10
IMPLEMENTATION_CODE_LENGTH = 31

_BASIC_CODE_RE = re.compile(r"^(?P<prefix>[A-Z]{2})(?P<main>\d{5})(?P<sub>\d{3})$")
_IMPLEMENTATION_CODE_RE = re.compile(r"^(?P<uscc>[0-9A-Z]{18})(?P<basic>[A-Z]{2}\d{8})(?P<seq>\d{3})$")


@dataclass(frozen=True, slots=True)
class BasicCode:
    """A parsed basic code: item type, main-item number and sub-item number."""

    value: str
    item_type: ItemType
    main: int
    sub: int

    @property
    def is_sub_item(self) -> bool:
        """Tell whether this code names a business-handling sub-item."""
        return self.sub != 0

    @property
    def main_item_code(self) -> str:
        """The basic code of the main item this code belongs to."""
        return f"{self.value[:7]}000"


def parse_basic_code(value: str) -> BasicCode:
    """Parse a basic code by our rule or raise InvalidBasicCode with the reason."""
    m = _BASIC_CODE_RE.match(value)
    if m is None:
        raise InvalidBasicCode(
            f"basic code {value!r} must be 2 capital letters (item type), 5 digits (main item) and "
            "3 digits (sub-item, 000 for none), e.g. XK00003000"
        )
    item_type = item_type_for_prefix(m["prefix"])
    if item_type is None:
        raise InvalidBasicCode(f"basic code {value!r} has an unknown item-type prefix {m['prefix']!r}")
    main = int(m["main"])
    if main == 0:
        raise InvalidBasicCode(f"basic code {value!r} has main-item number 00000, which is not assigned")
    return BasicCode(value=value, item_type=item_type, main=main, sub=int(m["sub"]))


def is_basic_code(value: str) -> bool:
    """Tell whether a string is a well-formed basic code."""
    try:
        parse_basic_code(value)
    except InvalidBasicCode:
        return False
    return True


def check_uscc(value: str) -> str:
    """Return the credit code if its GB 32100 check character is right, else raise ValueError."""
    try:
        return validate_uscc(value)
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from exc


def check_implementation_code(code: str, *, basic_code: str, uscc: str) -> str:
    """Check an implementation code against its item and organisation; raise ValueError naming the fault."""
    m = _IMPLEMENTATION_CODE_RE.match(code)
    if m is None:
        raise ValueError(
            "implementation code must be 31 characters: the organisation's 18-character credit code, "
            "the 10-character basic code and a 3-digit sequence"
        )
    if m["uscc"] != uscc:
        raise ValueError("implementation code must start with the handling organisation's credit code")
    if m["basic"] != basic_code:
        raise ValueError(f"implementation code must contain the basic code {basic_code}")
    if m["seq"] == "000":
        raise ValueError("implementation code sequence starts at 001")
    return code


def check_province(code: str) -> str:
    """Return a six-digit GB/T 2260 province-level code, or raise ValueError."""
    if code not in PROVINCES:
        raise ValueError(f"region {code!r} is not one of the 31 province-level GB/T 2260 codes")
    return code
