"""Settings of data-exchange-svc: `EXCHANGE_*` variables plus the shared `TONGBAN_*` ones."""

from functools import lru_cache

from pydantic_settings import SettingsConfigDict
from tongban_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Data exchange service settings."""

    model_config = SettingsConfigDict(env_prefix="EXCHANGE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/exchange.db"
    port: int = 8005


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
