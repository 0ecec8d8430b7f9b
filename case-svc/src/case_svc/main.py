"""Case service: the app factory (`uvicorn --factory case_svc.main:create_app`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from tongban_contracts import topics
from tongban_kit.app import ServiceRuntime, create_service_app
from tongban_kit.crypto import FieldCipher

from case_svc.adapters.blobs import BlobStore, FilesystemBlobStore, S3BlobStore
from case_svc.adapters.catalogue_client import CatalogueClient
from case_svc.api import cases, statistics
from case_svc.api.errors import install_error_handlers
from case_svc.config import Settings, get_settings
from case_svc.domain.working_days import WorkingDayCalendar
from case_svc.entrypoints.consumers import catalogue_consumers
from case_svc.entrypoints.deadline_worker import run_deadline_worker
from case_svc.service_layer.services import CaseServices, ItemCache, NumberAllocator

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def make_blob_store(settings: Settings) -> BlobStore:
    """The configured blob store."""
    if settings.blob_store == "s3":
        return S3BlobStore(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            addressing_style=settings.s3_addressing_style,
            timeout_seconds=settings.s3_timeout_seconds,
        )
    return FilesystemBlobStore(settings.blob_dir)


def build_services(runtime: ServiceRuntime, settings: Settings) -> CaseServices:
    """The handlers' collaborators for a running app."""
    return CaseServices(
        settings=settings,
        cipher=FieldCipher(settings.field_key, settings.field_cipher),
        calendar=WorkingDayCalendar(),
        blobs=make_blob_store(settings),
        catalogue=CatalogueClient(settings.catalogue_url, timeout=settings.catalogue_timeout_seconds),
        numbers=NumberAllocator(runtime.session_factory),
        items=ItemCache(settings.item_cache_seconds),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the case service app."""
    settings = settings or get_settings()

    async def start(runtime: ServiceRuntime) -> None:
        services = build_services(runtime, settings)
        runtime.extras["case"] = services
        if settings.deadline_worker:
            runtime.spawn(run_deadline_worker(runtime.uow, services), "deadline-worker")

    async def stop(runtime: ServiceRuntime) -> None:
        services: CaseServices | None = runtime.extras.get("case")
        if services is not None:
            await services.blobs.aclose()  # the S3 client's connection pool

    app = create_service_app(
        service="case",
        title="Case service",
        description=(
            "Cross-province cases (跨省通办): online, proxy and joint handling, corrections, "
            "working-day deadlines, liaison, ratings and monitoring."
        ),
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[cases.router, statistics.router],
        topics=topics.ALL_TOPICS,
        consumers=catalogue_consumers,
        on_startup=[start],
        on_shutdown=[stop],
        body_limit_overrides={"/materials": settings.max_upload_bytes + 64 * 1024},
    )
    install_error_handlers(app)
    return app
