"""Reading and writing the hub's tables; maps rows to domain objects."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tongban_kit.db import utcnow

from data_exchange_svc.adapters.orm import AuditHeadRow, AuditRow, Base, ConsentRow, GrantRow, ResourceRow
from data_exchange_svc.domain import audit
from data_exchange_svc.domain.model import (
    Consent,
    DataDomain,
    FieldKind,
    FieldSpec,
    Grant,
    Mode,
    Resource,
    Sensitivity,
    Status,
)


def resource_from(values: Mapping[str, Any]) -> Resource:
    """The domain resource of a row's values (by column name)."""
    return Resource(
        id=values["id"],
        code=values["code"],
        name=values["name"],
        provider_name=values["provider_name"],
        provider_uscc=values["provider_uscc"],
        region=values["region"],
        domain=DataDomain(values["domain"]),
        endpoint_url=values["endpoint_url"],
        fields=tuple(
            FieldSpec(
                name=f["name"],
                label=f.get("label", f["name"]),
                kind=FieldKind(f.get("kind", "text")),
                sensitivity=Sensitivity(f.get("sensitivity", "personal")),
            )
            for f in values["fields"]
        ),
        supports=frozenset(Mode(m) for m in values["supports"]),
        timeout_ms=values["timeout_ms"],
        status=Status(values["status"]),
        version=values["version"],
    )


def grant_from(values: Mapping[str, Any]) -> Grant:
    """The domain grant of a row's values."""
    return Grant(
        id=values["id"],
        client_id=values["client_id"],
        resource_id=values["resource_id"],
        items=frozenset(values["items"]),
        allowed_fields=frozenset(values["allowed_fields"]),
        masked_fields=frozenset(values["masked_fields"]),
        modes=frozenset(Mode(m) for m in values["modes"]),
        rate_limit_per_minute=values["rate_limit_per_minute"],
        expires_at=values["expires_at"],
        statutory_basis=values["statutory_basis"],
        status=Status(values["status"]),
        version=values["version"],
    )


def consent_from(values: Mapping[str, Any]) -> Consent:
    """The domain consent of a row's values."""
    return Consent(
        id=values["id"],
        subject_hash=values["subject_hash"],
        case_id=values["case_id"],
        resource_ids=frozenset(values["resource_ids"]),
        until=values["until"],
        status=Status(values["status"]),
        version=values["version"],
    )


def _values(row: Base) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def resource_from_row(row: ResourceRow) -> Resource:
    """The domain resource of a row."""
    return resource_from(_values(row))


def grant_from_row(row: GrantRow) -> Grant:
    """The domain grant of a row."""
    return grant_from(_values(row))


def consent_from_row(row: ConsentRow) -> Consent:
    """The domain consent of a row."""
    return consent_from(_values(row))


async def get_resource(session: AsyncSession, ref: str) -> ResourceRow | None:
    """A resource by id or by its code (callers may use either), in one statement."""
    stmt = select(ResourceRow).where(or_(ResourceRow.id == ref, ResourceRow.code == ref)).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


PolicyInputs = tuple[Resource | None, list[Grant], list[Consent]]


async def policy_inputs(
    session: AsyncSession, ref: str, client_id: str, subject_hash: str, case_id: str
) -> PolicyInputs:
    """In one round trip: a resource (by id or code), the client's grants on it, the subject's consents
    for the case (the outer joins give grants x consents rows; both sets are tiny)."""
    stmt = (
        select(ResourceRow, GrantRow, ConsentRow)
        .outerjoin(GrantRow, and_(GrantRow.resource_id == ResourceRow.id, GrantRow.client_id == client_id))
        .outerjoin(ConsentRow, and_(ConsentRow.subject_hash == subject_hash, ConsentRow.case_id == case_id))
        .where(or_(ResourceRow.id == ref, ResourceRow.code == ref))
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None, [], []
    grants = {g.id: g for _, g, _ in rows if g is not None}
    consents = {c.id: c for _, _, c in rows if c is not None}
    return (
        resource_from_row(rows[0][0]),
        [grant_from_row(g) for g in grants.values()],
        [consent_from_row(c) for c in consents.values()],
    )


# ``policy_inputs`` as one prepared statement on the asyncpg connection itself: the same joins, each
# table's columns under its prefix. It skips building and compiling the ORM query and loading three
# mapped objects per row, most of the hub's own CPU per query after the HTTP calls.
POLICY_INPUTS = """
SELECT r.id AS r_id, r.code AS r_code, r.name AS r_name, r.provider_name AS r_provider_name,
    r.provider_uscc AS r_provider_uscc, r.region AS r_region, r.domain AS r_domain,
    r.endpoint_url AS r_endpoint_url, r.fields AS r_fields, r.supports AS r_supports,
    r.timeout_ms AS r_timeout_ms, r.status AS r_status, r.version AS r_version,
    g.id AS g_id, g.client_id AS g_client_id, g.resource_id AS g_resource_id, g.items AS g_items,
    g.allowed_fields AS g_allowed_fields, g.masked_fields AS g_masked_fields, g.modes AS g_modes,
    g.rate_limit_per_minute AS g_rate_limit_per_minute, g.expires_at AS g_expires_at,
    g.statutory_basis AS g_statutory_basis, g.status AS g_status, g.version AS g_version,
    c.id AS c_id, c.subject_hash AS c_subject_hash, c.case_id AS c_case_id,
    c.resource_ids AS c_resource_ids, c.until AS c_until, c.status AS c_status, c.version AS c_version
FROM resources r
LEFT JOIN grants g ON g.resource_id = r.id AND g.client_id = $2
LEFT JOIN consents c ON c.subject_hash = $3 AND c.case_id = $4
WHERE r.id = $1 OR r.code = $1
"""


def _part(record: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in record.items() if key.startswith(prefix)}


async def policy_inputs_pg(
    conn: Any, ref: str, client_id: str, subject_hash: str, case_id: str
) -> PolicyInputs:
    """``policy_inputs`` on an asyncpg connection (PostgreSQL), outside any transaction."""
    records = await conn.fetch(POLICY_INPUTS, ref, client_id, subject_hash, case_id)
    if not records:
        return None, [], []
    grants = {r["g_id"]: _part(r, "g_") for r in records if r["g_id"] is not None}
    consents = {r["c_id"]: _part(r, "c_") for r in records if r["c_id"] is not None}
    return (
        resource_from(_part(records[0], "r_")),
        [grant_from(g) for g in grants.values()],
        [consent_from(c) for c in consents.values()],
    )


class PolicyReader:
    """Reads a query's policy inputs, with no transaction of its own (no BEGIN or ROLLBACK round trips)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgresql = engine.dialect.name == "postgresql"
        self._sessions = async_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))

    async def policy_inputs(self, ref: str, client_id: str, subject_hash: str, case_id: str) -> PolicyInputs:
        """The resource (by id or code), the client's grants on it, the subject's consents for the case."""
        if self._postgresql:
            async with self.engine.connect() as conn:
                driver = (await conn.get_raw_connection()).driver_connection
                return await policy_inputs_pg(driver, ref, client_id, subject_hash, case_id)
        async with self._sessions() as session:
            return await policy_inputs(session, ref, client_id, subject_hash, case_id)


def audit_content(row: AuditRow) -> dict[str, Any]:
    """The chained content of a stored entry, plus its hash."""
    return {
        "seq": row.seq,
        "id": row.id,
        "at": row.at,
        "client_id": row.client_id,
        "actor": row.actor,
        "resource_id": row.resource_id,
        "subject_hash": row.subject_hash,
        "case_id": row.case_id,
        "item_code": row.item_code,
        "mode": row.mode,
        "fields": row.fields,
        "outcome": row.outcome,
        "reason": row.reason,
        "grant_id": row.grant_id,
        "basis": row.basis,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


async def append_entries(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append entries, in order, at the head of the chain in the caller's transaction; return them chained.

    Each entry holds the chained fields except ``seq``, ``prev_hash`` and ``hash``, plus ``latency_ms``.
    """
    # Writing the head first locks it (a row lock on PostgreSQL, the write lock on SQLite), so
    # concurrent appenders queue here and each reads the head its predecessor committed.
    locked = await session.execute(
        update(AuditHeadRow)
        .where(AuditHeadRow.id == 1)
        .values(updated_at=utcnow())
        .returning(AuditHeadRow.seq, AuditHeadRow.hash)
        .execution_options(synchronize_session=False)
    )
    seq, prev = locked.one()
    chained = audit.link(entries, seq, prev)
    new_entries = insert(AuditRow).values(chained)
    advance = (
        update(AuditHeadRow)
        .where(AuditHeadRow.id == 1)
        .values(seq=chained[-1]["seq"], hash=chained[-1]["hash"])
        .execution_options(synchronize_session=False)
    )
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: the entries are inserted in a CTE of the statement that advances the head.
        await session.execute(advance.add_cte(new_entries.cte("new_entries")))
    else:
        await session.execute(new_entries)
        await session.execute(advance)
    return chained


async def head(session: AsyncSession) -> AuditHeadRow:
    """The chain head."""
    return (await session.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1))).scalar_one()


# The columns ``APPEND_AT_HEAD`` writes, in its parameter order, with their PostgreSQL types.
LOG_COLUMNS = (
    ("seq", "bigint"),
    ("id", "text"),
    ("at", "timestamptz"),
    ("client_id", "text"),
    ("actor", "json"),
    ("resource_id", "text"),
    ("subject_hash", "text"),
    ("case_id", "text"),
    ("item_code", "text"),
    ("mode", "text"),
    ("fields", "json"),
    ("outcome", "text"),
    ("reason", "text"),
    ("grant_id", "text"),
    ("basis", "text"),
    ("latency_ms", "integer"),
    ("prev_hash", "text"),
    ("hash", "text"),
)
# The kit's outbox columns (the keys of ``tongban_kit.outbox.outbox_values``); a test keeps them equal.
OUTBOX_COLUMNS = (
    ("event_id", "text"),
    ("topic", "text"),
    ("key", "text"),
    ("sequence", "bigint"),
    ("envelope", "json"),
    ("created_at", "timestamptz"),
    ("attempts", "integer"),
)


# One statement, so one round trip and one implicit transaction: advance the head only if it is still
# where this writer last left it, and insert the entries and their outbox rows only if it did. Reading
# ``head`` in the inserts makes the head's row lock come first, so outbox positions follow the chain.
# One array parameter per column (JSON as text, cast here), rows kept in array order.
APPEND_AT_HEAD = """
WITH head AS (
    UPDATE exchange_log_head SET seq = $1, hash = $2, updated_at = $3
    WHERE id = 1 AND seq = $4 AND hash = $5
    RETURNING seq
), entries AS (
    INSERT INTO exchange_log (seq, id, at, client_id, actor, resource_id, subject_hash, case_id,
        item_code, mode, fields, outcome, reason, grant_id, basis, latency_ms, prev_hash, hash)
    SELECT v.seq, v.id, v.at, v.client_id, v.actor::json, v.resource_id, v.subject_hash, v.case_id,
        v.item_code, v.mode, v.fields::json, v.outcome, v.reason, v.grant_id, v.basis, v.latency_ms,
        v.prev_hash, v.hash
    FROM unnest($6::bigint[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], $11::text[],
        $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
        $19::text[], $20::text[], $21::integer[], $22::text[], $23::text[])
        WITH ORDINALITY AS v(seq, id, at, client_id, actor, resource_id, subject_hash, case_id,
        item_code, mode, fields, outcome, reason, grant_id, basis, latency_ms, prev_hash, hash, n)
    WHERE EXISTS (SELECT FROM head)
    ORDER BY v.n
), events AS (
    INSERT INTO outbox (event_id, topic, key, sequence, envelope, created_at, attempts)
    SELECT v.event_id, v.topic, v.key, v.sequence, v.envelope::json, v.created_at, v.attempts
    FROM unnest($24::text[], $25::text[], $26::text[], $27::bigint[], $28::text[],
        $29::timestamptz[], $30::integer[])
        WITH ORDINALITY AS v(event_id, topic, key, sequence, envelope, created_at, attempts, n)
    WHERE EXISTS (SELECT FROM head)
    ORDER BY v.n
)
SELECT count(*) FROM head
"""


def _column(rows: Sequence[dict[str, Any]], name: str, kind: str) -> list[Any]:
    if kind == "json":
        return [json.dumps(row[name], ensure_ascii=False, separators=(",", ":")) for row in rows]
    return [row[name] for row in rows]


async def append_at_head(
    conn: Any, head: tuple[int, str], chained: Sequence[dict[str, Any]], outbox: Sequence[dict[str, Any]]
) -> bool:
    """On PostgreSQL, in one autocommitted statement on an asyncpg connection: append entries already
    chained after ``head`` and their outbox rows; False (nothing written) if the head has moved on."""
    last = chained[-1]
    args: list[Any] = [last["seq"], last["hash"], utcnow(), head[0], head[1]]
    args += [_column(chained, name, kind) for name, kind in LOG_COLUMNS]
    args += [_column(outbox, name, kind) for name, kind in OUTBOX_COLUMNS]
    return bool(await conn.fetchval(APPEND_AT_HEAD, *args))
