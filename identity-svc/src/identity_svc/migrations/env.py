"""Alembic environment of identity-svc: the kit runs it with batch mode for SQLite."""

from identity_svc.adapters import orm
from tongban_kit.migrations import run_env

run_env(orm.Base.metadata)
