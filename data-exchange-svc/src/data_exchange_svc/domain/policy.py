"""The hub's checks, in the order the issue fixes: grant, case, consent (rate limit is separate)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from data_exchange_svc.domain.errors import Refusal
from data_exchange_svc.domain.model import CaseView, Consent, Grant, Query

# Refusal codes: stable strings in problems, audit rows and events.
NO_GRANT = "no-grant"
ITEM_NOT_GRANTED = "item-not-granted"
MODE_NOT_GRANTED = "mode-not-granted"
FIELD_NOT_GRANTED = "field-not-granted"
CASE_NOT_FOUND = "case-not-found"
CASE_NOT_ACTIVE = "case-not-active"
CASE_WRONG_ITEM = "case-wrong-item"
CASE_WRONG_REGION = "case-wrong-region"
NO_CONSENT = "no-consent"
RESOURCE_UNAVAILABLE = "resource-unavailable"

DEFAULT_INACTIVE_STATUSES = frozenset(
    {"concluded", "delivered", "withdrawn", "rejected", "closed", "cancelled", "archived", "draft"}
)


def select_grant(grants: Iterable[Grant], query: Query, now: datetime) -> Grant:
    """The live grant that lets this client use this resource for this item, mode and fields."""
    live = [g for g in grants if g.client_id == query.caller.client_id and g.resource_id == query.resource_id]
    live = [g for g in live if g.is_live(now)]
    if not live:
        raise Refusal(
            f"Client {query.caller.client_id} holds no live grant for resource {query.resource_id}.",
            code=NO_GRANT,
        )
    for_item = [g for g in live if query.item_code in g.items]
    if not for_item:
        raise Refusal(
            f"No grant lets client {query.caller.client_id} use this resource for item {query.item_code}; "
            "a grant is bound to the catalogue items it names.",
            code=ITEM_NOT_GRANTED,
        )
    for_mode = [g for g in for_item if query.mode in g.modes]
    if not for_mode:
        raise Refusal(
            f"The grant for item {query.item_code} does not allow the {query.mode.value} mode.",
            code=MODE_NOT_GRANTED,
        )
    best_missing: frozenset[str] | None = None
    for grant in for_mode:
        missing = query.fields - grant.allowed_fields
        if not missing:
            return grant
        if best_missing is None or len(missing) < len(best_missing):
            best_missing = missing
    assert best_missing is not None
    raise Refusal(
        f"Fields outside the grant: {', '.join(sorted(best_missing))} (minimum necessary).",
        code=FIELD_NOT_GRANTED,
        fields=sorted(best_missing),
    )


def check_case(
    case: CaseView | None,
    query: Query,
    inactive_statuses: Collection[str] = DEFAULT_INACTIVE_STATUSES,
) -> None:
    """The case exists, is still being handled, is for this item and involves the caller's region."""
    if case is None:
        raise Refusal(f"Case {query.case_id} was not found.", code=CASE_NOT_FOUND)
    if case.status.lower() in inactive_statuses:
        raise Refusal(
            f"Case {query.case_id} is {case.status}; data may be used only while a case is handled.",
            code=CASE_NOT_ACTIVE,
        )
    if case.item_code != query.item_code:
        raise Refusal(
            f"Case {query.case_id} is for item {case.item_code}, not {query.item_code}.",
            code=CASE_WRONG_ITEM,
        )
    if query.caller.is_service:
        return
    if query.caller.region is None or query.caller.region not in case.regions():
        raise Refusal(
            f"Case {query.case_id} does not involve the caller's region {query.caller.region or '(none)'}.",
            code=CASE_WRONG_REGION,
        )


def check_consent(consents: Iterable[Consent], grant: Grant, query: Query, now: datetime) -> Consent | None:
    """A live consent of the subject for this case and resource, unless the grant has a statutory basis."""
    if not grant.needs_consent:
        return None
    for consent in consents:
        if (
            consent.subject_hash == query.subject_hash
            and consent.case_id == query.case_id
            and consent.covers(query.resource_id)
            and consent.is_live(now)
        ):
            return consent
    raise Refusal(
        f"The subject has given no live consent for case {query.case_id} to use this resource.",
        code=NO_CONSENT,
    )
