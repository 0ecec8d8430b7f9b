"""Identity service: the app factory (`uvicorn --factory identity_svc.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI
from tongban_contracts import topics
from tongban_kit.app import create_service_app

from identity_svc.config import Settings, get_settings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the identity service app."""
    settings = settings or get_settings()
    return create_service_app(
        service="identity",
        title="Identity service",
        description="Identity service of the Tongban mesh.",
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[],
        topics=topics.ALL_TOPICS,
    )
