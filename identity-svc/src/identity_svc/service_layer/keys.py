"""Key handlers: first key on start, rotation, periodic reload and retirement."""

from __future__ import annotations

from sqlalchemy import select
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters.orm import SigningKeyRow
from identity_svc.domain.keys import KeyStatus
from identity_svc.service_layer import audit
from identity_svc.service_layer.context import IdentityContext


async def ensure_key(*, uow: UnitOfWork, ctx: IdentityContext) -> None:
    """Create the first signing key if there is none, then load the keys."""
    async with uow:
        now = ctx.clock()
        if await ctx.keys.ensure_active(uow.session, now):
            await uow.commit()
        await ctx.keys.load(uow.session, now)
        await uow.commit()


async def reload_keys(*, uow: UnitOfWork, ctx: IdentityContext) -> None:
    """Re-read keys (another replica may have rotated) and retire expired verify-only keys."""
    async with uow:
        await ctx.keys.load(uow.session, ctx.clock())
        await uow.commit()


async def rotate(*, uow: UnitOfWork, ctx: IdentityContext, actor: str) -> dict[str, object]:
    """Make a new key active; the old one signs nothing more and stays published until it retires."""
    now = ctx.clock()
    previous = (
        await uow.session.scalars(
            select(SigningKeyRow.kid).where(SigningKeyRow.status == KeyStatus.ACTIVE.value)
        )
    ).all()
    kid = await ctx.keys.create_key(uow.session, now)
    retire_after = ctx.keys.window.retire_after(now) if previous else None
    await audit.record(
        uow,
        ctx,
        "key-rotated",
        kid,
        {
            "kid": kid,
            "previous_kids": list(previous),
            "previous_retire_after": retire_after,
            "rotated_by": actor,
        },
    )
    await uow.commit()
    await ctx.keys.load(uow.session, now)
    return {"kid": kid, "previous_kids": list(previous), "previous_retire_after": retire_after}


async def list_keys(*, uow: UnitOfWork) -> list[SigningKeyRow]:
    """Every key with its status, newest first."""
    rows = await uow.session.scalars(select(SigningKeyRow).order_by(SigningKeyRow.created_at.desc()))
    return list(rows.all())
