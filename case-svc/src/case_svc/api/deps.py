"""API dependencies: the case services of the running app, and the caller as actor and viewer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from tongban_kit.app import runtime_of
from tongban_kit.auth import Principal

from case_svc.domain.model import Actor
from case_svc.service_layer.handlers import Viewer
from case_svc.service_layer.services import CaseServices


async def get_services(request: Request) -> CaseServices:
    """Dependency: the handlers' collaborators, built at startup."""
    services: CaseServices = runtime_of(request).extras["case"]
    return services


ServicesDep = Annotated[CaseServices, Depends(get_services)]


def actor_of(principal: Principal) -> Actor:
    """The acting platform (and the person it acts for, after token exchange)."""
    return Actor(
        client_id=principal.client_id,
        region=principal.region,
        on_behalf_of=principal.subject if principal.actor else None,
        subject_hash=principal.subject_hash,
    )


def viewer_of(principal: Principal) -> Viewer:
    """Regionless monitors and service clients read across regions; platforms read their own cases."""
    read_all = principal.region is None and (principal.is_service or principal.has("cases:monitor"))
    return Viewer(actor_of(principal), read_all=read_all)
