"""Catalogue service: the app factory (`uvicorn --factory catalogue_svc.main:create_app`)."""

import gc
from pathlib import Path

from fastapi import FastAPI
from tongban_contracts import topics
from tongban_kit.app import ServiceRuntime, create_service_app

from catalogue_svc.adapters.database import read_session_factory, tune_connections
from catalogue_svc.api import faqs, guide, items, regions
from catalogue_svc.api.deps import READ_SESSIONS_KEY, uow_for
from catalogue_svc.api.errors import install_catalogue_problem_handlers
from catalogue_svc.config import Settings, get_settings
from catalogue_svc.service_layer.seeding import seed_catalogue

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def tune_database(runtime: ServiceRuntime) -> None:
    """Per-connection database settings; runs before anything opens a connection."""
    tune_connections(runtime.engine)
    runtime.extras[READ_SESSIONS_KEY] = read_session_factory(runtime.engine)


async def load_seed_catalogue(runtime: ServiceRuntime) -> None:
    """Load the national seed list into an empty database, in every environment (it is the content)."""
    await seed_catalogue(uow=uow_for(runtime))


async def freeze_startup_objects(runtime: ServiceRuntime) -> None:
    """Move what startup built (routes, models, seed, pinyin tables) out of the collector's reach.

    A full collection traverses every live object; without this, one lands every few hundred
    requests and stalls the event loop for tens of milliseconds, the p99 of an item read.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the catalogue service app."""
    settings = settings or get_settings()
    app = create_service_app(
        service="catalogue",
        title="Catalogue service",
        description="The national catalogue of cross-province service items (跨省通办事项清单): versioned "
        "items, region implementations (实施清单), FAQ and service guides. Reads of published items "
        "need no token.",
        settings=settings,
        service_root=SERVICE_ROOT,
        routers=[items.router, regions.router, faqs.router, guide.router],
        topics=topics.ALL_TOPICS,
        on_startup=[
            tune_database,
            *([load_seed_catalogue] if settings.load_seed else []),
            freeze_startup_objects,
        ],
    )
    install_catalogue_problem_handlers(app)
    return app
