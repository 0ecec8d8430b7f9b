"""Settings of case-svc: `CASE_*` variables plus the shared `TONGBAN_*` ones."""

from functools import lru_cache

from pydantic_settings import SettingsConfigDict
from tongban_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    """Case service settings (each field is read from ``CASE_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="CASE_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/case.db"
    port: int = 8002
    # catalogue-svc's internal address: one GET when the item read model misses an item.
    catalogue_url: str = "http://127.0.0.1:8001"
    catalogue_timeout_seconds: float = 5.0
    # Content-addressed blob store of uploaded materials (filesystem by default).
    blob_store: str = "filesystem"
    blob_dir: str = "var/blobs/case"
    max_upload_bytes: int = 10 * 1024 * 1024
    upload_types: str = "application/pdf,image/jpeg,image/png,image/tiff"
    # Deadline worker: how often it looks, and how many working days before a due date it warns.
    deadline_worker: bool = True
    deadline_interval_seconds: float = 60.0
    deadline_warning_days: int = 2
    deadline_batch: int = 500
    # Default due date of a correction notice when the handling region gives none (working days).
    correction_default_days: int = 10
    consume_catalogue: bool = True
    # Seconds an item lookup is reused in-process (catalogue events clear it at once in this replica).
    item_cache_seconds: float = 5.0

    @property
    def allowed_upload_types(self) -> frozenset[str]:
        """MIME types accepted for uploads, as detected from the content."""
        return frozenset(t.strip() for t in self.upload_types.split(",") if t.strip())


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
