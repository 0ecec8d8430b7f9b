"""Idempotency-Key: a retried create has no second effect and gets the first response back.

The record is written in the same transaction as the effect, so of two concurrent requests with
one key exactly one commits; the other hits the primary key, rolls back, and replays the winner.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, Integer, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tongban_kit.db import Base, UtcDateTime, utcnow
from tongban_kit.problems import Problem

if TYPE_CHECKING:
    from tongban_kit.uow import UnitOfWork

RETENTION = timedelta(hours=24)
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


class IdempotencyRecord(Base):
    """The first response to a (client, method, path, key)."""

    __tablename__ = "idempotency_keys"

    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(10), primary_key=True)
    path: Mapped[str] = mapped_column(String(500), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[Any] = mapped_column(JSON)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True)
class IdempotencyKey:
    """A request's idempotency scope and the hash of its body."""

    client_id: str
    method: str
    path: str
    key: str
    request_hash: str

    @property
    def pk(self) -> tuple[str, str, str, str]:
        """Primary key of its record."""
        return (self.client_id, self.method, self.path, self.key)


def request_hash(body: Any) -> str:
    """A stable hash of a JSON body (a pydantic model is hashed as its JSON dump)."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


def idempotency_key(
    request: Request, client_id: str, body: Any, *, required: bool = False
) -> IdempotencyKey | None:
    """Read ``Idempotency-Key``; None when absent (or 400 when required); the body is hashed only if sent."""
    key = request.headers.get("idempotency-key")
    if key is None:
        if required:
            raise Problem(
                400, "idempotency-key-required", "Send an Idempotency-Key header with this request."
            )
        return None
    if not _KEY_RE.match(key):
        raise Problem(
            400, "bad-idempotency-key", "Idempotency-Key must be 1 to 200 visible ASCII characters."
        )
    return IdempotencyKey(client_id, request.method, request.url.path, key, request_hash(body))


async def replay(session: AsyncSession, ikey: IdempotencyKey) -> IdempotencyRecord | None:
    """The stored first response, or None; 409 when the key was used with another body."""
    record = await session.get(IdempotencyRecord, ikey.pk)
    if record is None:
        return None
    if record.created_at < utcnow() - RETENTION:
        await session.delete(record)
        await session.flush()
        return None
    if record.request_hash != ikey.request_hash:
        raise Problem(
            409, "idempotency-key-reused", "This Idempotency-Key was already used with a different body."
        )
    return record


def remember(
    session: AsyncSession, ikey: IdempotencyKey, status: int, body: Any, headers: dict[str, str]
) -> None:
    """Store the response in the caller's transaction."""
    session.add(
        IdempotencyRecord(
            client_id=ikey.client_id,
            method=ikey.method,
            path=ikey.path,
            key=ikey.key,
            request_hash=ikey.request_hash,
            status=status,
            body=body,
            headers=headers,
        )
    )


async def purge_expired(session: AsyncSession) -> int:
    """Delete records older than the retention window."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < utcnow() - RETENTION)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def idempotent_create(
    request: Request,
    uow: UnitOfWork,
    client_id: str,
    body: Any,
    create: Callable[[UnitOfWork], Awaitable[tuple[dict[str, Any], dict[str, str]]]],
) -> JSONResponse:
    """Run a create once per Idempotency-Key: a retry gets the first response, another body a 409.

    ``create`` does its work in the open unit of work and returns the 201 body and headers; the
    record is stored in the same transaction, so a concurrent duplicate loses at commit and replays.
    """
    ikey = idempotency_key(request, client_id, body)
    async with uow:
        if ikey is not None:
            record = await replay(uow.session, ikey)
            if record is not None:
                return JSONResponse(record.body, status_code=record.status, headers=record.headers)
        doc, headers = await create(uow)
        if ikey is not None:
            remember(uow.session, ikey, 201, doc, headers)
        try:
            await uow.commit()
        except IntegrityError:
            await uow.rollback()
            if ikey is None:
                raise
            record = await replay(uow.session, ikey)
            if record is None:
                raise
            return JSONResponse(record.body, status_code=record.status, headers=record.headers)
    return JSONResponse(doc, status_code=201, headers=headers)
