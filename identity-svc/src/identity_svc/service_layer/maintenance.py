"""Housekeeping: forget expired codes, requests, sessions, assertions and token records."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters.orm import (
    AccessTokenRow,
    AssertionRow,
    AuthCodeRow,
    AuthRequestRow,
    RefreshTokenRow,
    SessionRow,
)
from identity_svc.service_layer.context import IdentityContext

# Records stay a while after expiry so that a late reuse of a code or refresh token is still
# recognised as reuse (and revokes its family) rather than as an unknown token.
GRACE = timedelta(days=1)


async def purge_expired(*, uow: UnitOfWork, ctx: IdentityContext) -> int:
    """Delete records that expired more than the grace period ago; returns how many."""
    cutoff = ctx.clock() - GRACE
    total = 0
    async with uow:
        for table, column in (
            (AuthRequestRow, AuthRequestRow.expires_at),
            (AuthCodeRow, AuthCodeRow.expires_at),
            (SessionRow, SessionRow.expires_at),
            (AssertionRow, AssertionRow.expires_at),
            (AccessTokenRow, AccessTokenRow.expires_at),
            (RefreshTokenRow, RefreshTokenRow.expires_at),
        ):
            result = await uow.session.execute(delete(table).where(column < cutoff))
            total += int(getattr(result, "rowcount", 0) or 0)
        await uow.commit()
    return total
