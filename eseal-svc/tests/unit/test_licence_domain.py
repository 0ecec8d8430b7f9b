"""The Licence aggregate's lifecycle, its validity window, and the mutual-recognition rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eseal_svc.domain.errors import (
    InvalidLicence,
    LicenceAlreadyRevoked,
    LicenceAlreadySuspended,
    LicenceNotSuspended,
)
from eseal_svc.domain.events import (
    LicenceIssuedEvent,
    LicenceReinstatedEvent,
    LicenceRevokedEvent,
    LicenceSuspendedEvent,
)
from eseal_svc.domain.licence import (
    Issuer,
    Licence,
    LicenceStatus,
    StatusEntry,
    StatusPurpose,
    TrustedIssuer,
    issuer_trusted,
)
from eseal_svc.domain.validation import Indication, SubIndication

NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
ISSUER = Issuer("11310000MB3100001H", "上海市政务服务平台", "310000")


def _licence(**overrides: object) -> Licence:
    fields: dict[str, object] = {
        "licence_id": "l1",
        "licence_type": "household_registration_proof",
        "issuer": ISSUER,
        "seal_id": "s1",
        "holder_subject_hash": "ab" * 32,
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=30),
        "issued_at": NOW,
        "revocation": StatusEntry(StatusPurpose.REVOCATION, "list-r", 5),
        "suspension": StatusEntry(StatusPurpose.SUSPENSION, "list-s", 9),
    }
    fields.update(overrides)
    return Licence.issue(**fields)  # type: ignore[arg-type]


def test_issue_records_an_event_and_starts_active() -> None:
    licence = _licence(valid_from=NOW.replace(microsecond=123))
    assert licence.status is LicenceStatus.ACTIVE and licence.version == 1
    assert licence.valid_from == NOW  # seconds precision, as on the wire
    assert [type(e) for e in licence.events] == [LicenceIssuedEvent]
    assert licence.in_validity(NOW) and not licence.in_validity(NOW + timedelta(days=30))
    assert not licence.in_validity(NOW - timedelta(seconds=1))


@pytest.mark.parametrize(
    "overrides",
    [
        {"licence_type": "Household"},
        {"valid_until": NOW},
        {"valid_until": NOW - timedelta(days=1), "valid_from": NOW - timedelta(days=2)},
        {"valid_from": datetime(2026, 11, 27)},  # naive
        {"revocation": StatusEntry(StatusPurpose.SUSPENSION, "x", 1)},
    ],
)
def test_bad_licences_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidLicence):
        _licence(**overrides)


def test_suspend_reinstate_revoke() -> None:
    licence = _licence()
    licence.suspend(at=NOW, reason="调查中")
    assert licence.suspended and not licence.revoked and licence.version == 2
    with pytest.raises(LicenceAlreadySuspended):
        licence.suspend(at=NOW, reason=None)
    licence.reinstate(at=NOW, reason=None)
    assert licence.status is LicenceStatus.ACTIVE and licence.status_reason is None
    with pytest.raises(LicenceNotSuspended):
        licence.reinstate(at=NOW, reason=None)
    licence.suspend(at=NOW, reason=None)
    licence.revoke(at=NOW, reason="证照注销")
    assert licence.revoked and licence.version == 5 and licence.status_reason == "证照注销"
    with pytest.raises(LicenceAlreadyRevoked):
        licence.revoke(at=NOW, reason=None)
    with pytest.raises(LicenceAlreadyRevoked):
        licence.suspend(at=NOW, reason=None)
    kinds = [type(e) for e in licence.events]
    assert kinds == [
        LicenceIssuedEvent,
        LicenceSuspendedEvent,
        LicenceReinstatedEvent,
        LicenceSuspendedEvent,
        LicenceRevokedEvent,
    ]


def test_overlong_reasons_are_refused() -> None:
    with pytest.raises(InvalidLicence):
        _licence().revoke(at=NOW, reason="x" * 501)


def test_recognition_needs_the_organisation_the_region_and_the_type() -> None:
    registry = [
        TrustedIssuer("11310000MB3100001H", "310000", frozenset({"household_registration_proof"})),
        TrustedIssuer("11110000MB1100001P", "110000", frozenset({"business_licence"})),
    ]
    assert issuer_trusted(
        registry, uscc=ISSUER.uscc, region="310000", licence_type="household_registration_proof"
    )
    assert not issuer_trusted(registry, uscc=ISSUER.uscc, region="310000", licence_type="business_licence")
    assert not issuer_trusted(
        registry, uscc=ISSUER.uscc, region="110000", licence_type="household_registration_proof"
    )
    assert not issuer_trusted(
        [], uscc=ISSUER.uscc, region="310000", licence_type="household_registration_proof"
    )


def test_licence_sub_indications_are_indeterminate_or_failed() -> None:
    assert SubIndication.ISSUER_NOT_TRUSTED.indication is Indication.INDETERMINATE
    assert SubIndication.SUSPENDED.indication is Indication.INDETERMINATE
    assert SubIndication.TRY_LATER.indication is Indication.INDETERMINATE
    assert SubIndication.REVOKED.indication is Indication.TOTAL_FAILED
