"""The whole mesh as separate processes on real Kafka and PostgreSQL, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tongban_kit import testing


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
            env = {**envs[comp.name], "TONGBAN_TRACE_LOG": "1", "CASE_DEADLINE_INTERVAL_SECONDS": "2"}
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
