"""Alembic environment of identity-svc: the kit runs it with batch mode for SQLite."""

from identity_svc.adapters import orm  # noqa: F401  (maps this service's tables)
from tongban_kit.db import service_metadata
from tongban_kit.migrations import run_env

run_env(service_metadata("identity_svc."))
