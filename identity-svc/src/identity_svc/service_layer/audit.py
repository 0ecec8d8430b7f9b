"""Audit events through the outbox: one gap-free sequence per subject, payloads from the contracts."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from tongban_contracts import EventEnvelope
from tongban_contracts.events.identity import EVENTS, SERVICE
from tongban_kit.events import new_envelope
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters.orm import AuditStreamRow
from identity_svc.service_layer.context import IdentityContext


async def next_sequence(uow: UnitOfWork, subject: str) -> int:
    """Increment the subject's counter in this transaction (insert it on first use)."""
    session = uow.session
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    table = cast(Table, AuditStreamRow.__table__)
    if dialect == "postgresql":
        pg = postgresql.insert(table).values(subject=subject, last_sequence=1)
        stmt = pg.on_conflict_do_update(
            index_elements=["subject"], set_={"last_sequence": table.c.last_sequence + 1}
        ).returning(table.c.last_sequence)
    elif dialect == "sqlite":
        lite = sqlite.insert(table).values(subject=subject, last_sequence=1)
        stmt = lite.on_conflict_do_update(
            index_elements=["subject"], set_={"last_sequence": table.c.last_sequence + 1}
        ).returning(table.c.last_sequence)
    else:  # pragma: no cover - only the two supported databases
        result = await session.execute(
            update(table)
            .where(table.c.subject == subject)
            .values(last_sequence=table.c.last_sequence + 1)
            .returning(table.c.last_sequence)
        )
        return int(result.scalar_one())
    result = await session.execute(stmt)
    return int(result.scalar_one())


async def record(
    uow: UnitOfWork, ctx: IdentityContext, name: str, subject: str, data: dict[str, Any]
) -> EventEnvelope:
    """Validate the payload against its contract model and write the event to the outbox."""
    model = EVENTS[name]
    payload = model.model_validate(data).model_dump(mode="json", exclude_none=False)
    envelope = new_envelope(
        SERVICE,
        name,
        subject=subject,
        time=ctx.clock(),
        sequence=await next_sequence(uow, subject),
        data=payload,
    )
    uow.emit(ctx.audit_topic, envelope)
    return envelope
