"""What the handlers of eseal-svc need at hand: settings, keys, trust, cipher, clock, database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from tongban_kit.crypto import FieldCipher
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.keyring import Keyring
from eseal_svc.config import Settings
from eseal_svc.service_layer.trust import TrustStore


def utc_now() -> datetime:
    """The current instant in UTC, to the second (SES and certificates keep seconds)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class EsealContext:
    """Everything a handler uses besides its command."""

    settings: Settings
    keyring: Keyring
    trust: TrustStore
    cipher: FieldCipher
    uow: Callable[[], UnitOfWork]
    http: httpx.AsyncClient | None = None
    clock: Callable[[], datetime] = utc_now
    caches: dict[str, object] = field(default_factory=dict)
