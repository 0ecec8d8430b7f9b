"""The whole mesh as separate processes on real Kafka and PostgreSQL, started once per session."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tongban_kit import testing

sys.path.insert(0, str(Path(__file__).parent))  # the tests import e2e_support by name

from e2e_support import (
    ADMIN,
    BEIJING,
    CASE_TOPIC,
    GUANGDONG,
    MINISTRY,
    SHANGHAI,
    Api,
    Ministry,
    load_subscriber,
    platform,
)


@dataclass
class RunningMesh:
    """Handles on a running mesh: its processes, ports, topic prefix and broker."""

    mesh: testing.Mesh
    ports: dict[str, int]
    topic_prefix: str
    bootstrap: str
    database_urls: dict[str, str]

    def url(self, name: str) -> str:
        """Base URL of one component."""
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def gateway(self) -> str:
        """The one entry point platforms use."""
        return self.url("gateway")

    def topic(self, name: str) -> str:
        """A topic name with this run's prefix."""
        return f"{self.topic_prefix}{name}"

    def log(self, name: str) -> str:
        """The whole log of one component."""
        return self.mesh[name].log_path.read_text(errors="replace")


# On top of testing.mesh_env: spans as log lines (the trace test reads them), a fast deadline worker.
EXTRA_ENV = {"TONGBAN_TRACE_LOG": "1", "CASE_DEADLINE_INTERVAL_SECONDS": "2"}


@pytest.fixture(scope="session")
def running_mesh() -> Iterator[RunningMesh]:
    """Start broker, databases and every app; stop and drop them at the end of the session."""
    bootstrap = testing.ensure_broker()
    prefix = testing.run_topic_prefix() + "e2e."
    databases = {
        c.database: testing.create_database_sync(f"e2e_{c.database}")
        for c in testing.COMPONENTS
        if c.database
    }
    ports = {c.name: testing.free_port() for c in testing.COMPONENTS}
    envs = testing.mesh_env(
        ports, env="test", database_urls=databases, topic_prefix=prefix, bootstrap=bootstrap
    )
    mesh = testing.Mesh()
    try:
        for comp in testing.COMPONENTS:
            env = {**envs[comp.name], **EXTRA_ENV}
            app = testing.AppProcess(comp.factory, env, ports[comp.name], f"e2e-{comp.name}")
            mesh.apps[comp.name] = app.start()
            if comp.name == "identity":
                app.wait_ready("/healthz", 120)
        mesh.wait_ready("/readyz", 180)
        yield RunningMesh(mesh, ports, prefix, bootstrap, databases)
    finally:
        mesh.stop()
        for url in databases.values():
            testing.drop_database_sync(url)


@pytest.fixture(scope="session")
def guangdong(running_mesh: RunningMesh) -> Iterator[Api]:
    """Guangdong's provincial platform (receives cases)."""
    api = platform(running_mesh.gateway, GUANGDONG)
    yield api
    api.close()


@pytest.fixture(scope="session")
def beijing(running_mesh: RunningMesh) -> Iterator[Api]:
    """Beijing's provincial platform (decides cases)."""
    api = platform(running_mesh.gateway, BEIJING)
    yield api
    api.close()


@pytest.fixture(scope="session")
def shanghai(running_mesh: RunningMesh) -> Iterator[Api]:
    """Shanghai's provincial platform (issued a licence earlier; a joint-case participant)."""
    api = platform(running_mesh.gateway, SHANGHAI)
    yield api
    api.close()


@pytest.fixture(scope="session")
def admin(running_mesh: RunningMesh) -> Iterator[Api]:
    """The dev administrator (catalogue, identity, eseal and exchange administration)."""
    api = Api(running_mesh.gateway, *ADMIN)
    yield api
    api.close()


@pytest.fixture(scope="session")
def ministry_api(running_mesh: RunningMesh) -> Iterator[Api]:
    """The ministry's monitoring client (cases:monitor)."""
    api = Api(running_mesh.gateway, *MINISTRY)
    yield api
    api.close()


@pytest.fixture(scope="session")
def story() -> dict[str, Any]:
    """What the scenario modules hand on to later ones: case ids, licence ids, expectations."""
    return {}


@pytest.fixture(scope="session")
def ministry(running_mesh: RunningMesh) -> Iterator[Ministry]:
    """contracts/examples/ministry_subscriber.py following the case topic with its own consumer group."""
    module = load_subscriber()
    follower = module.CaseFollower()
    stop = threading.Event()
    watch = Ministry(follower, threading.Thread(), stop)

    def run() -> None:
        try:
            asyncio.run(
                module.follow(
                    running_mesh.bootstrap,
                    "ministry-e2e-" + running_mesh.topic_prefix.strip("."),
                    running_mesh.topic(CASE_TOPIC),
                    follower=follower,
                    stop=lambda _: stop.is_set(),
                )
            )
        except BaseException as exc:  # reported by the tests that wait on it
            watch.errors.append(exc)

    watch.thread = threading.Thread(target=run, name="ministry-subscriber", daemon=True)
    watch.thread.start()
    yield watch
    stop.set()
    watch.thread.join(30)
