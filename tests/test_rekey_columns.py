"""Every service's rekey entrypoint lists every column of its own that holds field-encrypted text."""

from __future__ import annotations

import importlib

import pytest
from tongban_kit.db import service_metadata
from tongban_kit.rekey import EncryptedColumns, uncovered_columns

# catalogue-svc keeps no personal data at rest, so it has no rekey entrypoint.
WITH_REKEY = ["case_svc", "identity_svc", "eseal_svc", "data_exchange_svc"]


@pytest.mark.parametrize("package", [*WITH_REKEY, "catalogue_svc"])
def test_every_ciphertext_column_is_rekeyed(package: str) -> None:
    importlib.import_module(f"{package}.adapters.orm")  # registers the service's tables
    specs: list[EncryptedColumns] = (
        importlib.import_module(f"{package}.entrypoints.rekey").ENCRYPTED if package in WITH_REKEY else []
    )
    tables = list(service_metadata(f"{package}.").tables.values())
    assert uncovered_columns(tables, specs) == set()
    assert {spec.table.name for spec in specs} <= {t.name for t in tables}
