"""Trust anchors and the trust registry (mutual recognition of licence issuers), cached briefly.

Several replicas share one database, so the cache lives only a few seconds; a replica that itself
registers an anchor or issuer drops its cache at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from tongban_kit.uow import UnitOfWork

from eseal_svc.adapters.orm import TrustAnchorRow, TrustedIssuerRow
from eseal_svc.domain.licence import TrustedIssuer

DEFAULT_TTL = 10.0


@dataclass(frozen=True, slots=True)
class Anchor:
    """A registered root certificate and the region it speaks for."""

    id: str
    region: str
    certificate: bytes
    fingerprint_sha256: str
    subject: str
    algorithm: str | None
    not_after: datetime
    source: str


@dataclass(frozen=True, slots=True)
class TrustSnapshot:
    """Anchors and issuers as read at one moment."""

    anchors: tuple[Anchor, ...]
    issuers: tuple[TrustedIssuer, ...]

    @property
    def certificates(self) -> list[bytes]:
        """DER of every anchor."""
        return [a.certificate for a in self.anchors]

    def anchor_for(self, certificate: bytes | None) -> Anchor | None:
        """The anchor with exactly this DER."""
        return next((a for a in self.anchors if a.certificate == certificate), None)


class TrustStore:
    """Reads anchors and trusted issuers from the database, caching them for a few seconds."""

    def __init__(self, uow: Callable[[], UnitOfWork], *, ttl: float = DEFAULT_TTL) -> None:
        self._uow = uow
        self._ttl = ttl
        self._snapshot: TrustSnapshot | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget the cached snapshot (after this replica changed the registry)."""
        self._snapshot = None

    async def snapshot(self) -> TrustSnapshot:
        """The current anchors and issuers."""
        if self._snapshot is not None and time.monotonic() - self._loaded_at < self._ttl:
            return self._snapshot
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._loaded_at < self._ttl:
                return self._snapshot
            async with self._uow() as uow:
                anchors = (
                    await uow.session.execute(select(TrustAnchorRow).order_by(TrustAnchorRow.id))
                ).scalars()
                issuers = (
                    await uow.session.execute(select(TrustedIssuerRow).order_by(TrustedIssuerRow.id))
                ).scalars()
                snapshot = TrustSnapshot(
                    anchors=tuple(
                        Anchor(
                            id=a.id,
                            region=a.region,
                            certificate=a.certificate,
                            fingerprint_sha256=a.fingerprint_sha256,
                            subject=a.subject,
                            algorithm=a.algorithm,
                            not_after=a.not_after,
                            source=a.source,
                        )
                        for a in anchors
                    ),
                    issuers=tuple(
                        TrustedIssuer(i.uscc, i.region, frozenset(i.licence_types)) for i in issuers
                    ),
                )
            self._snapshot = snapshot
            self._loaded_at = time.monotonic()
            return snapshot
