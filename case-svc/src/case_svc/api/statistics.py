"""Monitoring: how every item performs, by region, item, mode and period."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from tongban_kit.app import RuntimeDep
from tongban_kit.auth import Principal, require_scopes
from tongban_kit.problems import Problem

from case_svc.api.cases import period_bounds
from case_svc.api.deps import ServicesDep
from case_svc.api.schemas import StatisticsGroup, StatisticsOut
from case_svc.domain.working_days import local_date
from case_svc.service_layer import queries

router = APIRouter(prefix="/v1", tags=["monitoring"])
Monitor = Annotated[Principal, Depends(require_scopes("cases:monitor"))]


@router.get("/statistics", response_model=StatisticsOut)
async def statistics(
    principal: Monitor,
    runtime: RuntimeDep,
    services: ServicesDep,
    group_by: Annotated[
        str | None,
        Query(
            max_length=80,
            description="comma-separated: handling_region, receiving_region, item, mode",
        ),
    ] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="as receiver or handler")] = None,
    item: Annotated[str | None, Query(max_length=64)] = None,
    mode: Annotated[str | None, Query(pattern=r"^(online|proxy|joint)$")] = None,
    since: Annotated[
        date | None, Query(alias="from", description="first submission day (Asia/Shanghai)")
    ] = None,
    until: Annotated[date | None, Query(alias="to", description="day after the last (exclusive)")] = None,
) -> StatisticsOut:
    """Received, concluded, on-time rate, handling working days (mean, p90), corrections, transfer, rating."""
    groups = [g.strip() for g in (group_by or "").split(",") if g.strip()]
    unknown = [g for g in groups if g not in queries.GROUPS]
    if unknown or len(set(groups)) != len(groups):
        raise Problem(
            422,
            "validation-failed",
            f"group_by takes distinct values of {', '.join(queries.GROUPS)}",
            errors=[
                {"field": "query.group_by", "message": "unknown or repeated grouping", "type": "value_error"}
            ],
        )
    start, end = period_bounds(since, until)
    rows = await queries.statistics(
        uow=runtime.uow(),
        group_by=groups,
        region=region,
        basic_code=item,
        mode=mode,
        since=start,
        until=end,
        today=local_date(services.clock()),
    )
    return StatisticsOut(
        group_by=groups,
        since=since,
        until=until,
        groups=[StatisticsGroup.model_validate(r) for r in rows],
    )
