"""Items: the published catalogue (readable without a token), versions, diffs, drafts and publishing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from tongban_kit.http import decode_cursor, encode_cursor
from tongban_kit.idempotency import idempotency_key

from catalogue_svc.adapters.repository import ItemFilters
from catalogue_svc.api.deps import ClockDep, DraftsDep, IfMatchDep, ReadUowDep, UowDep, WriterDep, actor_of
from catalogue_svc.api.schemas import (
    NO_NUL,
    ItemCreate,
    ItemDiff,
    ItemPage,
    ItemPatch,
    ItemVersionList,
    ItemVersionOut,
)
from catalogue_svc.domain.commands import CreateItem, EditDraft, PublishDraft, RetireItem, StartDraft
from catalogue_svc.domain.reference import Audience, HandlingMode, ItemType
from catalogue_svc.service_layer import handlers, queries
from catalogue_svc.service_layer.documents import content_changes
from catalogue_svc.service_layer.handlers import Outcome

router = APIRouter(prefix="/v1", tags=["items"])

BasicCodePath = Annotated[
    str, Path(pattern=r"^[A-Z]{2}\d{8}$", description="基本编码, e.g. XK00003000", examples=["XK00003000"])
]
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Cursor = Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page")]

_ETAG_HEADER = {"ETag": {"description": "entity tag of the item; send it as If-Match to change the item"}}
_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such item"},
    409: {"description": "the item's state does not allow this (e.g. the version is published and frozen)"},
    412: {"description": "If-Match is stale"},
    422: {"description": "the content breaks a catalogue rule"},
    428: {"description": "If-Match is missing"},
}


def _json(document: dict[str, Any], etag: str | None, status: int = 200, **headers: str) -> JSONResponse:
    if etag:
        headers["ETag"] = etag
    return JSONResponse(document, status_code=status, headers=headers)


def _outcome(outcome: Outcome, location: str | None = None) -> JSONResponse:
    extra = {"Location": location} if location and outcome.created else {}
    if outcome.replayed:
        extra["Idempotent-Replayed"] = "true"
    return _json(outcome.document, outcome.etag, 201 if outcome.created else 200, **extra)


@router.get("/items", response_model=ItemPage, summary="List or search the items in force")
async def list_items(
    uow: ReadUowDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_NUL,
            description="search: Chinese (two characters suffice), pinyin or initials",
        ),
    ] = None,
    mode: Annotated[HandlingMode | None, Query(description="handling mode offered")] = None,
    audience: Annotated[Audience | None, Query()] = None,
    item_type: Annotated[ItemType | None, Query()] = None,
    ministry: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="responsible ministry, exact")
    ] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="implemented by this province")
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> JSONResponse:
    """Published items in force, by basic code or, with q, best match first; keyset-paginated."""
    filters = ItemFilters(
        mode=mode,
        audience=audience,
        item_type=None if item_type is None else item_type.value,
        ministry=ministry,
        region=region,
    )
    page = await queries.list_items(q=q, filters=filters, after=decode_cursor(cursor), limit=limit, uow=uow)
    next_cursor = None if page.after is None else encode_cursor(page.after)
    return _json({"items": page.items, "next_cursor": next_cursor}, None)


@router.post(
    "/items",
    status_code=201,
    response_model=ItemVersionOut,
    summary="Create an item (its first version is a draft)",
    responses={201: {"headers": _ETAG_HEADER}, 409: {"description": "the basic code exists"}},
)
async def create_item(
    body: ItemCreate, request: Request, principal: WriterDep, uow: UowDep, clock: ClockDep
) -> JSONResponse:
    """Create a new item as a draft of version 1; accepts Idempotency-Key."""
    raw = body.model_dump(mode="json")
    ikey = idempotency_key(request, principal.client_id, raw)
    content = content_changes({k: v for k, v in raw.items() if k != "basic_code"})
    cmd = CreateItem(basic_code=body.basic_code, content=content, actor=actor_of(principal))
    outcome = await handlers.create_item(cmd, uow=uow, clock=clock, idempotency=ikey)
    return _outcome(outcome, f"/v1/items/{body.basic_code}/draft")


@router.get(
    "/items/{basic_code}",
    response_model=ItemVersionOut,
    summary="The version in force",
    responses={200: {"headers": _ETAG_HEADER}, 404: {"description": "no such item or none in force"}},
)
async def get_item(basic_code: BasicCodePath, uow: ReadUowDep) -> JSONResponse:
    """The item's published version in force, with the item's ETag."""
    read = await queries.current_item(basic_code, uow=uow)
    return _json(read.document, read.etag)


@router.get("/items/{basic_code}/versions", response_model=ItemVersionList, summary="Every version")
async def list_versions(basic_code: BasicCodePath, uow: ReadUowDep, drafts: DraftsDep) -> JSONResponse:
    """Every version, oldest first; published versions never change (drafts need catalogue:write)."""
    read = await queries.versions(basic_code, include_drafts=drafts, uow=uow)
    return _json(read.document, read.etag)


@router.get("/items/{basic_code}/versions/{number}", response_model=ItemVersionOut, summary="One version")
async def get_version(
    basic_code: BasicCodePath,
    number: Annotated[int, Path(ge=1, le=100_000)],
    uow: ReadUowDep,
    drafts: DraftsDep,
) -> JSONResponse:
    """One version by number (a case names the version it was filed under)."""
    read = await queries.item_version(basic_code, number, include_drafts=drafts, uow=uow)
    return _json(read.document, read.etag)


@router.get("/items/{basic_code}/diff", response_model=ItemDiff, summary="Difference of two versions")
async def diff_versions(
    basic_code: BasicCodePath,
    uow: ReadUowDep,
    drafts: DraftsDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=100_000)],
    to: Annotated[int, Query(ge=1, le=100_000)],
) -> JSONResponse:
    """Field-by-field difference between version `from` and version `to`."""
    read = await queries.diff(basic_code, from_, to, include_drafts=drafts, uow=uow)
    return _json(read.document, None)


@router.get(
    "/items/{basic_code}/draft",
    response_model=ItemVersionOut,
    summary="The open draft",
    responses={200: {"headers": _ETAG_HEADER}},
)
async def get_draft(basic_code: BasicCodePath, _principal: WriterDep, uow: ReadUowDep) -> JSONResponse:
    """The open draft with the item's ETag (needs catalogue:write)."""
    read = await queries.draft(basic_code, uow=uow)
    return _json(read.document, read.etag)


@router.post(
    "/items/{basic_code}/draft",
    status_code=201,
    response_model=ItemVersionOut,
    summary="Start the next version as a draft",
    responses={201: {"headers": _ETAG_HEADER}, **_CHANGE_RESPONSES},
)
async def start_draft(
    basic_code: BasicCodePath,
    principal: WriterDep,
    uow: UowDep,
    clock: ClockDep,
    if_match: IfMatchDep,
    body: Annotated[ItemPatch | None, Body()] = None,
) -> JSONResponse:
    """Open the next version as a draft copied from the latest, with optional changes; needs If-Match."""
    changes = {} if body is None else content_changes(body.model_dump(mode="json", exclude_unset=True))
    cmd = StartDraft(basic_code=basic_code, if_match=if_match, actor=actor_of(principal), changes=changes)
    outcome = await handlers.start_draft(cmd, uow=uow, clock=clock)
    return _outcome(outcome, f"/v1/items/{basic_code}/draft")


@router.patch(
    "/items/{basic_code}/draft",
    response_model=ItemVersionOut,
    summary="Edit the open draft",
    responses={200: {"headers": _ETAG_HEADER}, **_CHANGE_RESPONSES},
)
async def edit_draft(
    basic_code: BasicCodePath,
    body: ItemPatch,
    principal: WriterDep,
    uow: UowDep,
    clock: ClockDep,
    if_match: IfMatchDep,
) -> JSONResponse:
    """Replace top-level fields of the draft; a published version is frozen (409); needs If-Match."""
    changes = content_changes(body.model_dump(mode="json", exclude_unset=True))
    cmd = EditDraft(basic_code=basic_code, changes=changes, if_match=if_match, actor=actor_of(principal))
    return _outcome(await handlers.edit_draft(cmd, uow=uow, clock=clock))


@router.post(
    "/items/{basic_code}/draft/publish",
    response_model=ItemVersionOut,
    summary="Publish the draft",
    responses={200: {"headers": _ETAG_HEADER}, **_CHANGE_RESPONSES},
)
async def publish_draft(
    basic_code: BasicCodePath, principal: WriterDep, uow: UowDep, clock: ClockDep, if_match: IfMatchDep
) -> JSONResponse:
    """Publish the draft from now; the previous version's validity ends at the same instant."""
    cmd = PublishDraft(basic_code=basic_code, if_match=if_match, actor=actor_of(principal))
    return _outcome(await handlers.publish_draft(cmd, uow=uow, clock=clock))


@router.post(
    "/items/{basic_code}/retire",
    response_model=ItemVersionOut,
    summary="Retire the item",
    responses={200: {"headers": _ETAG_HEADER}, **_CHANGE_RESPONSES},
)
async def retire_item(
    basic_code: BasicCodePath, principal: WriterDep, uow: UowDep, clock: ClockDep, if_match: IfMatchDep
) -> JSONResponse:
    """Withdraw the item: its version in force ends now and no new case may be filed under it."""
    cmd = RetireItem(basic_code=basic_code, if_match=if_match, actor=actor_of(principal))
    return _outcome(await handlers.retire_item(cmd, uow=uow, clock=clock))
