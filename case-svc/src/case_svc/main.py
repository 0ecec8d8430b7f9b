"""Case service: the app factory (`uvicorn --factory case_svc.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from case_svc.config import Settings, get_settings
from tongban_contracts import topics
from tongban_kit.app import create_service_app

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the case service app."""
    settings = settings or get_settings()
    return create_service_app(
        service="case",
        title="Case service",
        description="Case service of the Tongban mesh.",
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[],
        topics=topics.ALL_TOPICS,
    )
