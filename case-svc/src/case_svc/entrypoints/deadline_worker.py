"""The deadline worker: a periodic loop in each replica (claims make duplicates impossible)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from tongban_kit.uow import UnitOfWork

from case_svc.service_layer.deadlines import deadline_pass, recompute_provisional
from case_svc.service_layer.services import CaseServices

log = structlog.get_logger("case.deadline-worker")


async def run_deadline_worker(
    uow_factory: Callable[[], UnitOfWork], services: CaseServices, *, interval: float | None = None
) -> None:
    """Recompute provisional due dates once, then warn and flag overdue cases every interval."""
    period = interval if interval is not None else services.settings.deadline_interval_seconds
    try:
        await recompute_provisional(uow=uow_factory(), services=services)
    except Exception as exc:  # a failed recompute must not stop the warnings
        log.warning("provisional recompute failed", error=str(exc))
    while True:
        try:
            await deadline_pass(uow=uow_factory(), services=services)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("deadline pass failed; retrying next interval", error=str(exc))
        await asyncio.sleep(period)
