"""Region implementations (实施清单): a province's code, organisation, address, modes, limit and fees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from tongban_kit.auth import PrincipalDep
from tongban_kit.problems import Problem

from catalogue_svc.api.deps import (
    IMPLEMENT_SCOPE,
    WRITE_SCOPE,
    ClockDep,
    IfMatchDep,
    ReadUowDep,
    UowDep,
    actor_of,
)
from catalogue_svc.api.items import BasicCodePath
from catalogue_svc.api.schemas import (
    RegionImplementationIn,
    RegionImplementationList,
    RegionImplementationOut,
)
from catalogue_svc.domain.commands import ImplementRegion
from catalogue_svc.service_layer import handlers, queries

router = APIRouter(prefix="/v1", tags=["regions"])

RegionPath = Annotated[
    str, Path(pattern=r"^\d{6}$", description="GB/T 2260 province code, e.g. 440000", examples=["440000"])
]


@router.get(
    "/items/{basic_code}/regions",
    response_model=RegionImplementationList,
    summary="Every region's implementation",
)
async def list_regions(basic_code: BasicCodePath, uow: ReadUowDep) -> JSONResponse:
    """Every province's implementation of the item."""
    read = await queries.region_implementations(basic_code, uow=uow)
    return JSONResponse(read.document)


@router.get(
    "/items/{basic_code}/regions/{region}",
    response_model=RegionImplementationOut,
    summary="A region's implementation",
    responses={200: {"headers": {"ETag": {"description": "send as If-Match to replace it"}}}},
)
async def get_region(basic_code: BasicCodePath, region: RegionPath, uow: ReadUowDep) -> JSONResponse:
    """A province's implementation of the item, with its ETag."""
    read = await queries.region_implementation(basic_code, region, uow=uow)
    return JSONResponse(read.document, headers={"ETag": read.etag or ""})


@router.put(
    "/items/{basic_code}/regions/{region}",
    response_model=RegionImplementationOut,
    summary="Create or replace a region's implementation",
    responses={
        201: {"description": "created", "model": RegionImplementationOut},
        403: {"description": "the token is for another region, or lacks the scope"},
        409: {"description": "the item has no version in force"},
        412: {"description": "If-Match is stale"},
        422: {"description": "breaks the national item (e.g. promised limit above the statutory limit)"},
        428: {"description": "the implementation exists and If-Match is missing"},
    },
)
async def put_region(
    basic_code: BasicCodePath,
    region: RegionPath,
    body: RegionImplementationIn,
    principal: PrincipalDep,
    uow: UowDep,
    clock: ClockDep,
    if_match: IfMatchDep,
) -> JSONResponse:
    """Create or replace the implementation: catalogue:implement for your own region, or catalogue:write."""
    if not principal.has(WRITE_SCOPE):
        if not principal.has(IMPLEMENT_SCOPE):
            raise Problem(
                403,
                "insufficient-scope",
                f"This request needs the scope {IMPLEMENT_SCOPE} (for your own region) or {WRITE_SCOPE}.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{IMPLEMENT_SCOPE}"'},
            )
        if principal.region != region:
            raise Problem(
                403,
                "wrong-region",
                f"Only the platform of region {region} may change its implementation "
                f"(your token is for {principal.region or 'no region'}).",
            )
    cmd = ImplementRegion(
        basic_code=basic_code,
        region=region,
        data=body.model_dump(mode="json"),
        if_match=if_match,
        actor=actor_of(principal),
    )
    outcome = await handlers.implement_item_in_region(cmd, uow=uow, clock=clock)
    return JSONResponse(
        outcome.document, status_code=201 if outcome.created else 200, headers={"ETag": outcome.etag or ""}
    )
