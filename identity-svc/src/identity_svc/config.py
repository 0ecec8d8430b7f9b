"""Settings of identity-svc: `IDENTITY_*` variables plus the shared `TONGBAN_*` ones."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from tongban_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Identity service settings."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/identity.db"
    port: int = 8003

    # Token lifetimes (seconds). Access tokens stay short because services verify them offline.
    access_token_ttl: int = Field(300, ge=30, le=3600)
    id_token_ttl: int = Field(300, ge=30, le=3600)
    refresh_token_ttl: int = Field(8 * 3600, ge=60)
    refresh_family_max_age: int = Field(30 * 86400, ge=60)
    code_ttl: int = Field(60, ge=5, le=600)
    auth_request_ttl: int = Field(900, ge=30)
    session_ttl: int = Field(8 * 3600, ge=60)
    # How often a replica reloads signing keys from the database (rotation by another replica).
    key_reload_seconds: float = Field(30.0, gt=0)

    # Brute-force protection: the first failures are free, then each costs a growing wait, and
    # `lockout_threshold` consecutive failures lock the account for `lockout_seconds`.
    lockout_threshold: int = Field(10, ge=1)
    lockout_seconds: float = Field(900.0, ge=0)
    throttle_free_failures: int = Field(3, ge=0)
    throttle_base_delay: float = Field(1.0, ge=0)
    throttle_max_delay: float = Field(60.0, ge=0)
    ip_free_failures: int = Field(20, ge=0)
    ip_lockout_threshold: int = Field(100, ge=1)
    ip_window_seconds: float = Field(900.0, gt=0)
    # Peers whose X-Forwarded-For is believed (the gateway), as addresses or CIDR networks since pod
    # addresses change; any other peer is the client itself.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    # Argon2id parameters (argon2-cffi's RFC 9106 low-memory profile by default); tests lower them.
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_cost: int = Field(65536, ge=8)
    argon2_parallelism: int = Field(4, ge=1)

    # Seed the dev realm (clients and demo citizens) on start; by default only in dev and test.
    dev_realm: bool | None = None
    # Self-service registration of natural persons (POST /v1/persons without a token).
    open_registration: bool = True

    @property
    def seed_dev_realm(self) -> bool:
        """Whether the dev realm is created on start."""
        return self.is_dev if self.dev_realm is None else (self.dev_realm and self.is_dev)

    @property
    def issuer_url(self) -> str:
        """Alias of the issuer: every absolute URL in discovery starts here."""
        return self.issuer


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
