"""Command handlers: load, check, let the aggregate decide, save conditionally, emit in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import filetype
from sqlalchemy.exc import IntegrityError
from tongban_contracts.reference import Audience
from tongban_kit import idempotency
from tongban_kit.crypto import subject_hash
from tongban_kit.identifiers import mask_resident_id
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from case_svc.adapters.catalogue_client import CatalogueUnavailable
from case_svc.adapters.orm import FileRow, MessageRow, RatingRow
from case_svc.adapters.readmodel import ItemStore
from case_svc.adapters.repository import CaseRepository, StaleCase
from case_svc.domain import commands as c
from case_svc.domain.errors import Issue, RuleViolation
from case_svc.domain.items import CatalogueItem, RegionOffer
from case_svc.domain.model import Actor, Applicant, Case, CaseEvent, Delivery, Submission, case_number
from case_svc.domain.state_machine import CaseStatus, Side
from case_svc.domain.working_days import local_date
from case_svc.service_layer.events import build_envelope, case_facts
from case_svc.service_layer.services import CaseServices

# --- errors the API maps to problems -----------------------------------------------------------


class CaseNotFound(Exception):
    """No such case, or the caller may not see it (the same answer, so existence does not leak)."""


class PreconditionRequired(Exception):
    """The command needs If-Match."""


class PreconditionFailed(Exception):
    """If-Match names an older version."""

    def __init__(self, current_etag: str | None) -> None:
        super().__init__("stale")
        self.current_etag = current_etag


class ItemUnavailable(Exception):
    """The item is unknown locally and catalogue-svc could not be asked."""


class UploadRejected(Exception):
    """An upload is too large or of a type not accepted."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Viewer:
    """Who reads: an actor, and whether it reads across regions (ministry monitor or service client)."""

    actor: Actor
    read_all: bool = False


def etag(case_id: str, version: int) -> str:
    """The case's strong ETag (same form as tongban_kit.http.etag_for)."""
    return f'"{case_id}-v{version}"'


def check_if_match(if_match: str | None, case_id: str, version: int) -> None:
    """428 without If-Match, 412 when it does not name the current version."""
    if not if_match:
        raise PreconditionRequired()
    candidates = [part.strip().removeprefix("W/") for part in if_match.split(",")]
    current = etag(case_id, version)
    if "*" not in candidates and current not in candidates:
        raise PreconditionFailed(current)


def can_see(case: Case, viewer: Viewer) -> bool:
    """Parties see their cases; monitors and service clients see all."""
    return viewer.read_all or case.is_party(viewer.actor.region)


def facts_of(case: Case) -> dict[str, Any]:
    """Event facts of a domain case."""
    return case_facts(
        case_id=case.id,
        number=case.number,
        basic_code=case.policy.basic_code,
        item_version=case.policy.version,
        mode=case.mode.value,
        receiving_region=case.receiving_region,
        handling_region=case.handling_region,
        status=case.status.value,
    )


def emit_events(
    uow: UnitOfWork, services: CaseServices, case: Case, events: list[tuple[int, CaseEvent]]
) -> None:
    """Write the case's events to the outbox with their sequences."""
    facts = facts_of(case)
    for sequence, event in events:
        uow.emit(
            services.topic,
            build_envelope(
                event.name,
                facts,
                sequence=sequence,
                occurred_at=event.at,
                actor=event.actor.record() if event.actor else None,
                details=event.details,
            ),
        )


# --- the catalogue read model, with one HTTP read on a miss ------------------------------------


async def load_item(
    basic_code: str, handling_region: str, *, uow: UnitOfWork, services: CaseServices
) -> tuple[CatalogueItem | None, RegionOffer | None]:
    """The current item version and the handling region's offer; one catalogue GET if either is missing."""
    cached = services.items.get(basic_code, handling_region)
    if cached is not None:
        return cached
    async with uow:
        store = ItemStore(uow.session)
        item = await store.current(basic_code)
        offer = await store.offer(basic_code, handling_region)
    if item is not None and offer is not None:
        services.items.put(basic_code, handling_region, item, offer)
        return item, offer
    try:
        item_data = await services.catalogue.item(basic_code) if item is None else None
        offer_data = (
            await services.catalogue.region_offer(basic_code, handling_region) if offer is None else None
        )
    except CatalogueUnavailable as exc:
        if item is None:
            raise ItemUnavailable(str(exc)) from exc
        return item, offer
    async with uow:
        store = ItemStore(uow.session)
        try:
            if item_data is not None:
                item = await store.put_item(item_data)
            if offer_data is not None:
                offer = await store.put_offer(offer_data)
            await uow.commit()
        except (KeyError, ValueError, TypeError) as exc:
            raise ItemUnavailable(f"catalogue sent an unusable item: {exc}") from exc
        except IntegrityError:
            # The consumer stored the same version meanwhile; read what it stored.
            await uow.rollback()
            item = await store.current(basic_code)
            offer = await store.offer(basic_code, handling_region)
    return item, offer


# --- submission ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submission: the new case, or the replayed first response."""

    case: Case | None
    replay: idempotency.IdempotencyRecord | None = None


Renderer = Callable[[Case], tuple[int, dict[str, Any], dict[str, str]]]


async def submit_case(
    cmd: c.SubmitCase,
    *,
    uow: UnitOfWork,
    services: CaseServices,
    ikey: idempotency.IdempotencyKey | None = None,
    render: Renderer | None = None,
) -> Submitted:
    """File a case against the published item version; the submitted event commits with it."""
    if ikey is not None:
        async with uow:
            record = await idempotency.replay(uow.session, ikey)
            await uow.commit()
        if record is not None:
            return Submitted(None, record)
    item, offer = await load_item(cmd.basic_code, cmd.handling_region, uow=uow, services=services)
    if item is None:
        raise RuleViolation(
            "the item is not in the catalogue",
            [Issue("basic_code", f"no published item {cmd.basic_code}", "unknown-item")],
            code="invalid-application",
        )
    now = services.clock()
    if cmd.applicant_kind == Audience.NATURAL_PERSON:
        masked = mask_resident_id(cmd.applicant_id_number)
    else:
        masked = cmd.applicant_id_number  # a credit code is public registry data
    submission = Submission(
        mode=cmd.mode,
        receiving_region=cmd.receiving_region,
        handling_region=cmd.handling_region,
        applicant=Applicant(
            cmd.applicant_kind,
            cmd.applicant_name,
            subject_hash(cmd.applicant_id_number, services.settings.subject_hash_key),
            masked,
        ),
        materials=cmd.materials,
        delivery=Delivery(cmd.delivery_method, has_address=bool(cmd.delivery_address)),
        participants=dict(cmd.participants),
    )
    case_id = new_id()
    # Check first (no number is spent on an invalid application), then number and file it.
    case = Case.submit(
        case_id=case_id,
        number="pending",
        item=item,
        offer=offer,
        submission=submission,
        actor=cmd.actor,
        now=now,
        new_task_id=new_id,
    )
    day = local_date(now)
    case.number = case_number(
        cmd.handling_region, day, await services.numbers.next(cmd.handling_region, f"{day:%Y%m%d}")
    )
    # The submitted event was recorded with the placeholder number; the facts are taken at emit time.
    async with uow:
        repo = CaseRepository(uow.session, services.cipher)
        events = await repo.add(
            case,
            id_number=cmd.applicant_id_number,
            name=cmd.applicant_name,
            address=cmd.delivery_address,
            form=dict(cmd.form),
            submitted_by=cmd.actor.record(),
        )
        emit_events(uow, services, case, events)
        if ikey is not None and render is not None:
            status, body, headers = render(case)
            idempotency.remember(uow.session, ikey, status, body, headers)
        try:
            await uow.commit()
        except IntegrityError:
            if ikey is None:
                raise
            await uow.rollback()
        else:
            return Submitted(case)
    # A concurrent request with the same key won: replay its response.
    async with uow:
        record = await idempotency.replay(uow.session, ikey)
    if record is None:
        raise RuntimeError("idempotency conflict without a stored response")
    return Submitted(None, record)


# --- commands on a case --------------------------------------------------------------------------


Apply = Callable[[Case, Any, CaseServices, UnitOfWork], Awaitable[None]]


async def _transfer(case: Case, cmd: c.TransferCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.transfer_to_handler(
        cmd.actor, s.clock(), method=cmd.method, tracking_number=cmd.tracking_number, note=cmd.note
    )


async def _accept(case: Case, cmd: c.AcceptCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.accept(cmd.actor, s.clock(), s.calendar)


async def _reject(case: Case, cmd: c.RejectCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.reject(cmd.actor, s.clock(), reason=cmd.reason)


async def _request_correction(case: Case, cmd: c.RequestCorrection, s: CaseServices, uow: UnitOfWork) -> None:
    now = s.clock()
    due = cmd.due_date or s.calendar.add(local_date(now), s.settings.correction_default_days).date
    case.request_correction(cmd.actor, now, items=cmd.items, due_on=due, note=cmd.note)


async def _resubmit(case: Case, cmd: c.ResubmitCase, s: CaseServices, uow: UnitOfWork) -> None:
    item = await ItemStore(uow.session).version(case.policy.basic_code, case.policy.version)
    case.resubmit(cmd.actor, s.clock(), s.calendar, item=item, materials=cmd.materials, note=cmd.note)


async def _suspend(case: Case, cmd: c.SuspendCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.suspend(cmd.actor, s.clock(), reason=cmd.reason)


async def _resume(case: Case, cmd: c.ResumeCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.resume(cmd.actor, s.clock(), s.calendar, reason=cmd.reason)


async def _extend(case: Case, cmd: c.ExtendCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.extend(cmd.actor, s.clock(), s.calendar, days=cmd.days, reason=cmd.reason)


async def _complete_task(case: Case, cmd: c.CompleteTask, s: CaseServices, uow: UnitOfWork) -> None:
    case.complete_task(cmd.actor, s.clock(), task_id=cmd.task_id, outcome=cmd.outcome, note=cmd.note)


async def _conclude(case: Case, cmd: c.ConcludeCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.conclude(
        cmd.actor, s.clock(), s.calendar, decision=cmd.decision, result=cmd.result, reason=cmd.reason
    )


async def _deliver(case: Case, cmd: c.DeliverCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.deliver(cmd.actor, s.clock(), method=cmd.method or case.delivery.method, proof=cmd.proof)


async def _withdraw(case: Case, cmd: c.WithdrawCase, s: CaseServices, uow: UnitOfWork) -> None:
    case.withdraw(cmd.actor, s.clock(), reason=cmd.reason)


async def _rate(case: Case, cmd: c.RateCase, s: CaseServices, uow: UnitOfWork) -> None:
    now = s.clock()
    case.rate(cmd.actor, now, level=cmd.level, comment=cmd.comment)
    uow.session.add(
        RatingRow(
            case_id=case.id, level=cmd.level, comment=cmd.comment, rated_by=cmd.actor.record(), rated_at=now
        )
    )


APPLY: dict[type[c.CaseCommand], Apply] = {
    c.TransferCase: _transfer,
    c.AcceptCase: _accept,
    c.RejectCase: _reject,
    c.RequestCorrection: _request_correction,
    c.ResubmitCase: _resubmit,
    c.SuspendCase: _suspend,
    c.ResumeCase: _resume,
    c.ExtendCase: _extend,
    c.CompleteTask: _complete_task,
    c.ConcludeCase: _conclude,
    c.DeliverCase: _deliver,
    c.WithdrawCase: _withdraw,
    c.RateCase: _rate,
}


async def execute(
    cmd: c.CaseCommand, *, uow: UnitOfWork, services: CaseServices, require_if_match: bool = True
) -> Case:
    """Run one command: If-Match, state machine, conditional UPDATE, events, one commit."""
    async with uow:
        repo = CaseRepository(uow.session, services.cipher)
        case = await repo.get(cmd.case_id)
        if case is None or not can_see(case, Viewer(cmd.actor, read_all=False)):
            raise CaseNotFound(cmd.case_id)
        if require_if_match or cmd.if_match:
            check_if_match(cmd.if_match, case.id, case.version)
        expected = case.version
        await APPLY[type(cmd)](case, cmd, services, uow)
        try:
            events = await repo.save(case, expected, services.clock())
        except StaleCase as exc:
            raise PreconditionFailed(None) from exc
        emit_events(uow, services, case, events)
        try:
            await uow.commit()
        except IntegrityError as exc:
            # e.g. a second rating racing the first: the unique row refuses it.
            raise PreconditionFailed(None) from exc
        return case


# --- liaison, materials --------------------------------------------------------------------------


async def _party_case(uow: UnitOfWork, services: CaseServices, case_id: str, viewer: Viewer) -> Case:
    case = await CaseRepository(uow.session, services.cipher).get(case_id)
    if case is None or not can_see(case, viewer):
        raise CaseNotFound(case_id)
    return case


async def post_message(
    case_id: str, actor: Actor, body: str, *, uow: UnitOfWork, services: CaseServices
) -> tuple[MessageRow, str]:
    """A liaison message from one window of the case to the other(s)."""
    async with uow:
        case = await _party_case(uow, services, case_id, Viewer(actor))
        sides = case.sides_of(actor.region)
        side = next(s for s in (Side.RECEIVING, Side.HANDLING, Side.PARTICIPANT) if s in sides)
        row = MessageRow(
            id=new_id(),
            case_id=case.id,
            region=actor.region,
            side=side.value,
            client_id=actor.client_id,
            body_enc=services.cipher.encrypt(body, case.id.encode()),
            created_at=services.clock(),
        )
        uow.session.add(row)
        await uow.commit()
        return row, body


def sniff(data: bytes) -> str | None:
    """The MIME type by content (magic numbers), never by the name or the declared type."""
    kind = filetype.guess(data[:8192])
    return kind.mime if kind is not None else None


async def upload_material(
    case_id: str,
    actor: Actor,
    *,
    material_code: str,
    file_name: str | None,
    data: bytes,
    uow: UnitOfWork,
    services: CaseServices,
) -> FileRow:
    """Store a scanned material content-addressed and link it to the case (receiving side, open case)."""
    if len(data) > services.settings.max_upload_bytes:
        raise UploadRejected(
            413, "upload-too-large", f"uploads are limited to {services.settings.max_upload_bytes} bytes"
        )
    if not data:
        raise UploadRejected(422, "empty-upload", "the file is empty")
    mime = sniff(data)
    if mime is None or mime not in services.settings.allowed_upload_types:
        allowed = ", ".join(sorted(services.settings.allowed_upload_types))
        raise UploadRejected(
            415, "unsupported-type", f"the content is {mime or 'unrecognised'}; accepted: {allowed}"
        )
    async with uow:
        case = await _party_case(uow, services, case_id, Viewer(actor))
        if Side.RECEIVING not in case.sides_of(actor.region):
            raise RuleViolation("only the receiving side uploads materials", code="wrong-side")
        if case.status not in (
            CaseStatus.SUBMITTED,
            CaseStatus.TRANSFERRED,
            CaseStatus.ACCEPTED,
            CaseStatus.CORRECTION_REQUESTED,
            CaseStatus.SUSPENDED,
        ):
            raise RuleViolation(
                f"materials cannot be added to a {case.status.value} case", code="case-closed"
            )
        if material_code not in case.policy.material_codes:
            raise RuleViolation(
                "unknown material",
                [Issue("material_code", f"the item has no material {material_code}", "unknown-material")],
            )
    digest = hashlib.sha256(data).hexdigest()
    stored = await services.blobs.put(data)
    assert stored == digest
    async with uow:
        row = FileRow(
            id=new_id(),
            case_id=case_id,
            material_code=material_code,
            sha256=digest,
            size=len(data),
            content_type=mime,
            file_name=file_name,
            uploaded_by=actor.record(),
            created_at=services.clock(),
        )
        uow.session.add(row)
        await uow.commit()
        return row
