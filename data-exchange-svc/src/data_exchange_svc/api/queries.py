"""``POST /v1/queries``: share fields or verify a fact about a person, for a case."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from data_exchange_svc.api.deps import HubDep, Querier, caller_of, problems
from data_exchange_svc.api.schemas import QueryIn, QueryResult
from data_exchange_svc.domain.commands import RunQuery
from data_exchange_svc.service_layer.queries import run_query

router = APIRouter(prefix="/v1/queries", tags=["queries"])


@router.post(
    "",
    response_model=QueryResult,
    response_model_exclude_none=True,
    responses=problems(401, 403, 404, 422, 429, 502, 503, 504),
    summary="Query a provider",
)
async def query(payload: QueryIn, principal: Querier, hub: HubDep) -> JSONResponse:
    """Check grant, case, consent and rate limit, call the provider, and return a signed, minimal answer.

    Every query, allowed or refused, is written to the hash-chained exchange log. A provider that is
    slow or down gives 504 or 503 naming it.
    """
    cmd = RunQuery(
        caller=caller_of(principal),
        resource_id=payload.resource_id,
        subject_id_number=payload.subject_id_number,
        case_id=payload.case_id,
        item_code=payload.item_code,
        mode=payload.mode,
        fields=tuple(payload.fields or ()),
        fact=dict[str, Any](payload.fact or {}),
    )
    document = await run_query(cmd, hub=hub)
    return JSONResponse(document, headers={"Cache-Control": "no-store"})
