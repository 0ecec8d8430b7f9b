"""The one-statement log append writes every column of the log and of the kit's outbox, in order."""

from __future__ import annotations

import re

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.adapters.orm import AuditRow
from tongban_contracts import EventEnvelope
from tongban_kit.outbox import OutboxMessage, outbox_values


def _insert_columns(table: str) -> list[str]:
    match = re.search(rf"INSERT INTO {table} \(([^)]*)\)", repo.APPEND_AT_HEAD)
    assert match is not None
    return [c.strip() for c in match.group(1).split(",")]


def test_log_columns_are_the_tables_and_the_statements() -> None:
    names = [name for name, _ in repo.LOG_COLUMNS]
    assert set(names) == {c.name for c in AuditRow.__table__.columns}
    assert _insert_columns("exchange_log") == names


def test_outbox_columns_are_what_the_kit_writes() -> None:
    event = EventEnvelope(id="e", type="t", source="s", subject="k", sequence=1, data={})
    names = [name for name, _ in repo.OUTBOX_COLUMNS]
    assert set(names) == set(outbox_values("topic", event))
    assert set(names) <= {c.name for c in OutboxMessage.__table__.columns}
    assert _insert_columns("outbox") == names


def test_every_column_has_its_own_array_parameter() -> None:
    count = len(repo.LOG_COLUMNS) + len(repo.OUTBOX_COLUMNS)
    params = [int(p) for p in re.findall(r"\$(\d+)::\w+\[\]", repo.APPEND_AT_HEAD)]
    assert params == list(range(6, 6 + count))
    kinds = re.findall(r"\$\d+::(\w+)\[\]", repo.APPEND_AT_HEAD)
    expected = [k for _, k in repo.LOG_COLUMNS + repo.OUTBOX_COLUMNS]
    assert kinds == ["text" if k == "json" else k for k in expected]
