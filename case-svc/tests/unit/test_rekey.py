"""Field-key rotation for case-svc: cases and liaison messages filed under the old key are moved to the new one."""

from __future__ import annotations

import pytest
from case_api import ID_NUMBER, CaseApp, case_body
from case_factories import HANDLING, RECEIVING
from case_svc.adapters.orm import CaseRow, MessageRow
from case_svc.entrypoints.rekey import ENCRYPTED
from sqlalchemy import select
from tongban_kit.crypto import DecryptionError, FieldCipher
from tongban_kit.rekey import rekey

OLD = "old:b2xkLWNhc2Uta2V5LW9sZC1jYXNlLWtleS1vbGQtY2FzZQ"
NEW = "new:bmV3LWNhc2Uta2V5LW5ldy1jYXNlLWtleS1uZXctY2FzZQ"


@pytest.fixture
def old_key_app(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> CaseApp:
    """The in-process app (conftest's case_app) with the old key as the only field key."""
    monkeypatch.setenv("TONGBAN_FIELD_KEY", OLD)
    app: CaseApp = request.getfixturevalue("case_app")
    return app


async def test_rotation_moves_cases_and_messages_to_the_new_key(old_key_app: CaseApp) -> None:
    app = old_key_app
    case = (await app.platform(RECEIVING).post("/v1/cases", case_body())).json()
    sent = await app.platform(HANDLING).post(f"/v1/cases/{case['id']}/messages", {"body": "请补充户口簿"})
    assert sent.status_code == 201
    factory = app.app.state.runtime.session_factory
    reports = await rekey(factory, FieldCipher(f"{NEW},{OLD}"), ENCRYPTED)
    assert [(r.table, r.rows_rewritten) for r in reports] == [("cases", 1), ("case_messages", 1)]
    new_only, old_only = FieldCipher(NEW), FieldCipher(OLD)
    async with factory() as session:
        row = (await session.execute(select(CaseRow))).scalar_one()
        message = (await session.execute(select(MessageRow))).scalar_one()
    assert new_only.decrypt(row.applicant_id_enc, row.id.encode()) == ID_NUMBER
    assert new_only.decrypt(message.body_enc, row.id.encode()) == "请补充户口簿"
    with pytest.raises(DecryptionError):
        old_only.decrypt(row.applicant_id_enc, row.id.encode())
    assert all(r.rows_rewritten == 0 for r in await rekey(factory, FieldCipher(f"{NEW},{OLD}"), ENCRYPTED))
