"""Production bootstrap: the first identity:admin client, created once, its secret shown once."""

from __future__ import annotations

from sqlalchemy import select
from tongban_kit.uow import UnitOfWork

from identity_svc.adapters.orm import ClientRow, MarkerRow
from identity_svc.domain.clients import AuthMethod, ClientKind
from identity_svc.domain.errors import DomainError
from identity_svc.service_layer.clients import RegisterClient, register_client
from identity_svc.service_layer.context import IdentityContext

MARKER = "bootstrap-admin"
ADMIN_CLIENT_ID = "identity-admin"


class AlreadyBootstrapped(DomainError):
    """The first admin client exists already."""

    code = "already-bootstrapped"
    status = 409


async def bootstrap_admin(*, uow: UnitOfWork, ctx: IdentityContext) -> tuple[str, str]:
    """Create the first identity:admin client; refuse when an admin client or the marker exists."""
    async with uow:
        if await uow.session.get(MarkerRow, MARKER) is not None:
            raise AlreadyBootstrapped("bootstrap-admin already ran for this database")
        clients = (await uow.session.scalars(select(ClientRow))).all()
        if any("identity:admin" in c.scopes for c in clients):
            raise AlreadyBootstrapped("an identity:admin client already exists")
        row, secret = await register_client(
            RegisterClient(
                client_id=ADMIN_CLIENT_ID,
                name="Identity administrator",
                kind=ClientKind.ADMIN,
                grant_types=["client_credentials"],
                scopes=["identity:admin"],
                auth_method=AuthMethod.CLIENT_SECRET_BASIC,
            ),
            uow=uow,
            ctx=ctx,
            actor="bootstrap-admin",
        )
        uow.session.add(MarkerRow(name=MARKER, created_at=ctx.clock()))
        await uow.commit()
    assert secret is not None
    return row.client_id, secret
