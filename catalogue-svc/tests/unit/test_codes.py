"""Our basic-code and implementation-code rules, and the province list."""

from __future__ import annotations

import pytest
from catalogue_svc.domain.codes import (
    check_implementation_code,
    check_province,
    check_uscc,
    is_basic_code,
    parse_basic_code,
)
from catalogue_svc.domain.errors import InvalidBasicCode
from catalogue_svc.domain.reference import ITEM_TYPE_CODE_PREFIXES, PROVINCES, ItemType

USCC = "11110000TB0101005X"


def test_basic_code_is_parsed_into_type_main_and_sub_item() -> None:
    code = parse_basic_code("XK00003002")
    assert code.item_type is ItemType.LICENSING
    assert (code.main, code.sub) == (3, 2)
    assert code.is_sub_item
    assert code.main_item_code == "XK00003000"
    assert not parse_basic_code("GG00001000").is_sub_item


@pytest.mark.parametrize(
    "bad",
    ["", "XK0000300", "XK000030000", "xk00003000", "ZZ00003000", "XK00000000", "XKA0003000", " XK00003000"],
)
def test_malformed_basic_codes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidBasicCode):
        parse_basic_code(bad)
    assert not is_basic_code(bad)


def test_every_item_type_has_a_distinct_prefix() -> None:
    assert set(ITEM_TYPE_CODE_PREFIXES) == set(ItemType)
    assert len(set(ITEM_TYPE_CODE_PREFIXES.values())) == len(ItemType)
    for item_type, prefix in ITEM_TYPE_CODE_PREFIXES.items():
        assert parse_basic_code(f"{prefix}00001000").item_type is item_type


def test_implementation_code_is_credit_code_basic_code_and_sequence() -> None:
    code = f"{USCC}XK00003000001"
    assert len(code) == 31
    assert check_implementation_code(code, basic_code="XK00003000", uscc=USCC) == code


@pytest.mark.parametrize(
    ("code", "fault"),
    [
        (f"{USCC}XK00003000", "31 characters"),
        ("11110000TB0102008EXK00003000001", "credit code"),
        (f"{USCC}XK00003001001", "basic code"),
        (f"{USCC}XK00003000000", "sequence"),
    ],
)
def test_wrong_implementation_codes_name_their_fault(code: str, fault: str) -> None:
    with pytest.raises(ValueError, match=fault):
        check_implementation_code(code, basic_code="XK00003000", uscc=USCC)


def test_credit_code_check_character_is_verified() -> None:
    assert check_uscc(USCC) == USCC
    with pytest.raises(ValueError, match="check character"):
        check_uscc(USCC[:-1] + "Y")


def test_there_are_31_provinces_and_only_they_are_regions() -> None:
    assert len(PROVINCES) == 31
    assert PROVINCES["440000"] == "广东省"
    assert check_province("510000") == "510000"
    for bad in ("440100", "710000", "000000", "44000"):
        with pytest.raises(ValueError, match="province"):
            check_province(bad)
