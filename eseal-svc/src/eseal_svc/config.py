"""Settings of eseal-svc: `ESEAL_*` variables plus the shared `TONGBAN_*` ones."""

import base64
import binascii
import json
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from tongban_kit.identifiers import uscc_check_char
from tongban_kit.settings import ServiceSettings, env_list

# base64 of the 16 ASCII bytes "tongban-dev-kek!": usable for SM4-GCM in dev and tests only.
DEV_KEK = "dG9uZ2Jhbi1kZXYta2VrIQ=="
DEV_REGIONS = ("110000", "310000", "440000")
# Entries of the Bitstring Status List spec's herd-privacy minimum (16 KiB).
MIN_STATUS_LIST_SIZE = 131_072


def platform_org(region: str) -> str:
    """The credit code identity-svc's dev realm gives the platform organisation of a region."""
    first17 = f"11{region}MB{region[:2]}00001"
    return first17 + uscc_check_char(first17)


def _dev_orgs() -> dict[str, str]:
    return {region: platform_org(region) for region in DEV_REGIONS}


class Settings(ServiceSettings):
    """Electronic seal service settings."""

    model_config = SettingsConfigDict(env_prefix="ESEAL_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/eseal.db"
    port: int = 8004
    # PDFs travel base64-encoded in JSON; everything else keeps the kit's 1 MiB limit.
    max_pdf_bytes: int = 20 * 1_048_576

    # Key-encryption key for private keys at rest (base64; 16 bytes for SM4-GCM, 32 for AES-256-GCM).
    kek: str = DEV_KEK
    kek_algorithm: Literal["sm4-gcm", "aes-256-gcm"] = "sm4-gcm"
    kek_id: str = "kek-1"

    # The deployment's own province; its seal CAs are created on first start.
    region: str = "110000"
    # Provinces whose seal CAs this deployment hosts; empty means [region], plus DEV_REGIONS in dev/test.
    hosted_regions: Annotated[list[str], NoDecode] = Field(default_factory=list)
    seal_font: str | None = None

    # Dev/test seed: region -> credit code of the organisation owning that region's seed seal.
    seed: bool = True
    dev_orgs: Annotated[dict[str, str], NoDecode] = _dev_orgs()

    status_list_size: int = MIN_STATUS_LIST_SIZE
    status_list_max_age: int = 300
    max_batch: int = 1000
    remote_fetch_timeout: float = 3.0

    @field_validator("hosted_regions", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return env_list(value)

    @field_validator("dev_orgs", mode="before")
    @classmethod
    def _orgs(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> "Settings":
        size = 16 if self.kek_algorithm == "sm4-gcm" else 32
        if len(self.kek_bytes) != size:
            raise ValueError(f"ESEAL_KEK must be {size} bytes (base64) for {self.kek_algorithm}")
        if self.status_list_size < MIN_STATUS_LIST_SIZE or self.status_list_size % 8:
            raise ValueError(
                f"ESEAL_STATUS_LIST_SIZE must be a multiple of 8 of at least {MIN_STATUS_LIST_SIZE}"
            )
        return self

    @property
    def kek_bytes(self) -> bytes:
        """The decoded key-encryption key."""
        try:
            return base64.b64decode(self.kek, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("ESEAL_KEK is not base64") from None

    @property
    def provinces(self) -> list[str]:
        """Provinces whose seal CAs run here, the deployment's own first."""
        wanted = list(self.hosted_regions) or [self.region]
        if self.is_dev and not self.hosted_regions:
            wanted += list(DEV_REGIONS)
        out: list[str] = []
        for region in [self.region, *wanted]:
            province = region[:2] + "0000"
            if province not in out:
                out.append(province)
        return out

    def extra_secret_defaults(self) -> dict[str, bool]:
        """The KEK must be given explicitly outside dev and test."""
        return {"ESEAL_KEK": self.kek == DEV_KEK}

    def status_list_url(self, list_id: str) -> str:
        """The public address of a status list credential (through the gateway)."""
        return f"{self.public_url.rstrip('/')}/eseal/v1/status-lists/{list_id}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
