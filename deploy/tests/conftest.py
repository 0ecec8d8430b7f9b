"""Fixtures of the deploy tests: the chart rendered with the default, production and inline values."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The helpers module sits beside this file; importlib import mode does not put it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_chart import PRODUCTION_EXAMPLE, render, render_inline


@pytest.fixture(scope="session")
def default_docs() -> list[dict[str, Any]]:
    """The chart with its default (dev) values."""
    return render()


@pytest.fixture(scope="session")
def production_docs() -> list[dict[str, Any]]:
    """The chart with the production example (existing Secrets)."""
    return render(PRODUCTION_EXAMPLE)


@pytest.fixture(scope="session")
def inline_docs() -> list[dict[str, Any]]:
    """Production with every secret given inline in values."""
    return render_inline()


@pytest.fixture(scope="session", params=["default", "production", "inline"])
def any_docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Each of the three renders in turn."""
    fixture: list[dict[str, Any]] = request.getfixturevalue(f"{request.param}_docs")
    return fixture
