"""Bitstring Status Lists: handing out entries, flipping bits, and the signed list credential.

Each seal has one list per purpose (a new one once it is full); the list credential is a
``vc+jwt`` signed with the same licence key as the credentials it covers, so its issuer is the
credentials' issuer. Signed documents are cached per list content.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.jose import sign_compact
from eseal_svc.adapters.orm import SealRow, StatusListRow
from eseal_svc.domain.licence import StatusEntry, StatusPurpose
from eseal_svc.domain.status_list import Bitstring, pick_free_index
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.errors import NotFound
from eseal_svc.service_layer.vc import VC_CONTEXT, LicenceKey, issuer_id, licence_signer, rfc3339

SIGNED_CACHE_SIZE = 64


async def allocate(uow: UnitOfWork, ctx: EsealContext, seal_id: str, purpose: StatusPurpose) -> StatusEntry:
    """A free entry in the seal's open list for the purpose (opening a new list when needed)."""
    stmt = (
        select(StatusListRow)
        .where(
            StatusListRow.seal_id == seal_id,
            StatusListRow.purpose == purpose.value,
            StatusListRow.full.is_(False),
        )
        .order_by(StatusListRow.created_at, StatusListRow.id)
        .limit(1)
        .with_for_update()
    )
    row = (await uow.session.execute(stmt)).scalar_one_or_none()
    now = ctx.clock()
    if row is None:
        size = ctx.settings.status_list_size
        row = StatusListRow(
            id=new_id(),
            seal_id=seal_id,
            purpose=purpose.value,
            size=size,
            bits=bytes(size // 8),
            allocated=bytes(size // 8),
            allocated_count=0,
            full=False,
            version=1,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
    allocated = Bitstring(row.size, row.allocated)
    index = pick_free_index(allocated)
    allocated.set(index)
    row.allocated = allocated.to_bytes()
    row.allocated_count += 1
    row.full = row.allocated_count >= row.size
    row.version += 1
    return StatusEntry(purpose, row.id, index)


async def set_bit(uow: UnitOfWork, ctx: EsealContext, entry: StatusEntry, value: bool) -> None:
    """Set or clear a licence's bit in its list."""
    stmt = select(StatusListRow).where(StatusListRow.id == entry.list_id).with_for_update()
    row = (await uow.session.execute(stmt)).scalar_one()
    bits = Bitstring(row.size, row.bits)
    if bits.get(entry.index) == value:
        return
    bits.set(entry.index, value)
    row.bits = bits.to_bytes()
    row.version += 1
    row.updated_at = ctx.clock()


@dataclass(frozen=True, slots=True)
class SignedStatusList:
    """A status list credential as served."""

    id: str
    jwt: str
    credential: dict[str, Any]
    etag: str
    updated_at: datetime


def status_list_credential(
    ctx: EsealContext, row: StatusListRow, seal: SealRow
) -> tuple[dict[str, Any], str]:
    """The list credential document and its content tag."""
    url = ctx.settings.status_list_url(row.id)
    tag = hashlib.sha256(row.bits).hexdigest()[:32]
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer_id(seal.uscc), "name": seal.org_name},
        "validFrom": rfc3339(row.updated_at),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": row.purpose,
            "encodedList": Bitstring(row.size, row.bits).encode(),
            "ttl": ctx.settings.status_list_max_age * 1000,
        },
    }
    return credential, tag


async def signed_status_list(ctx: EsealContext, list_id: str) -> SignedStatusList:
    """The signed list credential (cached per content); NotFound for an unknown list."""
    async with ctx.uow() as uow:
        row = await uow.session.get(StatusListRow, list_id)
        seal = await uow.session.get(SealRow, row.seal_id) if row is not None else None
    if row is None or seal is None:
        raise NotFound(f"status list {list_id} was not found")
    credential, tag = status_list_credential(ctx, row, seal)
    cache = ctx.caches.setdefault("status_lists", OrderedDict())
    assert isinstance(cache, OrderedDict)
    key = (list_id, tag)
    jwt = cache.get(key)
    if jwt is None:
        jwt = sign_compact(
            credential, signer=licence_signer(ctx, LicenceKey.of(seal)), certificate_der=seal.jose_certificate
        )
        cache[key] = jwt
        while len(cache) > SIGNED_CACHE_SIZE:
            cache.popitem(last=False)
    return SignedStatusList(list_id, str(jwt), credential, f'W/"{tag}"', row.updated_at)
