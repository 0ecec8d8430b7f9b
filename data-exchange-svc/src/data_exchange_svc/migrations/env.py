"""Alembic environment of data-exchange-svc: the kit runs it with batch mode for SQLite."""

from data_exchange_svc.adapters import orm
from tongban_kit.migrations import run_env

run_env(orm.Base.metadata)
