"""Start-up and background work: signing keys, the dev realm, key reloads, housekeeping."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import structlog
from tongban_kit.app import ServiceRuntime

from identity_svc.service_layer import dev_realm, keys, maintenance
from identity_svc.service_layer.context import IdentityContext

log = structlog.get_logger("identity.startup")
PURGE_EVERY = 600.0


def startup_hook(ctx: IdentityContext) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """The on-start hook: context, first key, dev realm, background loops."""

    async def hook(runtime: ServiceRuntime) -> None:
        runtime.extras["identity"] = ctx
        await keys.ensure_key(uow=runtime.uow(), ctx=ctx)
        if ctx.settings.seed_dev_realm:
            lines = await dev_realm.seed(uow=runtime.uow(), ctx=ctx)
            if ctx.settings.env == "dev":
                # Printed once at dev start, as `make run` users need them; never outside dev.
                print("\n".join(lines), file=sys.stderr, flush=True)
        runtime.spawn(_background(runtime, ctx), "identity-housekeeping")

    return hook


async def _background(runtime: ServiceRuntime, ctx: IdentityContext) -> None:
    """Reload keys now and then (another replica may rotate), purge expired records less often."""
    interval = ctx.settings.key_reload_seconds
    since_purge = PURGE_EVERY
    while True:
        await asyncio.sleep(interval)
        since_purge += interval
        with contextlib.suppress(Exception):
            await keys.reload_keys(uow=runtime.uow(), ctx=ctx)
        if since_purge >= PURGE_EVERY:
            since_purge = 0.0
            try:
                await maintenance.purge_expired(uow=runtime.uow(), ctx=ctx)
            except Exception as exc:  # the next round tries again
                log.warning("purge failed", error=type(exc).__name__)
