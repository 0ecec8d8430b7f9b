"""The FAQ knowledge base: per item, and searchable across the catalogue for window staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from tongban_kit.http import decode_cursor, encode_cursor
from tongban_kit.idempotency import idempotency_key

from catalogue_svc.api.deps import ClockDep, FaqAuthorDep, ReadUowDep, UowDep, actor_of
from catalogue_svc.api.items import BasicCodePath, Cursor, Limit
from catalogue_svc.api.schemas import NO_NUL, FaqIn, FaqOut, FaqPage
from catalogue_svc.domain.commands import AddFaq
from catalogue_svc.service_layer import handlers, queries

router = APIRouter(prefix="/v1", tags=["faq"])


@router.get("/items/{basic_code}/faqs", response_model=FaqPage, summary="An item's FAQ")
async def list_item_faqs(
    basic_code: BasicCodePath, uow: ReadUowDep, limit: Limit = 50, cursor: Cursor = None
) -> JSONResponse:
    """The item's FAQ entries in the order they were added."""
    page = await queries.item_faqs(basic_code, after=decode_cursor(cursor), limit=limit, uow=uow)
    return JSONResponse(
        {"items": page.items, "next_cursor": None if page.after is None else encode_cursor(page.after)}
    )


@router.post(
    "/items/{basic_code}/faqs",
    status_code=201,
    response_model=FaqOut,
    summary="Add a FAQ entry",
    responses={404: {"description": "no such item"}},
)
async def add_faq(
    basic_code: BasicCodePath,
    body: FaqIn,
    request: Request,
    principal: FaqAuthorDep,
    uow: UowDep,
    clock: ClockDep,
) -> JSONResponse:
    """Add a question and answer (catalogue:write, or catalogue:implement for window staff)."""
    raw = body.model_dump(mode="json")
    ikey = idempotency_key(request, principal.client_id, raw)
    cmd = AddFaq(basic_code=basic_code, entry=raw, actor=actor_of(principal), region=principal.region)
    outcome = await handlers.add_faq(cmd, uow=uow, clock=clock, idempotency=ikey)
    headers = {"Location": f"/v1/items/{basic_code}/faqs"}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.document, status_code=201, headers=headers)


@router.get("/faqs", response_model=FaqPage, summary="Search the FAQ knowledge base")
async def search_faqs(
    uow: ReadUowDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=200, pattern=NO_NUL, description="words of the question or answer"),
    ],
    basic_code: Annotated[str | None, Query(pattern=r"^[A-Z]{2}\d{8}$", description="only this item")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> JSONResponse:
    """FAQ entries containing every word of q, best match first."""
    page = await queries.search_faqs(
        q=q, basic_code=basic_code, after=decode_cursor(cursor), limit=limit, uow=uow
    )
    return JSONResponse(
        {"items": page.items, "next_cursor": None if page.after is None else encode_cursor(page.after)}
    )
