"""Seal aggregate, credit codes and the validation-report verdict rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from eseal_svc.domain.errors import (
    InvalidRegion,
    InvalidSealName,
    InvalidUSCC,
    InvalidValidityWindow,
    SealAlreadyRevoked,
    SealExpired,
    SealNotOwned,
    SealNotYetValid,
    SealRevoked,
)
from eseal_svc.domain.events import SealIssued, SealRevokedEvent
from eseal_svc.domain.model import (
    Seal,
    SealAlgorithm,
    SealMaterial,
    SealSpec,
    SealStatus,
    SealType,
    validate_region,
)
from eseal_svc.domain.uscc import ALPHABET, check_character, is_valid_uscc, validate_uscc
from eseal_svc.domain.validation import (
    CheckName,
    CheckResult,
    Indication,
    SubIndication,
    ValidationReport,
)
from tongban_kit.identifiers import validate_uscc as kit_validate_uscc

NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)

# GB 32100-2015's own example and codes of well-known companies (public registers).
VALID_CODES = ["91350100M000100Y43", "9144030071526726XG", "91330100716105852F"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_known_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code
    assert validate_uscc(f"  {code.lower()} ") == code


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # too short
        "91350100M000100Y433",  # too long
        "9135010OM000100Y43",  # letter O in the region digits
        "91350100M0001I0Y43",  # I is not in the alphabet
        "91350100M000100Z43",  # Z is not in the alphabet
        "",
    ],
)
def test_bad_codes_are_rejected(code: str) -> None:
    assert not is_valid_uscc(code)
    with pytest.raises(InvalidUSCC):
        validate_uscc(code)


def test_check_character_agrees_with_the_kit_on_random_bodies() -> None:
    rng = random.Random(32100)
    for _ in range(300):
        body = "".join(rng.choice(ALPHABET[:10]) for _ in range(2))
        body += "".join(rng.choice("0123456789") for _ in range(6))
        body += "".join(rng.choice(ALPHABET) for _ in range(9))
        code = body + check_character(body)
        assert kit_validate_uscc(code) == code
        wrong = body + ALPHABET[(ALPHABET.index(code[-1]) + 1) % 31]
        assert not is_valid_uscc(wrong)


def test_check_character_rejects_a_malformed_body() -> None:
    with pytest.raises(InvalidUSCC):
        check_character("123")


def test_regions() -> None:
    assert validate_region("440000") == "440000"
    assert validate_region("350100") == "350100"
    for bad in ("990000", "44000", "4400001", "44000a", ""):
        with pytest.raises(InvalidRegion):
            validate_region(bad)


def _spec(**overrides: object) -> SealSpec:
    fields: dict[str, object] = {
        "org_name": " 广州市某局 ",
        "uscc": "91350100m000100y43",
        "region": "440100",
        "seal_type": SealType.CONTRACT,
        "algorithm": SealAlgorithm.SM2_SM3,
        "valid_from": NOW,
        "valid_to": NOW + timedelta(days=365),
        "now": NOW,
    }
    fields.update(overrides)
    return SealSpec.create(**fields)  # type: ignore[arg-type]


def test_spec_normalises_and_names_the_seal() -> None:
    spec = _spec(valid_from=datetime(2026, 12, 1, 8, 0, 0, 999, tzinfo=timezone(timedelta(hours=8))))
    assert spec.org_name == "广州市某局"
    assert spec.uscc == "91350100M000100Y43"
    assert spec.name == "广州市某局合同专用章"
    assert spec.validity.valid_from == datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)
    assert _spec(seal_type=SealType.OFFICIAL).name == "广州市某局"
    assert _spec(name="自定义章名").name == "自定义章名"
    assert SealType.CONTRACT.ses_code == 2
    assert SealAlgorithm.SM2_SM3.digest_name == "SM3"
    assert SealAlgorithm.ED25519.digest_name == "SHA256"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"uscc": "91350100M000100Y44"}, InvalidUSCC),
        ({"region": "000000"}, InvalidRegion),
        ({"org_name": "  "}, InvalidSealName),
        ({"org_name": "x" * 201}, InvalidSealName),
        ({"org_name": "a\nb"}, InvalidSealName),
        ({"valid_to": NOW}, InvalidValidityWindow),
        ({"valid_to": NOW - timedelta(days=1)}, InvalidValidityWindow),
        ({"valid_to": NOW + timedelta(days=3654)}, InvalidValidityWindow),
        ({"valid_from": datetime(2026, 1, 1)}, InvalidValidityWindow),
        (
            {"valid_from": NOW - timedelta(days=30), "valid_to": NOW - timedelta(days=1)},
            InvalidValidityWindow,
        ),
    ],
)
def test_spec_rules(overrides: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        _spec(**overrides)
    assert caught.value.code  # type: ignore[attr-defined]


def _seal() -> Seal:
    material = SealMaterial(b"seal", b"png", b"cert", wrapped_private_key=b"wrapped-secret")
    return Seal.issue(
        seal_id="0193-seal", es_id="440100-0001", spec=_spec(), material=material, created_at=NOW
    )


def test_issue_records_an_event_and_hides_the_wrapped_key() -> None:
    seal = _seal()
    assert seal.status is SealStatus.ACTIVE and seal.version == 1
    (event,) = seal.events
    assert isinstance(event, SealIssued)
    assert (event.seal_id, event.uscc, event.region, event.algorithm) == (
        "0193-seal",
        "91350100M000100Y43",
        "440100",
        "SM2_SM3",
    )
    assert "wrapped-secret" not in repr(seal)


def test_signing_rules() -> None:
    seal = _seal()
    seal.ensure_can_sign(NOW + timedelta(days=1))
    with pytest.raises(SealNotYetValid):
        seal.ensure_can_sign(NOW - timedelta(seconds=1))
    with pytest.raises(SealExpired):
        seal.ensure_can_sign(NOW + timedelta(days=365))
    seal.ensure_owned_by("91350100m000100y43")
    with pytest.raises(SealNotOwned):
        seal.ensure_owned_by("9144030071526726XG")


def test_revocation() -> None:
    seal = _seal()
    seal.revoke(at=NOW + timedelta(days=2), reason="  key compromise ")
    assert seal.status is SealStatus.REVOKED and seal.is_revoked
    assert seal.version == 2
    assert seal.revoked_at == NOW + timedelta(days=2)
    assert seal.revocation_reason == "key compromise"
    assert seal.revoked_before(NOW + timedelta(days=2))
    assert not seal.revoked_before(NOW + timedelta(days=1))
    event = seal.events[-1]
    assert isinstance(event, SealRevokedEvent) and event.revoked_at == NOW + timedelta(days=2)
    with pytest.raises(SealRevoked):
        seal.ensure_can_sign(NOW + timedelta(days=1))
    with pytest.raises(SealAlreadyRevoked):
        seal.revoke(at=NOW + timedelta(days=3), reason="again")
    assert seal.version == 2


def test_revocation_reason_is_bounded() -> None:
    with pytest.raises(InvalidSealName):
        _seal().revoke(at=NOW, reason="x" * 501)


def test_report_passes_only_when_every_check_passes() -> None:
    checks = [CheckResult.ok(CheckName.FORMAT, "ok"), CheckResult.ok(CheckName.DATA_HASH, "ok")]
    report = ValidationReport.from_checks(checks)
    assert report.passed and report.indication is Indication.TOTAL_PASSED and report.sub_indication is None


def test_definite_failure_outranks_indeterminate_and_order_breaks_ties() -> None:
    checks = [
        CheckResult.ok(CheckName.FORMAT, "ok"),
        CheckResult.failed(CheckName.SEAL_MAKER_CHAIN, SubIndication.NO_CERTIFICATE_CHAIN_FOUND, "?"),
        CheckResult.failed(CheckName.DATA_HASH, SubIndication.HASH_FAILURE, "x"),
        CheckResult.failed(CheckName.SIGNATURE_VALUE, SubIndication.SIG_CRYPTO_FAILURE, "x"),
    ]
    report = ValidationReport.from_checks(checks)
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE)
    only_chain = ValidationReport.from_checks(checks[:2])
    assert only_chain.indication is Indication.INDETERMINATE
    assert only_chain.check(CheckName.SEAL_MAKER_CHAIN) is checks[1]
    assert only_chain.check(CheckName.REVOCATION) is None


def test_report_rejects_inconsistent_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ValidationReport.from_checks([])
    with pytest.raises(ValueError, match="sub-indication"):
        ValidationReport.from_checks([CheckResult(CheckName.FORMAT, False, "broken")])
