"""Dev and test seed: the six sandbox providers as resources, and household-registration grants."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from tongban_kit.db import utcnow

from data_exchange_svc.adapters import repository as repo
from data_exchange_svc.adapters.orm import GrantRow
from data_exchange_svc.config import Settings
from data_exchange_svc.domain.commands import IssueGrant, RegisterResource
from data_exchange_svc.domain.model import Mode
from data_exchange_svc.sandbox.catalogue import PROVIDERS
from data_exchange_svc.service_layer import handlers
from data_exchange_svc.service_layer.queries import UowFactory

log = structlog.get_logger("exchange.seed")
SEED_ACTOR = {"client_id": "svc-exchange"}
HOUSEHOLD_FIELDS = frozenset(
    {
        "name",
        "gender",
        "birth_date",
        "household_address",
        "household_type",
        "household_head_name",
        "relation_to_head",
        "marital_status",
        "registration_authority",
        "registered_since",
    }
)
HOUSEHOLD_MASKED = frozenset({"household_head_name"})


async def seed_dev(uow_factory: UowFactory, settings: Settings) -> None:
    """Register the sandbox providers and grant the platforms household data for 户口迁移 items."""
    base = settings.sandbox_url.rstrip("/")
    for spec in PROVIDERS.values():
        async with uow_factory() as uow:
            if await repo.get_resource(uow.session, spec.code) is not None:
                continue
            cmd = RegisterResource(
                code=spec.code,
                name=spec.name,
                provider_name=spec.provider_name,
                provider_uscc=spec.provider_uscc,
                region=None,  # national systems
                domain=spec.domain,
                endpoint_url=f"{base}/providers/{spec.code}",
                fields=spec.fields,
                supports=spec.supports,
                timeout_ms=settings.provider_timeout_ms,
            )
            await handlers.register_resource(cmd, uow=uow, settings=settings, actor=SEED_ACTOR)
            try:
                await uow.commit()
            except IntegrityError:  # another replica seeded it first
                await uow.rollback()
    async with uow_factory() as uow:
        household = await repo.get_resource(uow.session, "household-registration")
        assert household is not None
        for client_id in settings.seed_platforms:
            existing = await uow.session.execute(
                select(GrantRow.id).where(
                    GrantRow.client_id == client_id, GrantRow.resource_id == household.id
                )
            )
            if existing.first() is not None:
                continue
            await handlers.issue_grant(
                IssueGrant(
                    client_id=client_id,
                    resource_id=household.id,
                    items=frozenset(settings.seed_household_items),
                    allowed_fields=HOUSEHOLD_FIELDS,
                    masked_fields=HOUSEHOLD_MASKED,
                    modes=frozenset({Mode.SHARE, Mode.VERIFY}),
                    rate_limit_per_minute=6000,
                    expires_at=utcnow() + timedelta(days=365),
                    statutory_basis=None,
                ),
                uow=uow,
                settings=settings,
                actor=SEED_ACTOR,
            )
        await uow.commit()
    log.info("dev seed ready", providers=len(PROVIDERS), platforms=len(settings.seed_platforms))
