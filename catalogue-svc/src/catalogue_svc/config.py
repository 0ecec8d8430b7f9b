"""Settings of catalogue-svc: `CATALOGUE_*` variables plus the shared `TONGBAN_*` ones."""

from functools import lru_cache

from pydantic_settings import SettingsConfigDict
from tongban_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Catalogue service settings."""

    model_config = SettingsConfigDict(env_prefix="CATALOGUE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/catalogue.db"
    port: int = 8001
    # The national list is the product's content: loaded into an empty database in every environment.
    load_seed: bool = True


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
