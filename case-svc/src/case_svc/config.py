"""Settings of case-svc: `CASE_*` variables plus the shared `TONGBAN_*` ones."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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
    blob_store: Literal["filesystem", "s3"] = "filesystem"
    blob_dir: str = "var/blobs/case"
    # CASE_BLOB_STORE=s3: an S3-compatible bucket. Without an endpoint the SDK's AWS endpoint for the
    # region is used; without keys its credential chain (AWS_* variables, web identity, instance role).
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_prefix: str = "materials/"
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    s3_timeout_seconds: float = Field(10.0, gt=0)
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

    @model_validator(mode="after")
    def _check_s3(self) -> "Settings":
        """An S3 store needs a bucket, and keys come in pairs."""
        if self.blob_store == "s3":
            if not self.s3_bucket:
                raise ValueError("CASE_BLOB_STORE=s3 needs CASE_S3_BUCKET")
            if bool(self.s3_access_key) != bool(self.s3_secret_key.get_secret_value()):
                raise ValueError("CASE_S3_ACCESS_KEY and CASE_S3_SECRET_KEY are given together or not at all")
        return self

    @property
    def allowed_upload_types(self) -> frozenset[str]:
        """MIME types accepted for uploads, as detected from the content."""
        return frozenset(t.strip() for t in self.upload_types.split(",") if t.strip())


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
