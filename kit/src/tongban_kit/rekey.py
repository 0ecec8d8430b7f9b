"""Re-encryption of personal data at rest under the active field key, so a retired key can leave the ring.

Rotation is: put the new key first in ``TONGBAN_FIELD_KEY`` (``new:…,old:…``) and roll the services
(new rows use it, old rows still decrypt), run each service's ``rekey`` entrypoint until it reports
nothing left under another key, then drop the old key from the ring.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, CursorResult, RowMapping, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tongban_kit.crypto import DecryptionError, FieldCipher
from tongban_kit.db import make_engine, make_session_factory
from tongban_kit.settings import ServiceSettings


@dataclass(frozen=True)
class EncryptedColumns:
    """Columns of one mapped table that hold FieldCipher text, and the associated data of each row."""

    model: type[Any]
    columns: tuple[str, ...]
    associated: Callable[[RowMapping], bytes]
    associated_columns: tuple[str, ...] = ()

    @property
    def table(self) -> Table:
        """The mapped class's table."""
        table: Table = self.model.__table__
        return table

    @property
    def key(self) -> Column[Any]:
        """The table's single-column primary key (batches are walked in its order)."""
        (column,) = self.table.primary_key.columns
        return column


@dataclass
class RekeyReport:
    """What one pass did for one table."""

    table: str
    rows_read: int = 0
    rows_rewritten: int = 0
    values_rewritten: int = 0
    rows_changed_meanwhile: int = 0


def uncovered_columns(tables: Sequence[Table], specs: Sequence[EncryptedColumns]) -> set[str]:
    """Columns named like ciphertext (``*_enc``, ``*_encrypted``, ``private_jwk``) that no spec lists."""
    covered = {f"{spec.table.name}.{c}" for spec in specs for c in spec.columns}
    named = {
        f"{table.name}.{column.name}"
        for table in tables
        for column in table.columns
        if column.name.endswith(("_enc", "_encrypted")) or column.name == "private_jwk"
    }
    return named - covered


async def rekey_table(
    session_factory: async_sessionmaker[AsyncSession],
    cipher: FieldCipher,
    spec: EncryptedColumns,
    *,
    batch: int = 500,
) -> RekeyReport:
    """Rewrite every value of the table not under the active key and cipher, a batch per transaction."""
    report = RekeyReport(spec.table.name)
    key = spec.key
    wanted = [key, *(spec.table.c[c] for c in (*spec.associated_columns, *spec.columns))]
    last: Any = None
    while True:
        query = select(*wanted).order_by(key).limit(batch)
        if last is not None:
            query = query.where(key > last)
        async with session_factory() as session:
            rows = (await session.execute(query)).mappings().all()
            if not rows:
                break
            for row in rows:
                report.rows_read += 1
                associated = spec.associated(row)
                changes = {}
                for name in spec.columns:
                    value = row[name]
                    if value is not None:
                        try:
                            fresh = cipher.reencrypt(value, associated)
                        except DecryptionError as exc:
                            # Tampered, or sealed for another row: stop and say where, change nothing more.
                            where = f"{spec.table.name}.{name} of {row[key.name]}"
                            raise DecryptionError(f"{where}: {exc}") from exc
                        if fresh != value:
                            changes[name] = fresh
                if not changes:
                    continue
                # Only where the values are still those read: a concurrent write used the active key.
                result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
                    update(spec.table)
                    .where(key == row[key.name], *(spec.table.c[n] == row[n] for n in changes))
                    .values(**changes)
                )
                if result.rowcount:
                    report.rows_rewritten += 1
                    report.values_rewritten += len(changes)
                else:
                    report.rows_changed_meanwhile += 1
            await session.commit()
            last = rows[-1][key.name]
    return report


async def rekey(
    session_factory: async_sessionmaker[AsyncSession],
    cipher: FieldCipher,
    specs: Sequence[EncryptedColumns],
    *,
    batch: int = 500,
) -> list[RekeyReport]:
    """Re-encrypt every listed table; one report per table."""
    return [await rekey_table(session_factory, cipher, spec, batch=batch) for spec in specs]


def main(
    settings: ServiceSettings, specs: Sequence[EncryptedColumns], argv: Sequence[str] | None = None
) -> int:
    """Command line of a service's ``rekey`` entrypoint: print a JSON report per table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batch", type=int, default=500, help="rows per transaction")
    args = parser.parse_args(argv)

    async def run() -> list[RekeyReport]:
        engine = make_engine(settings.database_url)
        try:
            cipher = FieldCipher(settings.field_key, settings.field_cipher)
            return await rekey(make_session_factory(engine), cipher, specs, batch=args.batch)
        finally:
            await engine.dispose()

    for report in asyncio.run(run()):
        print(json.dumps(report.__dict__, ensure_ascii=False))
    return 0
