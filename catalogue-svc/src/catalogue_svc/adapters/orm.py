"""ORM tables of catalogue-svc (the kit's outbox, inbox and idempotency tables share this metadata)."""

from tongban_kit import idempotency, inbox, outbox  # noqa: F401  (registers the kit tables)
from tongban_kit.db import Base

__all__ = ["Base"]
