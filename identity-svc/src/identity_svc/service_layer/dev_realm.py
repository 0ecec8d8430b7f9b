"""The dev realm: provincial platforms, a ministry, an admin, the mesh's service clients, demo citizens.

Created on start only with TONGBAN_ENV=dev or test. Every name here is relied on by other services'
tests and by `make run`; change them only together with those.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import select
from tongban_contracts.reference import PROVINCES
from tongban_kit.identifiers import uscc_check_char
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters import totp
from identity_svc.adapters.orm import ClientRow, LegalPersonRow, NaturalPersonRow
from identity_svc.adapters.repository import person_by_username
from identity_svc.domain.accounts import RepresentativeRole
from identity_svc.domain.assurance import Level
from identity_svc.domain.clients import AuthMethod, ClientKind
from identity_svc.service_layer.accounts import (
    RegisterLegalPerson,
    RegisterPerson,
    register_legal_person,
    register_person,
)
from identity_svc.service_layer.clients import RegisterClient, register_client
from identity_svc.service_layer.context import IdentityContext

PLATFORM_REGIONS = ("110000", "310000", "440000", "320000", "330000", "510000")
PLATFORM_SECRET = "dev-platform-secret"
MINISTRY_SECRET = "dev-ministry-secret"
ADMIN_SECRET = "dev-admin-secret"
DEV_SERVICE_SECRET = "dev-service-secret"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
PLATFORM_SCOPES = [
    "catalogue:implement",
    "cases:submit",
    "cases:handle",
    "cases:read",
    "exchange:query",
    "eseal:sign",
    "eseal:verify",
]
PLATFORM_GRANTS = ["client_credentials", "authorization_code", "refresh_token", "token-exchange"]
SERVICE_PREFIXES = {
    "catalogue": "CATALOGUE_",
    "case": "CASE_",
    "identity": "IDENTITY_",
    "eseal": "ESEAL_",
    "exchange": "EXCHANGE_",
    "gateway": "GATEWAY_",
}
SERVICE_SCOPES = {"case": ["cases:read"], "exchange": ["cases:read"], "eseal": ["eseal:verify"]}
DEMO_PASSWORD = "Demo-pass-2026"
LISI_TOTP_SECRET = "TONGBANDEVLISITOTPSECRETABCDEFGH"
WANGWU_TOTP_SECRET = "TONGBANDEVWANGWUTOTPSECRETABCDEF"
DEMO_COMPANY_USCC = "91110108MA01DEM011"


def platform_org(region: str) -> str:
    """A valid credit code for the platform organisation of a region (GB 32100 check character)."""
    first17 = f"11{region}MB{region[:2]}00001"
    return first17 + uscc_check_char(first17)


@dataclass(frozen=True)
class DemoPerson:
    """A demo citizen of the dev realm."""

    username: str
    name: str
    resident_id: str
    phone: str
    totp_secret: str | None
    level: Level


DEMO_PEOPLE = (
    DemoPerson("zhangsan", "张三", "110101199003074477", "13800138000", None, Level.L1),
    DemoPerson("lisi", "李四", "310104198506123025", "13900139000", LISI_TOTP_SECRET, Level.L2),
    DemoPerson("wangwu", "王五", "440106197811203010", "13700137000", WANGWU_TOTP_SECRET, Level.L3),
)


def service_secret(service: str) -> str:
    """The secret `svc-<service>` uses: `<PREFIX>CLIENT_SECRET`, by default the dev one."""
    return os.environ.get(f"{SERVICE_PREFIXES[service]}CLIENT_SECRET") or DEV_SERVICE_SECRET


def realm_clients() -> list[tuple[RegisterClient, str]]:
    """Every dev client with its secret."""
    out: list[tuple[RegisterClient, str]] = []
    for region in PLATFORM_REGIONS:
        out.append(
            (
                RegisterClient(
                    client_id=f"platform-{region}",
                    name=f"{PROVINCES[region]}政务服务平台",
                    kind=ClientKind.PLATFORM,
                    grant_types=PLATFORM_GRANTS,
                    scopes=PLATFORM_SCOPES,
                    auth_method=AuthMethod.CLIENT_SECRET_BASIC,
                    region=region,
                    org=platform_org(region),
                    redirect_uris=[REDIRECT_URI],
                ),
                PLATFORM_SECRET,
            )
        )
    out.append(
        (
            RegisterClient(
                client_id="ministry-demo",
                name="国务院部门示例系统",
                kind=ClientKind.MINISTRY,
                grant_types=["client_credentials"],
                scopes=["cases:read", "cases:monitor", "eseal:verify"],
                auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            ),
            MINISTRY_SECRET,
        )
    )
    out.append(
        (
            RegisterClient(
                client_id="admin-dev",
                name="开发环境管理员",
                kind=ClientKind.ADMIN,
                grant_types=["client_credentials"],
                scopes=[
                    "identity:admin",
                    "catalogue:write",
                    "eseal:admin",
                    "exchange:admin",
                    "cases:monitor",
                    "cases:read",
                ],
                auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            ),
            ADMIN_SECRET,
        )
    )
    for service in SERVICE_PREFIXES:
        out.append(
            (
                RegisterClient(
                    client_id=f"svc-{service}",
                    name=f"{service} service",
                    kind=ClientKind.SERVICE,
                    grant_types=["client_credentials"],
                    scopes=SERVICE_SCOPES.get(service, ["cases:read"]),
                    auth_method=AuthMethod.CLIENT_SECRET_BASIC,
                ),
                service_secret(service),
            )
        )
    return out


async def seed(*, uow: UnitOfWork, ctx: IdentityContext) -> list[str]:
    """Create what is missing of the dev realm; returns the lines to print."""
    hashes: dict[str, str] = {}
    lines = ["Tongban identity dev realm (TONGBAN_ENV=dev only; never in production):"]
    async with uow:
        for cmd, secret in realm_clients():
            assert cmd.client_id is not None
            row = await uow.session.get(ClientRow, cmd.client_id)
            if row is None:
                if secret not in hashes:
                    hashes[secret] = await ctx.hasher.hash(secret)
                await register_client(
                    cmd, uow=uow, ctx=ctx, actor="dev-realm", secret=secret, secret_hash=hashes[secret]
                )
            elif cmd.kind is ClientKind.SERVICE and not await ctx.hasher.verify(row.secret_hash, secret):
                # The launcher chose another secret for this run: follow it.
                row.secret_hash = await ctx.hasher.hash(secret)
                row.version += 1
            lines.append(f"  client {cmd.client_id:<16} secret {secret}  scopes {' '.join(cmd.scopes)}")
        people: dict[str, str] = {}
        for demo in DEMO_PEOPLE:
            existing = await person_by_username(uow.session, demo.username)
            if existing is None:
                person = await register_person(
                    RegisterPerson(
                        username=demo.username,
                        password=DEMO_PASSWORD,
                        name=demo.name,
                        resident_id=demo.resident_id,
                        phone=demo.phone,
                        totp_secret=demo.totp_secret,
                    ),
                    uow=uow,
                    ctx=ctx,
                    actor="dev-realm",
                )
                row_p = await uow.session.get(NaturalPersonRow, person.id)
                assert row_p is not None
                if demo.level is Level.L3:
                    row_p.verification_level = Level.L3.value
                    row_p.verified_by = {"client_id": "dev-realm", "clerk": "dev", "office": "dev"}
                    row_p.verified_at = ctx.clock()
                people[demo.username] = person.id
            else:
                people[demo.username] = existing.id
            factor = f" + TOTP secret {demo.totp_secret}" if demo.totp_secret else ""
            lines.append(
                f"  citizen {demo.username:<9} {demo.name} resident id {demo.resident_id} "
                f"password {DEMO_PASSWORD}{factor} ({demo.level.value})"
            )
        await uow.session.flush()
        company_hash = ctx.subject_hash(DEMO_COMPANY_USCC)
        if (
            await uow.session.scalar(
                select(LegalPersonRow.id).where(LegalPersonRow.uscc_hash == company_hash)
            )
            is None
        ):
            await register_legal_person(
                RegisterLegalPerson(
                    name="通办示例科技有限公司",
                    uscc=DEMO_COMPANY_USCC,
                    representatives=[(people["zhangsan"], RepresentativeRole.LEGAL_REPRESENTATIVE)],
                ),
                uow=uow,
                ctx=ctx,
                actor="dev-realm",
            )
        lines.append(f"  legal person 通办示例科技有限公司 {DEMO_COMPANY_USCC} (represented by zhangsan)")
        lines.append(f"  redirect URI of the platforms: {REDIRECT_URI}")
        lines.append(f"  lisi's current code: {totp.current_code(LISI_TOTP_SECRET, ctx.clock())}")
        await uow.commit()
    return lines
