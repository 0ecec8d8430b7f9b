"""Argon2id hashing (argon2-cffi) for passwords and client secrets, off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import time

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_CACHE_LIMIT = 4096
# Each Argon2 run holds `memory_cost` KiB (64 MiB by default): bound how many run at once so that
# a burst of logins cannot push the process far beyond its memory budget.
MAX_PARALLEL_HASHES = 2


class PasswordHasher:
    """Hashes and checks secrets; a wrong or malformed hash is simply 'no match'."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        # Hash of a random string: unknown usernames cost the same time as known ones.
        self._dummy = self._hasher.hash("no-such-account-" + str(time.time_ns()))
        self._verified: dict[str, float] = {}
        self._slots = asyncio.Semaphore(MAX_PARALLEL_HASHES)

    def hash_sync(self, secret: str) -> str:
        """Argon2id hash of a secret (blocking)."""
        return self._hasher.hash(secret)

    async def hash(self, secret: str) -> str:
        """Argon2id hash of a secret, computed in a worker thread."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, secret)

    def _verify(self, stored: str, secret: str) -> bool:
        try:
            return self._hasher.verify(stored, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, secret: str) -> bool:
        """Whether the secret matches; with no stored hash, spend the same time and say no."""
        async with self._slots:
            if stored is None:
                await asyncio.to_thread(self._verify, self._dummy, secret)
                return False
            return await asyncio.to_thread(self._verify, stored, secret)

    def needs_rehash(self, stored: str) -> bool:
        """The hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    async def verify_cached(self, stored: str, secret: str, ttl: float = 300.0) -> bool:
        """Verify a client secret, remembering recent successes in memory.

        Services fetch tokens often with the same high-entropy secret; a full Argon2 run on every
        request would cap the token endpoint at a few dozen requests per second. The cache key
        binds the stored hash too, so a rotated secret invalidates it at once.
        """
        key = hashlib.sha256(f"{stored}\x00{secret}".encode()).hexdigest()
        now = time.monotonic()
        expires = self._verified.get(key)
        if expires is not None and expires > now:
            return True
        if not await self.verify(stored, secret):
            return False
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[key] = now + ttl
        return True
