"""Command line: `python -m identity_svc bootstrap-admin` (first admin client, once)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from tongban_kit.db import make_engine, make_session_factory
from tongban_kit.migrations import upgrade_async
from tongban_kit.uow import UnitOfWork

from identity_svc.config import Settings
from identity_svc.service_layer.bootstrap import AlreadyBootstrapped, bootstrap_admin
from identity_svc.service_layer.context import build_context


async def _bootstrap(settings: Settings, migrate: bool) -> int:
    from identity_svc.main import SERVICE_ROOT

    if migrate or settings.should_migrate:
        await upgrade_async(SERVICE_ROOT, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        ctx = build_context(settings)
        try:
            client_id, secret = await bootstrap_admin(uow=UnitOfWork(make_session_factory(engine)), ctx=ctx)
        except AlreadyBootstrapped as exc:
            print(f"refused: {exc.detail}", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()
    # The secret exists nowhere else (only its Argon2 hash is stored): this is the one chance to copy it.
    print(f"client_id={client_id}")
    print(f"client_secret={secret}")
    print("Store the secret now; it is not shown again.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command."""
    parser = argparse.ArgumentParser(prog="python -m identity_svc")
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap-admin", help="create the first identity:admin client (once)")
    boot.add_argument("--migrate", action="store_true", help="upgrade the database schema first")
    args = parser.parse_args(argv)
    if args.command == "bootstrap-admin":
        return asyncio.run(_bootstrap(Settings(), args.migrate))
    return 2  # pragma: no cover - argparse rejects unknown commands
