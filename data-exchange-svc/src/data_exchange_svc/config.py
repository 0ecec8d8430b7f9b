"""Settings of data-exchange-svc: `EXCHANGE_*` variables plus the shared `TONGBAN_*` ones."""

from functools import lru_cache
from typing import Annotated, Any

from pydantic import field_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from tongban_kit.settings import ServiceSettings, env_list

# Basic codes the dev seed grants household-registration data for: the sub-items of 户口迁移 in the
# catalogue's coding rule (XK + main item 00003 + sub-item). The catalogue defines the real codes;
# override with EXCHANGE_SEED_HOUSEHOLD_ITEMS (comma-separated or a JSON list) when they differ.
DEFAULT_HOUSEHOLD_ITEMS = ["XK00003001", "XK00003002", "XK00003003", "XK00003004", "XK00003005"]
DEFAULT_PLATFORMS = [f"platform-{r}" for r in ("110000", "310000", "440000", "320000", "330000", "510000")]
DEFAULT_INACTIVE = [
    "concluded",
    "delivered",
    "withdrawn",
    "rejected",
    "closed",
    "cancelled",
    "archived",
    "draft",
]


class Settings(ServiceSettings):
    """Data exchange service settings."""

    model_config = SettingsConfigDict(env_prefix="EXCHANGE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/exchange.db"
    port: int = 8005

    # case-svc, asked whether a case exists and is active in the caller's region
    case_url: str = "http://127.0.0.1:8002"
    case_timeout_seconds: float = 3.0
    case_cache_seconds: float = 2.0
    case_inactive_statuses: Annotated[list[str], NoDecode] = DEFAULT_INACTIVE

    # the hub's ES256 signing key as a private JWK (JSON); without it one is made and kept in the database
    signing_key: str | None = None

    # providers
    provider_timeout_ms: int = 2000
    breaker_failures: int = 5
    breaker_reset_seconds: float = 30.0
    provider_max_connections: int = 100

    # dev/test seed
    seed: bool = True
    sandbox_url: str = "http://127.0.0.1:8006"
    seed_household_items: Annotated[list[str], NoDecode] = DEFAULT_HOUSEHOLD_ITEMS
    seed_platforms: Annotated[list[str], NoDecode] = DEFAULT_PLATFORMS

    max_consent_days: int = 365

    # Grants' rate limits: with a Redis URL every replica takes from one bucket per grant; without
    # one (the default for `make run` and SQLite) each process keeps its own buckets.
    redis_url: str | None = None
    redis_timeout: float = 0.25
    redis_key_prefix: str = "tongban:exchange:rl:"

    # the outbox relay waits this long after a wake-up, so a busy hub sends its log events in batches
    relay_linger_seconds: float = 0.05

    @field_validator("case_inactive_statuses", "seed_household_items", "seed_platforms", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return env_list(value)


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
