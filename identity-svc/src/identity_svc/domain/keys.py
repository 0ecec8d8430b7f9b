"""Signing key lifecycle: one active key; old ones verify-only until all they signed has expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

CLOCK_SKEW = 30


class KeyStatus(StrEnum):
    """Where a key is in its life."""

    ACTIVE = "active"
    VERIFY_ONLY = "verify_only"
    RETIRED = "retired"


@dataclass(frozen=True)
class KeyWindow:
    """How long an old key must stay published."""

    max_token_ttl: int
    reload_seconds: float

    def retire_after(self, deactivated_at: datetime) -> datetime:
        """Other replicas may sign with the old key until they reload; their tokens then live a TTL."""
        return deactivated_at + timedelta(seconds=self.max_token_ttl + CLOCK_SKEW + self.reload_seconds)


def is_published(status: KeyStatus, retire_after: datetime | None, now: datetime) -> bool:
    """Whether a key belongs in the JWKS now."""
    if status is KeyStatus.ACTIVE:
        return True
    return status is KeyStatus.VERIFY_ONLY and retire_after is not None and retire_after > now
