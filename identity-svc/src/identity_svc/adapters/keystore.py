"""Signing keys: ES256 keys stored encrypted in the database, cached in memory for signing and JWKS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from tongban_kit.crypto import FieldCipher
from tongban_kit.ids import new_id

from identity_svc.adapters.orm import SigningKeyRow
from identity_svc.domain.keys import KeyStatus, KeyWindow, is_published

ALG = "ES256"


@dataclass(frozen=True)
class LoadedKey:
    """A key as the process holds it."""

    kid: str
    status: KeyStatus
    created_at: datetime
    retire_after: datetime | None
    private: ECKey


class KeyStore:
    """Holds the keys of this issuer; the database is the truth, this is a cache per process."""

    def __init__(self, cipher: FieldCipher, window: KeyWindow) -> None:
        self.cipher = cipher
        self.window = window
        self._keys: list[LoadedKey] = []
        self._jwks: dict[str, Any] = {"keys": []}
        self._key_set: KeySet | None = None

    def _decrypt(self, row: SigningKeyRow) -> ECKey:
        data = json.loads(self.cipher.decrypt(row.private_jwk_enc, associated=row.kid.encode()))
        return ECKey.import_key(data)

    async def load(self, session: AsyncSession, now: datetime) -> None:
        """Read every not-yet-retired key; retire the ones whose window has passed."""
        await session.execute(
            update(SigningKeyRow)
            .where(SigningKeyRow.status == KeyStatus.VERIFY_ONLY.value, SigningKeyRow.retire_after <= now)
            .values(status=KeyStatus.RETIRED.value)
        )
        rows = (
            await session.scalars(
                select(SigningKeyRow)
                .where(SigningKeyRow.status != KeyStatus.RETIRED.value)
                .order_by(SigningKeyRow.created_at)
            )
        ).all()
        self._install(
            [
                LoadedKey(r.kid, KeyStatus(r.status), r.created_at, r.retire_after, self._decrypt(r))
                for r in rows
            ],
            now,
        )

    def _install(self, keys: list[LoadedKey], now: datetime) -> None:
        self._keys = keys
        published = [k for k in keys if is_published(k.status, k.retire_after, now)]
        self._jwks = {"keys": [k.private.as_dict(private=False) for k in published]}
        self._key_set = KeySet([k.private for k in published]) if published else None

    def refresh_published(self, now: datetime) -> None:
        """Drop keys whose verify-only window ended from JWKS (between database reloads)."""
        self._install(self._keys, now)

    async def create_key(self, session: AsyncSession, now: datetime) -> str:
        """Add a new active key; the previous active ones become verify-only with a retirement time."""
        kid = new_id()
        key = ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": ALG})
        retire_after = self.window.retire_after(now)
        await session.execute(
            update(SigningKeyRow)
            .where(SigningKeyRow.status == KeyStatus.ACTIVE.value)
            .values(status=KeyStatus.VERIFY_ONLY.value, deactivated_at=now, retire_after=retire_after)
        )
        session.add(
            SigningKeyRow(
                kid=kid,
                alg=ALG,
                private_jwk_enc=self.cipher.encrypt(
                    json.dumps(key.as_dict(private=True)), associated=kid.encode()
                ),
                public_jwk=key.as_dict(private=False),
                status=KeyStatus.ACTIVE.value,
                created_at=now,
            )
        )
        return kid

    async def ensure_active(self, session: AsyncSession, now: datetime) -> bool:
        """Create a first key when there is none; True if one was created."""
        active = await session.scalar(
            select(SigningKeyRow.kid).where(SigningKeyRow.status == KeyStatus.ACTIVE.value).limit(1)
        )
        if active is not None:
            return False
        await self.create_key(session, now)
        return True

    @property
    def active(self) -> LoadedKey:
        """The newest active key (two replicas racing at first start may both have made one)."""
        actives = [k for k in self._keys if k.status is KeyStatus.ACTIVE]
        if not actives:
            raise RuntimeError("no active signing key is loaded")
        return max(actives, key=lambda k: k.created_at)

    @property
    def active_kid(self) -> str:
        """The kid new tokens carry."""
        return self.active.kid

    def jwks(self) -> dict[str, Any]:
        """The public JWKS: the active key and the verify-only keys still in their window."""
        return self._jwks

    def key_set(self) -> KeySet:
        """Published keys, for verifying this issuer's own tokens."""
        if self._key_set is None:
            raise RuntimeError("no signing key is loaded")
        return self._key_set

    def kids(self) -> set[str]:
        """Kids of the published keys."""
        return {str(k["kid"]) for k in self._jwks["keys"]}

    def sign(self, claims: dict[str, Any], typ: str) -> str:
        """A compact JWS of the claims with the active key."""
        key = self.active
        return jwt.encode({"alg": ALG, "typ": typ, "kid": key.kid}, claims, key.private)
