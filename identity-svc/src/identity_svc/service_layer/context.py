"""What every handler needs besides its unit of work: settings, keys, hasher, cipher, clock, policies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tongban_contracts.topics import IDENTITY_AUDIT
from tongban_kit.crypto import FieldCipher, subject_hash
from tongban_kit.db import utcnow

from identity_svc.adapters.keystore import KeyStore
from identity_svc.adapters.passwords import PasswordHasher
from identity_svc.config import Settings
from identity_svc.domain.keys import KeyWindow
from identity_svc.domain.lockout import ThrottlePolicy

Clock = Callable[[], datetime]


def token_hash(value: str) -> str:
    """SHA-256 hex of a high-entropy token (codes, refresh tokens, cookies): stored instead of it."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class IdentityContext:
    """Shared dependencies of the identity handlers, one per process."""

    settings: Settings
    keys: KeyStore
    hasher: PasswordHasher
    cipher: FieldCipher
    account_policy: ThrottlePolicy
    ip_policy: ThrottlePolicy
    clock: Clock = field(default=utcnow)

    @property
    def issuer(self) -> str:
        """Token `iss` and the base of every absolute URL."""
        return self.settings.issuer

    @property
    def audit_topic(self) -> str:
        """The (possibly prefixed) audit topic."""
        return self.settings.topic(IDENTITY_AUDIT)

    def subject_hash(self, resident_id: str) -> str:
        """The mesh-wide keyed hash of an identity number."""
        return subject_hash(resident_id, self.settings.subject_hash_key)

    def url(self, path: str) -> str:
        """Absolute public URL of one of this service's paths."""
        return self.issuer + path


def build_context(settings: Settings, clock: Clock = utcnow) -> IdentityContext:
    """Wire the context from settings."""
    cipher = FieldCipher(settings.field_key, settings.field_cipher)
    return IdentityContext(
        settings=settings,
        keys=KeyStore(
            cipher,
            KeyWindow(
                max_token_ttl=max(settings.access_token_ttl, settings.id_token_ttl),
                reload_seconds=settings.key_reload_seconds,
            ),
        ),
        hasher=PasswordHasher(
            settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
        ),
        cipher=cipher,
        account_policy=ThrottlePolicy(
            free_failures=settings.throttle_free_failures,
            base_delay=settings.throttle_base_delay,
            max_delay=settings.throttle_max_delay,
            lockout_threshold=settings.lockout_threshold,
            lockout_seconds=settings.lockout_seconds,
        ),
        ip_policy=ThrottlePolicy(
            free_failures=settings.ip_free_failures,
            base_delay=settings.throttle_base_delay,
            max_delay=settings.throttle_max_delay,
            lockout_threshold=settings.ip_lockout_threshold,
            lockout_seconds=settings.lockout_seconds,
            window_seconds=settings.ip_window_seconds,
        ),
        clock=clock,
    )
