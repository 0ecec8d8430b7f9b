"""Case resources: submit, read, list, history, commands, tasks, materials, liaison, rating."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from tongban_contracts.reference import Audience
from tongban_kit import idempotency
from tongban_kit.app import RuntimeDep
from tongban_kit.auth import Principal, require_region, require_scopes
from tongban_kit.http import decode_cursor, encode_cursor
from tongban_kit.identifiers import InvalidIdentifier, validate_resident_id, validate_uscc
from tongban_kit.problems import Problem

from case_svc.adapters.blobs import BlobNotFound
from case_svc.adapters.repository import PrivateFields
from case_svc.api.deps import ServicesDep, actor_of, viewer_of
from case_svc.api.schemas import (
    AcceptIn,
    ApplicantOut,
    CaseIn,
    CaseOut,
    CasePage,
    ConcludeIn,
    CorrectionIn,
    CorrectionItemOut,
    CorrectionOut,
    DeadlineOut,
    DeliverIn,
    DeliveryOut,
    ExtendIn,
    FileList,
    FileOut,
    HistoryList,
    HistoryOut,
    MaterialIn,
    MaterialOut,
    MessageIn,
    MessageOut,
    MessagePage,
    OptionalReasonIn,
    RatingIn,
    ReasonIn,
    ResubmitIn,
    TaskCompleteIn,
    TaskList,
    TaskOut,
    TransferIn,
)
from case_svc.domain import commands as c
from case_svc.domain.model import Case, CorrectionItem, DeadlineKind, MaterialRef, MaterialSource
from case_svc.domain.working_days import SHANGHAI, local_date
from case_svc.service_layer import handlers, queries
from case_svc.service_layer.handlers import Viewer, etag

router = APIRouter(prefix="/v1", tags=["cases"])

Submitter = Annotated[Principal, Depends(require_scopes("cases:submit"))]
Handler = Annotated[Principal, Depends(require_scopes("cases:handle"))]
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
EitherSide = Annotated[Principal, Depends(require_scopes("cases:submit", "cases:handle", any_of=True))]


async def _if_match(
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="the case's ETag from the last read")
    ] = None,
) -> str | None:
    return if_match


IfMatch = Annotated[str | None, Depends(_if_match)]

CASE_HEADERS = {
    "ETag": {"description": "the case version; send it back as If-Match", "schema": {"type": "string"}}
}
CASE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": CASE_HEADERS},
    403: {"description": "wrong scope, region or side of the case"},
    404: {"description": "no such case visible to the caller"},
    409: {"description": "not possible in the case's state; the problem names the allowed actions"},
    412: {"description": "If-Match is stale"},
    428: {"description": "If-Match is missing"},
}


# --- presenting ----------------------------------------------------------------------------------


def case_out(
    case: Case,
    viewer: Viewer,
    today: date,
    private: PrivateFields | None = None,
    uploaded: frozenset[str] | None = None,
) -> CaseOut:
    """A case for one reader: personal data only for its parties."""
    sides = case.sides_of(viewer.actor.region)
    return CaseOut(
        id=case.id,
        number=case.number,
        basic_code=case.policy.basic_code,
        item_version=case.policy.version,
        item_name=case.policy.name,
        mode=case.mode,
        receiving_region=case.receiving_region,
        handling_region=case.handling_region,
        status=case.status.value,
        applicant=ApplicantOut(
            type=case.applicant.kind,
            subject_hash=case.applicant.subject_hash,
            masked_id=case.applicant.masked_id,
            name=private.name if private else None,
            id_number=private.id_number if private else None,
        ),
        materials=[
            MaterialOut(
                code=m.code,
                source=m.source.value,
                sha256=m.sha256,
                file_name=m.file_name,
                licence_id=m.licence_id,
                exchange_ref=m.exchange_ref,
                uploaded=(m.sha256 in uploaded) if uploaded is not None and m.sha256 else None,
            )
            for m in case.materials
        ],
        delivery=DeliveryOut(method=case.delivery.method, address=private.address if private else None),
        form=private.form if private else None,
        participants=case.participants,
        tasks=[
            TaskOut(
                id=t.id,
                role=t.role,
                region=t.region,
                done=t.done,
                completed_at=t.completed_at,
                outcome=t.outcome,
                note=t.note,
            )
            for t in case.tasks
        ],
        corrections=[
            CorrectionOut(
                round=k.round,
                items=[
                    CorrectionItemOut(material_code=i.material_code, problem=i.problem, note=i.note)
                    for i in k.items
                ],
                due_date=k.due_on,
                requested_at=k.requested_at,
                resolved_at=k.resolved_at,
                clock_stopped=k.after_acceptance,
                note=k.note,
            )
            for k in case.corrections
        ],
        correction_rounds=len(case.corrections),
        deadlines={
            kind.value: DeadlineOut(limit_days=d.limit_days, due_date=d.due_on, provisional=d.provisional)
            for kind, d in sorted(case.deadlines.items())
        },
        clock_running=case.clock_running,
        overdue=case.is_overdue(today, DeadlineKind.PROMISED),
        extension_days=case.extension_days,
        submitted_at=case.submitted_at,
        transferred_at=case.transferred_at,
        transfer=case.transfer,
        accepted_at=case.accepted_at,
        concluded_at=case.concluded_at,
        decision=case.decision,
        result=case.result,
        handling_working_days=case.handling_working_days,
        on_time=case.on_time,
        delivered_at=case.delivered_at,
        delivery_proof=case.delivery_proof,
        closed_at=case.closed_at,
        rating=case.rating,
        version=case.version,
        allowed_actions=case.allowed_actions(sides, viewer.actor) if sides else [],
    )


def summary_out(row: Any, today: date) -> dict[str, Any]:
    """A list entry (the CaseSummary shape) from the summary columns, ready for JSON."""
    return {
        "id": row.id,
        "number": row.number,
        "basic_code": row.basic_code,
        "item_version": row.item_version,
        "mode": row.mode,
        "receiving_region": row.receiving_region,
        "handling_region": row.handling_region,
        "status": row.status,
        "masked_id": row.masked_id,
        "submitted_at": row.submitted_at.isoformat().replace("+00:00", "Z"),
        "promised_due_date": row.promised_due.isoformat() if row.promised_due else None,
        "statutory_due_date": row.statutory_due.isoformat() if row.statutory_due else None,
        "overdue": row.status == "accepted" and row.promised_due is not None and row.promised_due < today,
        "correction_rounds": row.correction_rounds,
        "version": row.version,
    }


def material_ref(m: MaterialIn) -> MaterialRef:
    """An API material as the domain's reference."""
    if m.file is not None:
        return MaterialRef(m.code, MaterialSource.FILE, sha256=m.file.sha256.lower(), file_name=m.file.name)
    if m.licence_id is not None:
        return MaterialRef(m.code, MaterialSource.LICENCE, licence_id=m.licence_id)
    return MaterialRef(m.code, MaterialSource.EXCHANGE, exchange_ref=m.exchange_ref)


def _today(services: ServicesDep) -> date:
    return local_date(services.clock())


def _case_response(
    case: Case, principal: Principal, services: ServicesDep, status: int = 200
) -> JSONResponse:
    body = case_out(case, viewer_of(principal), _today(services)).model_dump(mode="json")
    return JSONResponse(body, status_code=status, headers={"ETag": etag(case.id, case.version)})


# --- submit, read, list --------------------------------------------------------------------------


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOut,
    responses={
        201: {"headers": {**CASE_HEADERS, "Location": {"schema": {"type": "string"}}}},
        409: {"description": "Idempotency-Key reused with another body"},
        422: {"description": "the application does not meet the published item; every problem is listed"},
    },
)
async def submit_case(
    body: CaseIn,
    request: Request,
    principal: Submitter,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Submit a case for an item, to be decided by the handling region (Idempotency-Key honoured)."""
    require_region(principal, body.receiving_region, "receive cases")
    try:
        if body.applicant.type == Audience.NATURAL_PERSON:
            id_number = validate_resident_id(body.applicant.id_number)
        else:
            id_number = validate_uscc(body.applicant.id_number)
    except InvalidIdentifier as exc:
        raise Problem(
            422,
            "validation-failed",
            f"The request is not valid: {exc}",
            errors=[{"field": "body.applicant.id_number", "message": str(exc), "type": "invalid-identifier"}],
        ) from exc
    ikey = idempotency.idempotency_key(request, principal.client_id, body)
    cmd = c.SubmitCase(
        actor=actor_of(principal),
        basic_code=body.basic_code,
        mode=body.mode,
        receiving_region=body.receiving_region,
        handling_region=body.handling_region,
        applicant_kind=body.applicant.type,
        applicant_name=body.applicant.name,
        applicant_id_number=id_number,
        materials=tuple(material_ref(m) for m in body.materials),
        delivery_method=body.delivery.method,
        delivery_address=body.delivery.address,
        form=body.form,
        participants=body.participants,
    )
    viewer = viewer_of(principal)
    today = _today(services)

    def render(case: Case) -> tuple[int, dict[str, Any], dict[str, str]]:
        # No personal data in this body: it is also stored in plain as the idempotent replay.
        out = case_out(case, viewer, today).model_dump(mode="json")
        return 201, out, {"ETag": etag(case.id, case.version), "Location": f"/v1/cases/{case.id}"}

    result = await handlers.submit_case(cmd, uow=runtime.uow(), services=services, ikey=ikey, render=render)
    if result.replay is not None:
        headers = dict(result.replay.headers or {})
        headers["Idempotent-Replayed"] = "true"
        return JSONResponse(result.replay.body, status_code=result.replay.status, headers=headers)
    assert result.case is not None
    status, out, headers = render(result.case)
    return JSONResponse(out, status_code=status, headers=headers)


@router.get("/cases/{case_id}", response_model=CaseOut, responses={200: {"headers": CASE_HEADERS}, 404: {}})
async def get_case(case_id: str, principal: Reader, runtime: RuntimeDep, services: ServicesDep) -> Response:
    """Read a case (its parties see the applicant's personal data); the ETag guards later commands."""
    viewer = viewer_of(principal)
    view = await queries.get_case(case_id, viewer, uow=runtime.uow(), services=services)
    body = case_out(view.case, viewer, _today(services), view.private, view.uploaded).model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": etag(view.case.id, view.case.version)})


@router.get("/cases", response_model=CasePage)
async def list_cases(
    principal: Reader,
    runtime: RuntimeDep,
    services: ServicesDep,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="as receiver, handler or participant")
    ] = None,
    receiving_region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    handling_region: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    status: Annotated[
        str | None,
        Query(
            pattern=r"^(submitted|transferred|accepted|correction_requested|suspended|concluded|delivered|rejected|withdrawn)$"
        ),
    ] = None,
    item: Annotated[str | None, Query(max_length=64, description="basic code")] = None,
    mode: Annotated[str | None, Query(pattern=r"^(online|proxy|joint)$")] = None,
    overdue: bool | None = None,
    applicant_hash: Annotated[
        str | None, Query(pattern=r"^[0-9a-fA-F]{64}$", description="keyed hash of the identity number")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """List cases newest first (keyset pagination); platforms see the cases their region takes part in."""
    position = decode_cursor(cursor)
    before = position.get("id") if position else None
    if before is not None and not isinstance(before, str):
        raise Problem(400, "bad-cursor", "The cursor is not one this service issued.")
    filters = queries.CaseFilters(
        region=region,
        receiving_region=receiving_region,
        handling_region=handling_region,
        status=status,
        basic_code=item,
        mode=mode,
        overdue=overdue,
        applicant_hash=applicant_hash,
    )
    today = _today(services)
    rows, more = await queries.list_cases(
        filters, viewer_of(principal), uow=runtime.uow(), today=today, limit=limit, before_id=before
    )
    # Built as plain JSON (the CasePage shape): validating 200 summaries again would double the cost.
    return JSONResponse(
        {
            "items": [summary_out(r, today) for r in rows],
            "next_cursor": encode_cursor({"id": rows[-1].id}) if more and rows else None,
        }
    )


@router.get("/cases/{case_id}/history", response_model=HistoryList)
async def case_history(case_id: str, principal: Reader, runtime: RuntimeDep) -> HistoryList:
    """Every status change and command of a case: who, when, why."""
    rows = await queries.history(case_id, viewer_of(principal), uow=runtime.uow())
    return HistoryList(
        items=[
            HistoryOut(
                action=r.action,
                from_status=r.from_status,
                to_status=r.to_status,
                actor=r.actor,
                reason=r.reason,
                details=r.details or {},
                at=r.at,
            )
            for r in rows
        ]
    )


# --- commands ------------------------------------------------------------------------------------


async def _run(
    cmd: c.CaseCommand, principal: Principal, runtime: RuntimeDep, services: ServicesDep
) -> Response:
    case = await handlers.execute(cmd, uow=runtime.uow(), services=services)
    return _case_response(case, principal, services)


@router.post("/cases/{case_id}/transfer", response_model=CaseOut, responses=CASE_RESPONSES)
async def transfer(
    case_id: str,
    body: TransferIn,
    principal: Submitter,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Receiving region: forward the materials to the handling region (proxy cases)."""
    cmd = c.TransferCase(
        case_id,
        actor_of(principal),
        if_match,
        method=body.method,
        tracking_number=body.tracking_number,
        note=body.note,
    )
    return await _run(cmd, principal, runtime, services)


@router.post("/cases/{case_id}/accept", response_model=CaseOut, responses=CASE_RESPONSES)
async def accept(
    case_id: str,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
    body: AcceptIn | None = None,
) -> Response:
    """Handling region: accept the case; the statutory and promised due dates are set."""
    return await _run(c.AcceptCase(case_id, actor_of(principal), if_match), principal, runtime, services)


@router.post("/cases/{case_id}/reject", response_model=CaseOut, responses=CASE_RESPONSES)
async def reject(
    case_id: str,
    body: ReasonIn,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Handling region: do not accept the case, with the reason."""
    return await _run(
        c.RejectCase(case_id, actor_of(principal), if_match, reason=body.reason), principal, runtime, services
    )


@router.post("/cases/{case_id}/request-correction", response_model=CaseOut, responses=CASE_RESPONSES)
async def request_correction(
    case_id: str,
    body: CorrectionIn,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Handling region: one notice naming every missing or faulty material, with a due date."""
    cmd = c.RequestCorrection(
        case_id,
        actor_of(principal),
        if_match,
        items=tuple(CorrectionItem(i.material_code, i.problem, i.note) for i in body.items),
        due_date=body.due_date,
        note=body.note,
    )
    return await _run(cmd, principal, runtime, services)


@router.post("/cases/{case_id}/resubmit", response_model=CaseOut, responses=CASE_RESPONSES)
async def resubmit(
    case_id: str,
    body: ResubmitIn,
    principal: Submitter,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Receiving region, for the applicant: the corrected materials."""
    cmd = c.ResubmitCase(
        case_id,
        actor_of(principal),
        if_match,
        materials=tuple(material_ref(m) for m in body.materials),
        note=body.note,
    )
    return await _run(cmd, principal, runtime, services)


@router.post("/cases/{case_id}/suspend", response_model=CaseOut, responses=CASE_RESPONSES)
async def suspend(
    case_id: str,
    body: ReasonIn,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Handling region: stop the legal clock (if the item allows), with the reason."""
    return await _run(
        c.SuspendCase(case_id, actor_of(principal), if_match, reason=body.reason),
        principal,
        runtime,
        services,
    )


@router.post("/cases/{case_id}/resume", response_model=CaseOut, responses=CASE_RESPONSES)
async def resume(
    case_id: str,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
    body: OptionalReasonIn | None = None,
) -> Response:
    """Handling region: restart the legal clock; due dates move by the working days it stood."""
    reason = body.reason if body else None
    return await _run(
        c.ResumeCase(case_id, actor_of(principal), if_match, reason=reason), principal, runtime, services
    )


@router.post("/cases/{case_id}/extend", response_model=CaseOut, responses=CASE_RESPONSES)
async def extend(
    case_id: str,
    body: ExtendIn,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Handling region: extend the time limits by working days, within what the item allows."""
    cmd = c.ExtendCase(case_id, actor_of(principal), if_match, days=body.days, reason=body.reason)
    return await _run(cmd, principal, runtime, services)


@router.post("/cases/{case_id}/conclude", response_model=CaseOut, responses=CASE_RESPONSES)
async def conclude(
    case_id: str,
    body: ConcludeIn,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Handling region: the decision; an approval names its result (e.g. the licence id)."""
    cmd = c.ConcludeCase(
        case_id,
        actor_of(principal),
        if_match,
        decision=body.decision,
        result=body.result.model_dump(exclude_none=True),
        reason=body.reason,
    )
    return await _run(cmd, principal, runtime, services)


@router.post("/cases/{case_id}/deliver", response_model=CaseOut, responses=CASE_RESPONSES)
async def deliver(
    case_id: str,
    body: DeliverIn,
    principal: Submitter,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Receiving region: hand the result over, with proof of delivery."""
    cmd = c.DeliverCase(
        case_id,
        actor_of(principal),
        if_match,
        method=body.method,
        proof=body.proof.model_dump(exclude_none=True),
    )
    return await _run(cmd, principal, runtime, services)


@router.post("/cases/{case_id}/withdraw", response_model=CaseOut, responses=CASE_RESPONSES)
async def withdraw(
    case_id: str,
    body: ReasonIn,
    principal: Submitter,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """Receiving region, for the applicant: withdraw before conclusion."""
    return await _run(
        c.WithdrawCase(case_id, actor_of(principal), if_match, reason=body.reason),
        principal,
        runtime,
        services,
    )


@router.post(
    "/cases/{case_id}/rating",
    response_model=CaseOut,
    status_code=201,
    responses={409: {"description": "already rated, or not concluded"}},
)
async def rate(
    case_id: str,
    body: RatingIn,
    principal: Submitter,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> Response:
    """The applicant's five-level rating (好差评) through the receiving platform, once, after conclusion."""
    cmd = c.RateCase(case_id, actor_of(principal), if_match, level=body.level, comment=body.comment)
    case = await handlers.execute(cmd, uow=runtime.uow(), services=services, require_if_match=False)
    return _case_response(case, principal, services, status=201)


# --- joint tasks ---------------------------------------------------------------------------------


@router.get("/cases/{case_id}/tasks", response_model=TaskList, responses={200: {"headers": CASE_HEADERS}})
async def list_tasks(case_id: str, principal: Reader, runtime: RuntimeDep) -> Response:
    """The joint tasks of a case, one per participating role; the ETag is the case's."""
    row, rows = await queries.tasks(case_id, viewer_of(principal), uow=runtime.uow())
    body = TaskList(
        items=[
            TaskOut(
                id=t.id,
                role=t.role,
                region=t.region,
                done=t.done,
                completed_at=t.completed_at,
                outcome=t.outcome,
                note=t.note,
            )
            for t in rows
        ]
    )
    return JSONResponse(body.model_dump(mode="json"), headers={"ETag": etag(row.id, row.version)})


@router.post("/cases/{case_id}/tasks/{task_id}/complete", response_model=CaseOut, responses=CASE_RESPONSES)
async def complete_task(
    case_id: str,
    task_id: str,
    principal: Handler,
    if_match: IfMatch,
    runtime: RuntimeDep,
    services: ServicesDep,
    body: TaskCompleteIn | None = None,
) -> Response:
    """A participating region completes its own task (If-Match: the case's ETag)."""
    body = body or TaskCompleteIn()
    cmd = c.CompleteTask(
        case_id, actor_of(principal), if_match, task_id=task_id, outcome=body.outcome, note=body.note
    )
    return await _run(cmd, principal, runtime, services)


# --- materials -----------------------------------------------------------------------------------


def _file_out(row: Any) -> FileOut:
    return FileOut(
        id=row.id,
        material_code=row.material_code,
        sha256=row.sha256,
        size=row.size,
        content_type=row.content_type,
        file_name=row.file_name,
        created_at=row.created_at,
    )


@router.post(
    "/cases/{case_id}/materials",
    response_model=FileOut,
    status_code=201,
    responses={
        413: {"description": "file too large"},
        415: {"description": "type not accepted (by content)"},
    },
)
async def upload_material(
    case_id: str,
    principal: Submitter,
    runtime: RuntimeDep,
    services: ServicesDep,
    material_code: Annotated[str, Form(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")],
    file: Annotated[UploadFile, File(description="the scanned material (PDF, JPEG, PNG or TIFF)")],
) -> FileOut:
    """Receiving region: upload a scanned material; type checked by content, SHA-256 computed here."""
    limit = services.settings.max_upload_bytes
    data = await file.read(limit + 1)
    await file.close()
    name = (file.filename or "")[:255] or None
    row = await handlers.upload_material(
        case_id,
        actor_of(principal),
        material_code=material_code,
        file_name=name,
        data=data,
        uow=runtime.uow(),
        services=services,
    )
    return _file_out(row)


@router.get("/cases/{case_id}/materials", response_model=FileList)
async def list_materials(case_id: str, principal: Reader, runtime: RuntimeDep) -> FileList:
    """Uploaded material files of a case."""
    rows = await queries.files(case_id, viewer_of(principal), uow=runtime.uow())
    return FileList(items=[_file_out(r) for r in rows])


@router.get(
    "/cases/{case_id}/materials/{file_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_material(
    case_id: str, file_id: str, principal: Reader, runtime: RuntimeDep, services: ServicesDep
) -> StreamingResponse:
    """Download an uploaded material (parties of the case; e.g. the handling region)."""
    viewer = viewer_of(principal)
    if not viewer.read_all and viewer.actor.region is None:
        raise Problem(404, "not-found", "No such case is visible to you.")
    row = await queries.file(case_id, file_id, viewer, uow=runtime.uow())
    stream = services.blobs.stream(row.sha256)
    try:
        first = await anext(stream)
    except (BlobNotFound, StopAsyncIteration) as exc:
        raise Problem(404, "blob-missing", "The file's content is not in the blob store.") from exc

    async def body() -> Any:
        yield first
        async for chunk in stream:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=row.content_type,
        headers={
            "Digest": f"sha-256={row.sha256}",
            "ETag": f'"{row.sha256}"',
            "Content-Length": str(row.size),
        },
    )


# --- liaison -------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/messages", response_model=MessageOut, status_code=201)
async def post_message(
    case_id: str, body: MessageIn, principal: EitherSide, runtime: RuntimeDep, services: ServicesDep
) -> MessageOut:
    """A liaison message between the receiving and handling windows of a case."""
    row, text = await handlers.post_message(
        case_id, actor_of(principal), body.body, uow=runtime.uow(), services=services
    )
    return MessageOut(
        id=row.id,
        side=row.side,
        region=row.region,
        client_id=row.client_id,
        body=text,
        created_at=row.created_at,
    )


@router.get("/cases/{case_id}/messages", response_model=MessagePage)
async def list_messages(
    case_id: str,
    principal: Reader,
    runtime: RuntimeDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MessagePage:
    """Liaison messages of a case, oldest first."""
    position = decode_cursor(cursor)
    after = position.get("id") if position else None
    if after is not None and not isinstance(after, str):
        raise Problem(400, "bad-cursor", "The cursor is not one this service issued.")
    viewer = viewer_of(principal)
    if viewer.read_all and viewer.actor.region is None and not principal.is_service:
        # Liaison is between the windows; monitors see figures, not conversations.
        raise Problem(404, "not-found", "No such case is visible to you.")
    rows = await queries.messages(
        case_id, viewer, uow=runtime.uow(), services=services, limit=limit, after=after
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return MessagePage(
        items=[
            MessageOut(
                id=r.id,
                side=r.side,
                region=r.region,
                client_id=r.client_id,
                body=text,
                created_at=r.created_at,
            )
            for r, text in rows
        ],
        next_cursor=encode_cursor({"id": rows[-1][0].id}) if more and rows else None,
    )


def _day_start(day: date) -> datetime:
    """Midnight of an Asia/Shanghai day as a UTC instant."""
    try:
        return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Shanghai begins before the first instant Python has in UTC
        return datetime.min.replace(tzinfo=UTC)


def period_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Asia/Shanghai calendar days as UTC instants (until is exclusive)."""
    start = _day_start(since) if since else None
    end = _day_start(until) if until else None
    return start, end


__all__ = ["DeadlineKind", "period_bounds", "router"]
