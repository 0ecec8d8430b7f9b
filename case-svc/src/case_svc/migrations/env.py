"""Alembic environment of case-svc: the kit runs it with batch mode for SQLite."""

from case_svc.adapters import orm
from tongban_kit.migrations import run_env

run_env(orm.Base.metadata)
