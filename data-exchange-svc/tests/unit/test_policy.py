"""Policy checks with plain objects: grant, case, consent, in that order."""

from datetime import UTC, datetime, timedelta

import pytest
from data_exchange_svc.domain import policy
from data_exchange_svc.domain.errors import Refusal
from data_exchange_svc.domain.model import Caller, CaseView, Consent, Grant, Mode, Query, Status

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
ITEM = "XK00003001"


def grant(**kw: object) -> Grant:
    base: dict[str, object] = {
        "id": "g1",
        "client_id": "platform-440000",
        "resource_id": "r-hh",
        "items": frozenset({ITEM}),
        "allowed_fields": frozenset({"name", "birth_date", "household_address"}),
        "masked_fields": frozenset({"household_address"}),
        "modes": frozenset({Mode.SHARE, Mode.VERIFY}),
        "rate_limit_per_minute": 60,
        "expires_at": NOW + timedelta(days=30),
    }
    base.update(kw)
    return Grant(**base)  # type: ignore[arg-type]


def query(**kw: object) -> Query:
    base: dict[str, object] = {
        "caller": Caller(client_id="platform-440000", region="440000"),
        "resource_id": "r-hh",
        "subject_hash": "h1",
        "case_id": "c1",
        "item_code": ITEM,
        "mode": Mode.SHARE,
        "fields": frozenset({"name"}),
    }
    base.update(kw)
    return Query(**base)  # type: ignore[arg-type]


def case(**kw: object) -> CaseView:
    base: dict[str, object] = {
        "id": "c1",
        "status": "accepted",
        "item_code": ITEM,
        "receiving_region": "440000",
        "handling_region": "110000",
    }
    base.update(kw)
    return CaseView(**base)  # type: ignore[arg-type]


def refused(fn: object, *args: object) -> str:
    with pytest.raises(Refusal) as info:
        fn(*args)  # type: ignore[operator]
    return info.value.code


def test_select_grant_finds_the_matching_grant() -> None:
    assert policy.select_grant([grant()], query(), NOW).id == "g1"


def test_deny_by_default_without_any_grant() -> None:
    assert refused(policy.select_grant, [], query(), NOW) == policy.NO_GRANT


def test_another_clients_grant_does_not_count() -> None:
    q = query(caller=Caller(client_id="platform-110000", region="110000"))
    assert refused(policy.select_grant, [grant()], q, NOW) == policy.NO_GRANT


def test_expired_or_revoked_grant_is_no_grant() -> None:
    assert refused(policy.select_grant, [grant(expires_at=NOW)], query(), NOW) == policy.NO_GRANT
    assert refused(policy.select_grant, [grant(status=Status.REVOKED)], query(), NOW) == policy.NO_GRANT


def test_grant_for_item_x_does_not_cover_item_y() -> None:
    assert refused(policy.select_grant, [grant()], query(item_code="XK00003002"), NOW) == (
        policy.ITEM_NOT_GRANTED
    )


def test_mode_must_be_granted() -> None:
    g = grant(modes=frozenset({Mode.VERIFY}))
    assert refused(policy.select_grant, [g], query(), NOW) == policy.MODE_NOT_GRANTED


def test_field_outside_grant_is_refused_and_named() -> None:
    with pytest.raises(Refusal) as info:
        policy.select_grant([grant()], query(fields=frozenset({"name", "marital_status"})), NOW)
    assert info.value.code == policy.FIELD_NOT_GRANTED
    assert info.value.extra["fields"] == ["marital_status"]


def test_a_second_grant_with_more_fields_is_picked() -> None:
    wide = grant(id="g2", allowed_fields=frozenset({"name", "marital_status"}))
    chosen = policy.select_grant([grant(), wide], query(fields=frozenset({"marital_status"})), NOW)
    assert chosen.id == "g2"


def test_case_checks() -> None:
    q = query()
    policy.check_case(case(), q)
    assert refused(policy.check_case, None, q) == policy.CASE_NOT_FOUND
    assert refused(policy.check_case, case(status="concluded"), q) == policy.CASE_NOT_ACTIVE
    assert refused(policy.check_case, case(status="Withdrawn"), q) == policy.CASE_NOT_ACTIVE
    assert refused(policy.check_case, case(item_code="XK00009000"), q) == policy.CASE_WRONG_ITEM
    other = case(receiving_region="310000", handling_region="320000")
    assert refused(policy.check_case, other, q) == policy.CASE_WRONG_REGION


def test_joint_participant_region_may_query() -> None:
    joint = case(
        receiving_region="310000", handling_region="320000", participant_regions=frozenset({"440000"})
    )
    policy.check_case(joint, query())


def test_service_client_reads_across_regions_but_not_closed_cases() -> None:
    svc = query(caller=Caller(client_id="svc-case", region=None, is_service=True))
    policy.check_case(case(receiving_region="310000", handling_region="320000"), svc)
    assert refused(policy.check_case, case(status="closed"), svc) == policy.CASE_NOT_ACTIVE


def test_caller_without_region_is_refused() -> None:
    q = query(caller=Caller(client_id="ministry-demo", region=None))
    assert refused(policy.check_case, case(), q) == policy.CASE_WRONG_REGION


def consent(**kw: object) -> Consent:
    base: dict[str, object] = {
        "id": "k1",
        "subject_hash": "h1",
        "case_id": "c1",
        "resource_ids": frozenset({"r-hh"}),
        "until": NOW + timedelta(days=7),
    }
    base.update(kw)
    return Consent(**base)  # type: ignore[arg-type]


def test_consent_checks() -> None:
    g, q = grant(), query()
    assert policy.check_consent([consent()], g, q, NOW) is not None
    assert refused(policy.check_consent, [], g, q, NOW) == policy.NO_CONSENT
    for bad in (
        consent(status=Status.REVOKED),
        consent(until=NOW),
        consent(case_id="c2"),
        consent(subject_hash="h2"),
        consent(resource_ids=frozenset({"r-tax"})),
    ):
        assert refused(policy.check_consent, [bad], g, q, NOW) == policy.NO_CONSENT


def test_statutory_basis_makes_consent_unnecessary() -> None:
    g = grant(statutory_basis="《中华人民共和国社会保险法》第七十五条")
    assert policy.check_consent([], g, query(), NOW) is None
