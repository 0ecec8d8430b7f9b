"""Settings shared by every service: ``TONGBAN_*`` for the mesh, ``<PREFIX>*`` for the service."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SUBJECT_HASH_KEY = "dev-subject-hash-key-not-for-production"
DEV_FIELD_KEY = "ZGV2LWZpZWxkLWtleS0zMmJ5dGVzLW5vdC1zZWNyZXQ"  # base64url of 32 dev bytes
DEV_CLIENT_SECRET = "dev-service-secret"


def shared(name: str, default: Any, **kw: Any) -> Any:
    """Declare a field read from the unprefixed ``TONGBAN_<NAME>`` variable."""
    return Field(default, validation_alias=AliasChoices(f"TONGBAN_{name}"), **kw)


class ServiceSettings(BaseSettings):
    """Base of every service's Settings; subclasses set ``env_prefix`` and their own fields."""

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore", populate_by_name=True)

    env: Literal["dev", "test", "staging", "production"] = shared("ENV", "production")
    kafka_bootstrap: str = shared("KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    kafka_security_protocol: str = shared("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    kafka_sasl_mechanism: str | None = shared("KAFKA_SASL_MECHANISM", None)
    kafka_sasl_username: str | None = shared("KAFKA_SASL_USERNAME", None)
    kafka_sasl_password: str | None = shared("KAFKA_SASL_PASSWORD", None)
    topic_prefix: str = shared("TOPIC_PREFIX", "")
    identity_url: str = shared("IDENTITY_URL", "http://127.0.0.1:8003")
    public_url: str = shared("PUBLIC_URL", "http://127.0.0.1:8000")
    subject_hash_key: str = shared("SUBJECT_HASH_KEY", DEV_SUBJECT_HASH_KEY)
    field_key: str = shared("FIELD_KEY", DEV_FIELD_KEY)
    field_cipher: Literal["sm4-gcm", "aes-256-gcm"] = shared("FIELD_CIPHER", "sm4-gcm")
    log_level: str = shared("LOG_LEVEL", "INFO")
    migrate_on_start: bool | None = shared("MIGRATE_ON_START", None)
    gc_freeze: bool = shared("GC_FREEZE", True)
    outbox_retention_hours: float = shared("OUTBOX_RETENTION_HOURS", 72.0, gt=0)

    database_url: str = "sqlite+aiosqlite:///var/service.db"
    # A pool at least as large as the requests in flight: overflow connections are closed on return,
    # and opening one costs a backend fork and a SCRAM handshake on both sides.
    db_pool_size: int = Field(20, ge=1, description="PostgreSQL connections kept open per process")
    db_max_overflow: int = Field(10, ge=0, description="extra connections opened under bursts")
    db_pre_ping: bool = Field(False, description="test each connection with a round trip on checkout")
    client_secret: str = DEV_CLIENT_SECRET
    port: int = 8000
    max_body_bytes: int = 1_048_576

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> ServiceSettings:
        """Outside dev and test, every secret must have been given explicitly."""
        if self.env in ("dev", "test"):
            return self
        defaults = {
            "TONGBAN_SUBJECT_HASH_KEY": self.subject_hash_key == DEV_SUBJECT_HASH_KEY,
            "TONGBAN_FIELD_KEY": self.field_key == DEV_FIELD_KEY,
            "client secret": self.client_secret == DEV_CLIENT_SECRET,
        }
        defaults.update(self.extra_secret_defaults())
        used = [name for name, is_default in defaults.items() if is_default]
        if used:
            raise ValueError(f"default secrets refused outside TONGBAN_ENV=dev: {', '.join(used)}")
        return self

    def extra_secret_defaults(self) -> dict[str, bool]:
        """Subclasses name their own secrets still at their dev default."""
        return {}

    @property
    def is_dev(self) -> bool:
        """True in the embedded dev mode and in tests."""
        return self.env in ("dev", "test")

    @property
    def should_migrate(self) -> bool:
        """Migrate on start in dev and tests unless told otherwise."""
        return self.is_dev if self.migrate_on_start is None else self.migrate_on_start

    @property
    def issuer(self) -> str:
        """The token issuer every service checks: the public URL plus ``/identity``."""
        return self.public_url.rstrip("/") + "/identity"

    @property
    def jwks_url(self) -> str:
        """Where identity-svc publishes its keys, on its internal address."""
        return self.identity_url.rstrip("/") + "/.well-known/jwks.json"

    @property
    def token_url(self) -> str:
        """identity-svc's token endpoint on its internal address."""
        return self.identity_url.rstrip("/") + "/oauth2/token"

    def topic(self, name: str) -> str:
        """Apply the per-run topic prefix used by tests."""
        return f"{self.topic_prefix}{name}"


def env_list(value: Any) -> Any:
    """Read a list setting from the environment as a JSON list or comma-separated text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [v.strip() for v in text.split(",") if v.strip()]
    return value
