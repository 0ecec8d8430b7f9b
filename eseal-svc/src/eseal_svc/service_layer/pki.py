"""The hosted provinces' seal CAs: created and registered as trust anchors on first start, then loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tongban_contracts.reference import PROVINCES
from tongban_kit.ids import new_id
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.crypto.ca import create_deployment_pki, describe_certificate
from eseal_svc.adapters.keyring import Keyring, WrappedPki
from eseal_svc.adapters.orm import PkiRow, TrustAnchorRow
from eseal_svc.domain.model import SealAlgorithm

log = structlog.get_logger("eseal.pki")
OPERATOR = "Tongban"


def anchor_row(*, region: str, certificate: bytes, source: str, actor: dict[str, str]) -> TrustAnchorRow:
    """A trust-anchor row for a root certificate."""
    info = describe_certificate(certificate)
    return TrustAnchorRow(
        id=new_id(),
        region=region,
        certificate=certificate,
        fingerprint_sha256=hashlib.sha256(certificate).hexdigest(),
        subject=info.subject[:1000],
        algorithm=info.public_key_algorithm.value if info.public_key_algorithm else None,
        not_after=info.not_after,
        source=source,
        actor=actor,
    )


async def _load_or_create(
    uow_factory: Callable[[], UnitOfWork],
    keyring: Keyring,
    province: str,
    algorithm: SealAlgorithm,
    now: datetime,
) -> None:
    for _ in range(2):
        async with uow_factory() as uow:
            row = (
                await uow.session.execute(
                    select(PkiRow).where(PkiRow.region == province, PkiRow.algorithm == algorithm.value)
                )
            ).scalar_one_or_none()
            if row is not None:
                keyring.load_pki(
                    row.id,
                    province,
                    WrappedPki(row.root_certificate, row.root_key, row.maker_certificate, row.maker_key),
                )
                return
            pki_id = new_id()
            pki = create_deployment_pki(
                algorithm=algorithm,
                region=province,
                operator=f"{OPERATOR} {PROVINCES.get(province, province)}",
                now=now,
            )
            wrapped = keyring.wrap_pki(pki_id, pki)
            uow.session.add(
                PkiRow(
                    id=pki_id,
                    region=province,
                    algorithm=algorithm.value,
                    root_certificate=wrapped.root_certificate,
                    root_key=wrapped.root_key,
                    maker_certificate=wrapped.maker_certificate,
                    maker_key=wrapped.maker_key,
                )
            )
            uow.session.add(
                anchor_row(
                    region=province,
                    certificate=pki.trust_anchor,
                    source="local",
                    actor={"client_id": "eseal-svc"},
                )
            )
            try:
                await uow.commit()
            except IntegrityError:
                # Another replica created it first; read theirs.
                await uow.rollback()
                continue
            keyring.load_pki(pki_id, province, wrapped)
            log.info("seal CA created", region=province, algorithm=algorithm.value, pki_id=pki_id)
            return
    raise RuntimeError(f"could not create or load the {algorithm.value} CA of {province}")


async def ensure_pkis(
    uow_factory: Callable[[], UnitOfWork], keyring: Keyring, provinces: list[str], now: datetime
) -> None:
    """Load every hosted province's CAs (one per algorithm), creating the missing ones."""
    for province in provinces:
        for algorithm in SealAlgorithm:
            await _load_or_create(uow_factory, keyring, province, algorithm, now)
