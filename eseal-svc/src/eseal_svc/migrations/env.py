"""Alembic environment of eseal-svc: the kit runs it with batch mode for SQLite."""

from eseal_svc.adapters import orm
from tongban_kit.migrations import run_env

run_env(orm.Base.metadata)
