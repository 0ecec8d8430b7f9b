"""Re-encryption under the active field key, on SQLite with a table of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from tongban_kit.crypto import DecryptionError, FieldCipher
from tongban_kit.db import make_engine, make_session_factory
from tongban_kit.rekey import EncryptedColumns, rekey, uncovered_columns

OLD, NEW = "old:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleQ", "new:bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleQ"


class _Base(DeclarativeBase):
    pass


class Person(_Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_enc: Mapped[str] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


SPEC = EncryptedColumns(Person, ("name_enc", "phone_enc"), lambda row: str(row["id"]).encode())


@pytest.fixture
async def factory(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/rekey.db")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield make_session_factory(engine)
    await engine.dispose()


async def test_rekey_moves_every_value_to_the_active_key_and_is_idempotent(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    old = FieldCipher(OLD)
    async with factory() as s:
        for i in range(7):
            pid = f"p{i}"
            phone = old.encrypt(f"1380000000{i}", pid.encode()) if i % 2 else None
            s.add(Person(id=pid, name_enc=old.encrypt(f"张{i}", pid.encode()), phone_enc=phone))
        await s.commit()
    rotated = FieldCipher(f"{NEW},{OLD}")
    [report] = await rekey(factory, rotated, [SPEC], batch=3)  # three batches
    assert (report.rows_read, report.rows_rewritten, report.values_rewritten) == (7, 7, 10)
    new_only = FieldCipher(NEW)
    async with factory() as s:
        rows = (await s.execute(select(Person).order_by(Person.id))).scalars().all()
    assert [new_only.decrypt(r.name_enc, r.id.encode()) for r in rows] == [f"张{i}" for i in range(7)]
    assert new_only.decrypt(rows[1].phone_enc or "", b"p1") == "13800000001" and rows[0].phone_enc is None
    with pytest.raises(DecryptionError):
        old.decrypt(rows[0].name_enc, b"p0")  # the old key alone no longer opens anything
    [again] = await rekey(factory, rotated, [SPEC])
    assert (again.rows_read, again.rows_rewritten) == (7, 0)


async def test_a_value_sealed_for_another_row_is_not_rewritten_but_refused(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    old = FieldCipher(OLD)
    async with factory() as s:
        s.add(Person(id="p1", name_enc=old.encrypt("张三", b"p2")))  # moved from another row
        await s.commit()
    with pytest.raises(DecryptionError, match=r"people\.name_enc of p1"):
        await rekey(factory, FieldCipher(f"{NEW},{OLD}"), [SPEC])
    async with factory() as s:
        row = (await s.execute(select(Person))).scalar_one()
    assert FieldCipher(OLD).decrypt(row.name_enc, b"p2") == "张三"  # untouched


def test_columns_named_like_ciphertext_must_be_listed() -> None:
    assert uncovered_columns([Person.__table__], [SPEC]) == set()  # type: ignore[list-item]
    partial = EncryptedColumns(Person, ("name_enc",), SPEC.associated)
    assert uncovered_columns([Person.__table__], [partial]) == {"people.phone_enc"}  # type: ignore[list-item]


def test_the_command_prints_a_report_per_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import json

    from tongban_kit.rekey import main
    from tongban_kit.settings import ServiceSettings

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"

    async def prepare() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(_Base.metadata.create_all)
        async with make_session_factory(engine)() as s:
            s.add(Person(id="p1", name_enc=FieldCipher(OLD).encrypt("李四", b"p1")))
            await s.commit()
        await engine.dispose()

    asyncio.run(prepare())
    settings = ServiceSettings(env="test", database_url=url, field_key=f"{NEW},{OLD}")
    assert main(settings, [SPEC], ["--batch", "10"]) == 0
    report = json.loads(capsys.readouterr().out.strip())
    assert report == {
        "table": "people",
        "rows_read": 1,
        "rows_rewritten": 1,
        "values_rewritten": 1,
        "rows_changed_meanwhile": 0,
    }
