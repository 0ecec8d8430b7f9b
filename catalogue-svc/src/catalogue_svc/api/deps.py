"""Dependencies of the routes: the unit of work, the clock, If-Match, and who may see drafts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from tongban_contracts import topics
from tongban_kit.app import ServiceRuntime
from tongban_kit.auth import OptionalPrincipalDep, Principal, require_scopes
from tongban_kit.db import utcnow
from tongban_kit.problems import Problem
from tongban_kit.uow import UnitOfWork

from catalogue_svc.domain.commands import IfMatch
from catalogue_svc.service_layer.handlers import Clock
from catalogue_svc.service_layer.unit_of_work import CatalogueUnitOfWork

WRITE_SCOPE = "catalogue:write"
IMPLEMENT_SCOPE = "catalogue:implement"
CLOCK_KEY = "catalogue.clock"
READ_SESSIONS_KEY = "catalogue.read_sessions"


# Dependencies are coroutines on purpose: FastAPI runs plain functions in a worker thread, and a
# thread hand-off per dependency costs more than the item read itself.


def uow_for(runtime: ServiceRuntime) -> CatalogueUnitOfWork:
    """A fresh catalogue unit of work on this service's database and topic."""
    return CatalogueUnitOfWork(runtime.uow(), topic=runtime.settings.topic(topics.CATALOGUE_ITEMS))


async def get_uow(request: Request) -> CatalogueUnitOfWork:
    """Dependency: a fresh catalogue unit of work."""
    return uow_for(request.app.state.runtime)


def read_uow_for(runtime: ServiceRuntime) -> CatalogueUnitOfWork:
    """A unit of work for reads only (see ``adapters.database.read_session_factory``)."""
    factory = runtime.extras.get(READ_SESSIONS_KEY) or runtime.session_factory
    return CatalogueUnitOfWork(UnitOfWork(factory), topic=runtime.settings.topic(topics.CATALOGUE_ITEMS))


async def get_read_uow(request: Request) -> CatalogueUnitOfWork:
    """Dependency: a unit of work for a GET."""
    return read_uow_for(request.app.state.runtime)


async def get_clock(request: Request) -> Clock:
    """The clock (tests may install their own in ``runtime.extras``)."""
    clock: Clock = request.app.state.runtime.extras.get(CLOCK_KEY, utcnow)
    return clock


async def get_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=1000,
            description="The ETag from your last read of this resource (required to change it).",
        ),
    ] = None,
) -> IfMatch | None:
    """The parsed If-Match header, or None when absent."""
    if if_match is None or not if_match.strip():
        return None
    parsed = IfMatch.parse(if_match)
    if not parsed.any and not parsed.tags:
        raise Problem(400, "bad-if-match", "If-Match must be * or a list of entity tags.")
    return parsed


async def include_drafts(principal: OptionalPrincipalDep) -> bool:
    """Writers see drafts; everyone else sees published and retired versions only."""
    return principal is not None and principal.has(WRITE_SCOPE)


def actor_of(principal: Principal) -> str:
    """What audit logs record as the actor."""
    return principal.client_id + (f" for {principal.subject}" if principal.actor else "")


UowDep = Annotated[CatalogueUnitOfWork, Depends(get_uow)]
ReadUowDep = Annotated[CatalogueUnitOfWork, Depends(get_read_uow)]
ClockDep = Annotated[Clock, Depends(get_clock)]
IfMatchDep = Annotated[IfMatch | None, Depends(get_if_match)]
DraftsDep = Annotated[bool, Depends(include_drafts)]
WriterDep = Annotated[Principal, Depends(require_scopes(WRITE_SCOPE))]
FaqAuthorDep = Annotated[Principal, Depends(require_scopes(WRITE_SCOPE, IMPLEMENT_SCOPE, any_of=True))]
