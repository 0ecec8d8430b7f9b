"""Persistence of the Case aggregate: conditional UPDATE on its version, sequences from its own row."""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_contracts.reference import Audience, HandlingMode
from tongban_kit.crypto import FieldCipher
from tongban_kit.db import utcnow

from case_svc.adapters.orm import CasePartyRow, CaseRow, CorrectionRow, HistoryRow, TaskRow
from case_svc.domain.model import (
    Applicant,
    Case,
    CaseEvent,
    Correction,
    CorrectionItem,
    Deadline,
    DeadlineKind,
    Decision,
    Delivery,
    DeliveryMethod,
    ItemPolicy,
    MaterialRef,
    MaterialSource,
    PauseKind,
    PauseRecord,
    Task,
)
from case_svc.domain.state_machine import CaseStatus


def _table(model: type[Any]) -> Table:
    """The Core table of a mapped class."""
    table: Table = model.__table__
    return table


class StaleCase(Exception):
    """The case changed since it was read (the conditional UPDATE matched no row)."""


@dataclass(frozen=True)
class PrivateFields:
    """Personal data stored encrypted beside the case, given to the case's parties only."""

    id_number: str
    name: str
    address: str | None
    form: dict[str, Any]


@functools.lru_cache(maxsize=1024)
def _policy_to_json(policy: ItemPolicy) -> dict[str, Any]:
    # Every case of an item version pins an equal policy: convert it once (callers never mutate it).
    return dataclasses.asdict(policy)


def _policy_from_json(data: dict[str, Any]) -> ItemPolicy:
    values = dict(data)
    values["joint_roles"] = tuple(values.get("joint_roles") or ())
    values["material_codes"] = tuple(values.get("material_codes") or ())
    return ItemPolicy(**values)


def _material_to_json(ref: MaterialRef) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(ref).items() if v is not None} | {"source": ref.source.value}


def _material_from_json(data: dict[str, Any]) -> MaterialRef:
    return MaterialRef(
        code=data["code"],
        source=MaterialSource(data["source"]),
        sha256=data.get("sha256"),
        file_name=data.get("file_name"),
        licence_id=data.get("licence_id"),
        exchange_ref=data.get("exchange_ref"),
    )


def _pause_to_json(pause: PauseRecord) -> dict[str, Any]:
    return {
        "kind": pause.kind.value,
        "started_on": pause.started_on.isoformat(),
        "ended_on": pause.ended_on.isoformat() if pause.ended_on else None,
        "reason": pause.reason,
        "working_days": pause.working_days,
    }


def _pause_from_json(data: dict[str, Any]) -> PauseRecord:
    return PauseRecord(
        kind=PauseKind(data["kind"]),
        started_on=date.fromisoformat(data["started_on"]),
        reason=data.get("reason"),
        ended_on=date.fromisoformat(data["ended_on"]) if data.get("ended_on") else None,
        working_days=data.get("working_days"),
    )


def _actor_json(case_event_actor: Any) -> dict[str, Any] | None:
    return case_event_actor.record() if case_event_actor is not None else None


class CaseRepository:
    """Loads and saves cases inside one unit of work."""

    def __init__(self, session: AsyncSession, cipher: FieldCipher) -> None:
        self.session = session
        self.cipher = cipher
        self._loaded: dict[str, tuple[CaseStatus, int, set[str], set[int]]] = {}
        self._rows: dict[str, CaseRow] = {}

    # --- reading --------------------------------------------------------------------------------

    async def get(self, case_id: str) -> Case | None:
        """The case with its tasks and corrections, or None."""
        row = await self.session.get(CaseRow, case_id, populate_existing=True)
        if row is None:
            return None
        tasks = (
            (
                await self.session.execute(
                    select(TaskRow).where(TaskRow.case_id == case_id).order_by(TaskRow.role)
                )
            )
            .scalars()
            .all()
        )
        corrections = (
            (
                await self.session.execute(
                    select(CorrectionRow)
                    .where(CorrectionRow.case_id == case_id)
                    .order_by(CorrectionRow.round)
                )
            )
            .scalars()
            .all()
        )
        case = self._to_domain(row, list(tasks), list(corrections))
        self._rows[case_id] = row
        self._loaded[case_id] = (
            case.status,
            len(case.corrections),
            {t.id for t in case.tasks if t.done},
            {c.round for c in case.corrections if c.resolved_at is not None},
        )
        return case

    def private_fields(self, case_id: str) -> PrivateFields:
        """Decrypt the applicant's personal data of a case loaded by ``get`` or ``add``."""
        row = self._rows[case_id]
        aad = row.id.encode()
        return PrivateFields(
            id_number=self.cipher.decrypt(row.applicant_id_enc, aad),
            name=self.cipher.decrypt(row.applicant_name_enc, aad),
            address=self.cipher.decrypt(row.delivery_address_enc, aad) if row.delivery_address_enc else None,
            form=json.loads(self.cipher.decrypt(row.form_enc, aad)) if row.form_enc else {},
        )

    def _to_domain(self, row: CaseRow, tasks: list[TaskRow], corrections: list[CorrectionRow]) -> Case:
        policy = _policy_from_json(row.policy)
        deadlines: dict[DeadlineKind, Deadline] = {}
        if row.statutory_due is not None:
            deadlines[DeadlineKind.STATUTORY] = Deadline(
                DeadlineKind.STATUTORY,
                policy.statutory_limit_days,
                row.statutory_due,
                row.statutory_provisional,
            )
        if row.promised_due is not None:
            deadlines[DeadlineKind.PROMISED] = Deadline(
                DeadlineKind.PROMISED, policy.promised_limit_days, row.promised_due, row.promised_provisional
            )
        return Case(
            id=row.id,
            number=row.number,
            policy=policy,
            mode=HandlingMode(row.mode),
            receiving_region=row.receiving_region,
            handling_region=row.handling_region,
            applicant=Applicant(
                kind=Audience(row.applicant_kind),
                name="",  # decrypted only when a party reads the case
                subject_hash=row.subject_hash,
                masked_id=row.masked_id,
            ),
            materials=[_material_from_json(m) for m in row.materials],
            delivery=Delivery(
                DeliveryMethod(row.delivery_method), has_address=row.delivery_address_enc is not None
            ),
            submitted_at=row.submitted_at,
            participants=dict(row.participants or {}),
            status=CaseStatus(row.status),
            resume_status=CaseStatus(row.resume_status) if row.resume_status else None,
            tasks=[
                Task(
                    id=t.id,
                    role=t.role,
                    region=t.region,
                    done=t.done,
                    completed_at=t.completed_at,
                    outcome=t.outcome,
                    note=t.note,
                )
                for t in tasks
            ],
            corrections=[
                Correction(
                    round=c.round,
                    items=tuple(
                        CorrectionItem(i["material_code"], i["problem"], i.get("note")) for i in c.items
                    ),
                    due_on=c.due_on,
                    requested_at=c.requested_at,
                    after_acceptance=c.after_acceptance,
                    note=c.note,
                    resolved_at=c.resolved_at,
                )
                for c in corrections
            ],
            pauses=[_pause_from_json(p) for p in row.pauses or []],
            deadlines=deadlines,
            extension_days=row.extension_days,
            transferred_at=row.transferred_at,
            transfer=dict(row.transfer or {}),
            accepted_at=row.accepted_at,
            accepted_on=row.accepted_on,
            concluded_at=row.concluded_at,
            decision=Decision(row.decision) if row.decision else None,
            result=dict(row.result or {}),
            handling_working_days=row.handling_working_days,
            on_time=row.on_time,
            delivered_at=row.delivered_at,
            delivery_proof=dict(row.delivery_proof or {}),
            closed_at=row.closed_at,
            rating=row.rating,
            version=row.version,
        )

    # --- writing --------------------------------------------------------------------------------

    def _state_values(self, case: Case) -> dict[str, Any]:
        statutory = case.deadlines.get(DeadlineKind.STATUTORY)
        promised = case.deadlines.get(DeadlineKind.PROMISED)
        return {
            "status": case.status.value,
            "resume_status": case.resume_status.value if case.resume_status else None,
            "materials": [_material_to_json(m) for m in case.materials],
            "pauses": [_pause_to_json(p) for p in case.pauses],
            "extension_days": case.extension_days,
            "correction_rounds": len(case.corrections),
            "accepted_on": case.accepted_on,
            "statutory_due": statutory.due_on if statutory else None,
            "statutory_provisional": statutory.provisional if statutory else False,
            "promised_due": promised.due_on if promised else None,
            "promised_provisional": promised.provisional if promised else False,
            "transferred_at": case.transferred_at,
            "accepted_at": case.accepted_at,
            "concluded_at": case.concluded_at,
            "delivered_at": case.delivered_at,
            "closed_at": case.closed_at,
            "transfer": case.transfer,
            "transfer_seconds": (
                int((case.transferred_at - case.submitted_at).total_seconds())
                if case.transferred_at
                else None
            ),
            "decision": case.decision.value if case.decision else None,
            "result": case.result,
            "handling_working_days": case.handling_working_days,
            "on_time": case.on_time,
            "delivery_proof": case.delivery_proof,
            "rating": case.rating,
        }

    async def add(
        self,
        case: Case,
        *,
        id_number: str,
        name: str,
        address: str | None,
        form: dict[str, Any],
        submitted_by: dict[str, Any],
    ) -> list[tuple[int, CaseEvent]]:
        """Insert a new case; its events get sequences 1..n from its own counter."""
        events = case.pull_events()
        aad = case.id.encode()
        values = {
            "id": case.id,
            "number": case.number,
            "basic_code": case.policy.basic_code,
            "item_version": case.policy.version,
            "mode": case.mode.value,
            "receiving_region": case.receiving_region,
            "handling_region": case.handling_region,
            "applicant_kind": case.applicant.kind.value,
            "applicant_name_enc": self.cipher.encrypt(name, aad),
            "applicant_id_enc": self.cipher.encrypt(id_number, aad),
            "subject_hash": case.applicant.subject_hash,
            "masked_id": case.applicant.masked_id,
            "submitted_by": submitted_by,
            "delivery_method": case.delivery.method.value,
            "delivery_address_enc": self.cipher.encrypt(address, aad) if address else None,
            "form_enc": self.cipher.encrypt(json.dumps(form, ensure_ascii=False), aad) if form else None,
            "policy": _policy_to_json(case.policy),
            "participants": case.participants,
            "submitted_at": case.submitted_at,
            "version": 1,
            "event_sequence": len(events),
            "updated_at": case.submitted_at,
            **self._state_values(case),
        }
        parties: dict[str, dict[str, Any]] = {}
        for region, flag in [
            (case.receiving_region, "is_receiving"),
            (case.handling_region, "is_handling"),
        ] + [(r, "is_participant") for r in case.participants.values()]:
            party = parties.setdefault(
                region,
                {
                    "region": region,
                    "case_id": case.id,
                    "status": case.status.value,
                    "is_receiving": False,
                    "is_handling": False,
                    "is_participant": False,
                },
            )
            party[flag] = True
        # Core inserts, parent first: a submission is the hot path and needs no ORM identity map.
        await self.session.execute(_table(CaseRow).insert(), [values])
        await self.session.execute(_table(CasePartyRow).insert(), list(parties.values()))
        if case.tasks:
            await self.session.execute(
                _table(TaskRow).insert(),
                [
                    {"id": t.id, "case_id": case.id, "role": t.role, "region": t.region, "done": False}
                    for t in case.tasks
                ],
            )
        await self._add_history(case)
        return list(enumerate(events, start=1))

    async def _add_history(self, case: Case) -> None:
        if not case.history:
            return
        await self.session.execute(
            _table(HistoryRow).insert(),
            [
                {
                    "case_id": case.id,
                    "action": h.action,
                    "from_status": h.from_status.value if h.from_status else None,
                    "to_status": h.to_status.value,
                    "actor": _actor_json(h.actor),
                    "reason": h.reason,
                    "details": json.loads(json.dumps(h.details, default=str)),
                    "at": h.at,
                }
                for h in case.history
            ],
        )
        case.history.clear()

    async def save(
        self, case: Case, expected_version: int, now: datetime | None = None
    ) -> list[tuple[int, CaseEvent]]:
        """Write the changed case if still at ``expected_version``; return its events with sequences."""
        events = case.pull_events()
        n = len(events)
        stmt = (
            update(CaseRow)
            .where(CaseRow.id == case.id, CaseRow.version == expected_version)
            .values(
                **self._state_values(case),
                version=CaseRow.version + 1,
                event_sequence=CaseRow.event_sequence + n,
                updated_at=now or utcnow(),
            )
            .returning(CaseRow.event_sequence, CaseRow.version)
            .execution_options(synchronize_session=False)
        )
        result = (await self.session.execute(stmt)).first()
        if result is None:
            raise StaleCase(case.id)
        last, version = int(result[0]), int(result[1])
        case.version = version
        loaded_status, loaded_corrections, done_tasks, resolved = self._loaded.get(
            case.id, (case.status, len(case.corrections), set(), set())
        )
        if case.status != loaded_status:
            await self.session.execute(
                update(CasePartyRow)
                .where(CasePartyRow.case_id == case.id)
                .values(status=case.status.value)
                .execution_options(synchronize_session=False)
            )
        for task in case.tasks:
            if task.done and task.id not in done_tasks:
                await self.session.execute(
                    update(TaskRow)
                    .where(TaskRow.id == task.id)
                    .values(done=True, completed_at=task.completed_at, outcome=task.outcome, note=task.note)
                    .execution_options(synchronize_session=False)
                )
        for correction in case.corrections[loaded_corrections:]:
            self.session.add(
                CorrectionRow(
                    case_id=case.id,
                    round=correction.round,
                    items=[dataclasses.asdict(i) for i in correction.items],
                    due_on=correction.due_on,
                    note=correction.note,
                    after_acceptance=correction.after_acceptance,
                    requested_at=correction.requested_at,
                    resolved_at=correction.resolved_at,
                )
            )
        for correction in case.corrections[:loaded_corrections]:
            if correction.resolved_at is not None and correction.round not in resolved:
                await self.session.execute(
                    update(CorrectionRow)
                    .where(CorrectionRow.case_id == case.id, CorrectionRow.round == correction.round)
                    .values(resolved_at=correction.resolved_at)
                    .execution_options(synchronize_session=False)
                )
        await self._add_history(case)
        return list(zip(range(last - n + 1, last + 1), events, strict=True))
