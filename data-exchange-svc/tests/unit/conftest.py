"""Fixtures of the exchange tests: one hub per module, its sandbox reset before each test."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest


def _load_hubkit() -> Any:
    if "exchange_hubkit" in sys.modules:
        return sys.modules["exchange_hubkit"]
    path = Path(__file__).parents[1] / "hubkit.py"
    spec = importlib.util.spec_from_file_location("exchange_hubkit", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["exchange_hubkit"] = module
    spec.loader.exec_module(module)
    return module


hubkit = _load_hubkit()


@pytest.fixture(scope="module")
async def hub_module(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    async with hubkit.running_hub(tmp_path_factory.mktemp("hub")) as running:
        yield running


@pytest.fixture
async def hub(hub_module: Any) -> Any:
    """The module's hub with every sandbox provider back to normal."""
    r = await hub_module.sandbox_client.post("/control/reset")
    assert r.status_code == 200
    return hub_module
