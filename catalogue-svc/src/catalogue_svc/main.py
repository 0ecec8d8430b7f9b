"""Catalogue service: the app factory (`uvicorn --factory catalogue_svc.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from catalogue_svc.config import Settings, get_settings
from tongban_contracts import topics
from tongban_kit.app import create_service_app

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the catalogue service app."""
    settings = settings or get_settings()
    return create_service_app(
        service="catalogue",
        title="Catalogue service",
        description="Catalogue service of the Tongban mesh.",
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[],
        topics=topics.ALL_TOPICS,
    )
