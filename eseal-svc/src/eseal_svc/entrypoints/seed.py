"""Start-up data: the licence-type registry always; in dev and test, trusted issuers and their seals.

The dev seed gives three provinces an issuing organisation each (the platform organisations of
identity-svc's dev realm, ESEAL_DEV_ORGS), recognises them for a few licence types, and makes one
SM2 seal per organisation, so that a licence sealed in one province can be verified in another.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from tongban_contracts.reference import PROVINCES

from eseal_svc.adapters.orm import SealRow
from eseal_svc.domain.commands import CreateSeal, RegisterTrustedIssuer
from eseal_svc.domain.model import SealAlgorithm, SealType
from eseal_svc.service_layer.context import EsealContext
from eseal_svc.service_layer.registry import register_issuer, seed_licence_types
from eseal_svc.service_layer.seals import create_seal

log = structlog.get_logger("eseal.seed")
SEED_ACTOR = {"client_id": "eseal-svc"}
SEED_SEAL_YEARS = 5

DEV_TRUST: dict[str, tuple[str, ...]] = {
    "310000": ("household_registration_proof", "residence_permit"),
    "110000": ("household_registration_proof", "vocational_qualification_certificate", "business_licence"),
    "440000": ("household_registration_proof", "vocational_qualification_certificate", "business_licence"),
}


def dev_org_name(region: str) -> str:
    """The name of a region's dev issuing organisation (as identity-svc names the platform)."""
    return f"{PROVINCES.get(region, region)}政务服务平台"


async def seed(ctx: EsealContext) -> None:
    """Licence types always; the dev issuers and seals in dev and test when ESEAL_SEED is on."""
    async with ctx.uow() as uow:
        await seed_licence_types(uow)
        await uow.commit()
    settings = ctx.settings
    if not (settings.is_dev and settings.seed):
        return
    for region, types in DEV_TRUST.items():
        uscc = settings.dev_orgs.get(region)
        if uscc is None or region[:2] + "0000" not in ctx.keyring.provinces:
            continue
        async with ctx.uow() as uow:
            await register_issuer(
                RegisterTrustedIssuer(
                    uscc=uscc, region=region, org_name=dev_org_name(region), licence_types=frozenset(types)
                ),
                uow=uow,
                actor=SEED_ACTOR,
            )
            has_seal = (
                await uow.session.execute(
                    select(SealRow.id).where(SealRow.uscc == uscc, SealRow.region == region).limit(1)
                )
            ).first()
            if has_seal is None:
                now = ctx.clock()
                row = await create_seal(
                    CreateSeal(
                        org_name=dev_org_name(region),
                        uscc=uscc,
                        region=region,
                        seal_type=SealType.OFFICIAL,
                        algorithm=SealAlgorithm.SM2_SM3,
                        valid_from=now,
                        valid_to=now + timedelta(days=365 * SEED_SEAL_YEARS),
                    ),
                    ctx=ctx,
                    uow=uow,
                    actor=SEED_ACTOR,
                )
                log.info("dev seal seeded", region=region, uscc=uscc, seal_id=row.id)
            await uow.commit()
