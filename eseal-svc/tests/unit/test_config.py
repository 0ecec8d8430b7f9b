"""Settings: the KEK is checked and refused at its dev default outside dev; hosted provinces."""

from __future__ import annotations

import base64

import pytest
from eseal_svc.config import DEV_KEK, MIN_STATUS_LIST_SIZE, Settings, platform_org
from eseal_svc.domain.uscc import is_valid_uscc
from pydantic import ValidationError

SECRETS = {
    "subject_hash_key": "k" * 32,
    "field_key": base64.urlsafe_b64encode(b"f" * 32).decode(),
    "client_secret": "s" * 20,
}


def test_the_dev_kek_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="ESEAL_KEK"):
        Settings(env="production", **SECRETS)
    settings = Settings(env="production", kek=base64.b64encode(b"k" * 16).decode(), **SECRETS)
    assert settings.kek_bytes == b"k" * 16


def test_the_kek_length_must_fit_the_algorithm() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(env="test", kek_algorithm="aes-256-gcm")
    assert (
        len(
            Settings(
                env="test", kek_algorithm="aes-256-gcm", kek=base64.b64encode(b"a" * 32).decode()
            ).kek_bytes
        )
        == 32
    )
    with pytest.raises(ValidationError, match="base64"):
        Settings(env="test", kek="not base64!")


def test_status_lists_keep_the_herd_privacy_minimum() -> None:
    with pytest.raises(ValidationError, match="STATUS_LIST_SIZE"):
        Settings(env="test", status_list_size=1024)
    assert Settings(env="test").status_list_size == MIN_STATUS_LIST_SIZE


def test_hosted_provinces() -> None:
    assert Settings(env="test", region="310100").provinces == ["310000", "110000", "440000"]
    assert Settings(
        env="production", kek=base64.b64encode(b"k" * 16).decode(), region="440000", **SECRETS
    ).provinces == ["440000"]
    assert Settings(env="test", region="510000", hosted_regions="320000,510000").provinces == [
        "510000",
        "320000",
    ]
    assert DEV_KEK != ""


def test_dev_orgs_match_identity_dev_realm_codes() -> None:
    settings = Settings(env="test")
    assert settings.dev_orgs == {
        "110000": "11110000MB1100001P",
        "310000": "11310000MB3100001H",
        "440000": "11440000MB4400001J",
    }
    assert all(is_valid_uscc(platform_org(r)) for r in ("110000", "320000", "510000"))
    assert Settings(env="test", dev_orgs='{"110000": "91350100M000100Y43"}').dev_orgs == {
        "110000": "91350100M000100Y43"
    }
