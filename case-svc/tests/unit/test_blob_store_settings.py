"""Which blob store the settings build, and the S3 settings refused before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from case_svc.adapters.blobs import FilesystemBlobStore, S3BlobStore
from case_svc.config import Settings
from case_svc.main import make_blob_store
from pydantic import ValidationError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CASE_* variable of the caller's shell leaks into these settings."""
    for name in list(__import__("os").environ):
        if name.startswith("CASE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TONGBAN_ENV", "test")


def test_the_filesystem_store_stays_the_default(tmp_path: Path) -> None:
    blobs = make_blob_store(Settings(blob_dir=str(tmp_path)))
    assert isinstance(blobs, FilesystemBlobStore) and blobs.root == tmp_path


def test_an_s3_store_is_built_from_the_settings() -> None:
    settings = Settings(
        blob_store="s3",
        s3_endpoint_url="https://oss.example.cn",
        s3_bucket="materials-prod",
        s3_region="cn-north-1",
        s3_prefix="case/",
        s3_access_key="AK",
        s3_secret_key="SK",
        s3_addressing_style="virtual",
    )
    blobs = make_blob_store(settings)
    assert isinstance(blobs, S3BlobStore)
    assert (blobs.bucket, blobs.prefix, blobs.endpoint_url, blobs.region) == (
        "materials-prod",
        "case/",
        "https://oss.example.cn",
        "cn-north-1",
    )
    assert blobs.key("AB" * 32) == "case/" + "ab" * 32
    assert "SK" not in repr(settings)  # the secret key is a SecretStr


def test_without_keys_the_sdk_credential_chain_is_used() -> None:
    blobs = make_blob_store(Settings(blob_store="s3", s3_bucket="b"))
    assert isinstance(blobs, S3BlobStore) and blobs.endpoint_url is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"blob_store": "s3"}, "CASE_S3_BUCKET"),
        ({"blob_store": "s3", "s3_bucket": "b", "s3_access_key": "AK"}, "together"),
        ({"blob_store": "s3", "s3_bucket": "b", "s3_secret_key": "SK"}, "together"),
        ({"blob_store": "gcs"}, "blob_store"),
        ({"blob_store": "s3", "s3_bucket": "b", "s3_addressing_style": "dns"}, "s3_addressing_style"),
    ],
)
def test_incomplete_or_unknown_s3_settings_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**values)  # type: ignore[arg-type]
