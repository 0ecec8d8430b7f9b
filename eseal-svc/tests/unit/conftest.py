"""Fixtures for eseal-svc unit tests: deployment PKIs and seals for every algorithm."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eseal_svc.adapters.crypto.ca import DeploymentPki, create_deployment_pki
from eseal_svc.adapters.crypto.sealmaker import MadeSeal, make_organisation_seal
from eseal_svc.adapters.crypto.ses import CertListType
from eseal_svc.domain.model import SealAlgorithm, SealSpec, SealType


def _load_kit() -> Any:
    if "eseal_testkit" in sys.modules:
        return sys.modules["eseal_testkit"]
    path = Path(__file__).parents[1] / "esealkit.py"
    spec = importlib.util.spec_from_file_location("eseal_testkit", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["eseal_testkit"] = module
    spec.loader.exec_module(module)
    return module


esealkit = _load_kit()

NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC)
USCC = "91350100M000100Y43"

PkiFactory = Callable[..., DeploymentPki]
SealFactory = Callable[..., tuple[SealSpec, MadeSeal]]


@pytest.fixture(scope="session")
def now() -> datetime:
    """The fixed 'current' time of the tests."""
    return NOW


def _pki(algorithm: SealAlgorithm = SealAlgorithm.SM2_SM3, region: str = "350000") -> DeploymentPki:
    return create_deployment_pki(
        algorithm=algorithm, region=region, operator=f"Tongban {region}", now=NOW - timedelta(days=400)
    )


def _spec(algorithm: SealAlgorithm, **overrides: object) -> SealSpec:
    fields: dict[str, object] = {
        "org_name": "福州市某局",
        "uscc": USCC,
        "region": "350100",
        "seal_type": SealType.CONTRACT,
        "algorithm": algorithm,
        "valid_from": NOW - timedelta(days=1),
        "valid_to": NOW + timedelta(days=365),
        "now": NOW,
    }
    fields.update(overrides)
    return SealSpec.create(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pki_factory() -> PkiFactory:
    """Make a deployment PKI: pki_factory(algorithm, region)."""
    return _pki


@pytest.fixture(scope="session", params=list(SealAlgorithm), ids=lambda a: a.value)
def pki(request: pytest.FixtureRequest) -> DeploymentPki:
    """One deployment PKI per algorithm."""
    return _pki(request.param)


@pytest.fixture(scope="session")
def sm2_pki() -> DeploymentPki:
    """The SM2 PKI most tests use."""
    return _pki(SealAlgorithm.SM2_SM3)


@pytest.fixture(scope="session")
def seal_factory() -> SealFactory:
    """Make a seal: seal_factory(pki, es_id=..., cert_list_type=..., **spec overrides)."""

    def make(
        pki: DeploymentPki,
        *,
        es_id: str = "350100-0001",
        cert_list_type: CertListType = CertListType.CERTIFICATES,
        created_at: datetime | None = None,
        **overrides: object,
    ) -> tuple[SealSpec, MadeSeal]:
        spec = _spec(pki.algorithm, **overrides)
        made = make_organisation_seal(
            spec,
            pki=pki,
            es_id=es_id,
            created_at=created_at or spec.validity.valid_from,
            cert_list_type=cert_list_type,
        )
        return spec, made

    return make


@pytest.fixture(scope="session")
def sm2_seal(sm2_pki: DeploymentPki, seal_factory: SealFactory) -> MadeSeal:
    """An SM2 contract seal valid from a day ago for a year."""
    return seal_factory(sm2_pki)[1]


@pytest.fixture(scope="module")
async def eseal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """eseal-svc running in-process on a fresh SQLite database with the dev seed (one per module)."""
    async with esealkit.running_eseal(tmp_path_factory.mktemp("eseal")) as running:
        yield running
