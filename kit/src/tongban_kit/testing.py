"""The one test launcher: local broker, per-run PostgreSQL databases and topic prefix, app processes."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, TypeVar

LOCAL_BOOTSTRAP = "127.0.0.1:19092"
DEFAULT_PG_ADMIN_URL = "postgresql://tongban:tongban@127.0.0.1:5432/postgres"

_T = TypeVar("_T")

_SESSION_HEX = secrets.token_hex(6)
_DB_NAME_PREFIX = "tb_"


# --- locations ----------------------------------------------------------------------------------


def repo_root() -> Path:
    """The checkout holding deploy/local/kafka.py (TONGBAN_REPO overrides the search)."""
    override = os.environ.get("TONGBAN_REPO")
    if override:
        return Path(override)
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "deploy" / "local" / "kafka.py").is_file():
                return candidate
    raise RuntimeError("cannot find deploy/local/kafka.py; set TONGBAN_REPO to the checkout")


def var_dir() -> Path:
    """Runtime state directory: TONGBAN_VAR, by default <repo>/var."""
    override = os.environ.get("TONGBAN_VAR")
    return Path(override) if override else repo_root() / "var"


# --- broker -------------------------------------------------------------------------------------


def kafka_bootstrap() -> str:
    """The bootstrap address tests should use (TONGBAN_KAFKA_BOOTSTRAP or the local broker)."""
    return os.environ.get("TONGBAN_KAFKA_BOOTSTRAP") or LOCAL_BOOTSTRAP


def broker_is_external() -> bool:
    """True when TONGBAN_KAFKA_BOOTSTRAP points at a cluster the launcher must not manage."""
    return kafka_bootstrap() != LOCAL_BOOTSTRAP


def _kafka_script(command: str, timeout: float = 180.0) -> None:
    """Run deploy/local/kafka.py with this interpreter; raise with its output on failure."""
    script = repo_root() / "deploy" / "local" / "kafka.py"
    result = subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, str(script), command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise RuntimeError(f"kafka.py {command} failed ({result.returncode}):\n{output}")


def ensure_broker() -> str:
    """Start the local broker unless it runs (or is external) and return the bootstrap address."""
    if not broker_is_external():
        _kafka_script("ensure")
    return kafka_bootstrap()


def broker_stop() -> None:
    """Stop the local broker (for outage tests); refuses to touch an external cluster."""
    if broker_is_external():
        raise RuntimeError("TONGBAN_KAFKA_BOOTSTRAP is external; the launcher cannot stop it")
    _kafka_script("stop")


def broker_start() -> None:
    """Start the local broker again after broker_stop() and wait until it answers."""
    if broker_is_external():
        raise RuntimeError("TONGBAN_KAFKA_BOOTSTRAP is external; the launcher cannot start it")
    _kafka_script("start")


def ensure_redis() -> str:
    """A Redis URL: ``TONGBAN_REDIS_URL``, else the local server ``deploy/local/redis.sh`` starts."""
    url = os.environ.get("TONGBAN_REDIS_URL")
    if url:
        return url
    script = repo_root() / "deploy" / "local" / "redis.sh"
    out = subprocess.run(["bash", str(script), "ensure"], capture_output=True, text=True, timeout=300)  # noqa: S603, S607
    if out.returncode != 0:
        raise RuntimeError(f"redis.sh ensure failed:\n{out.stdout}{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def run_topic_prefix() -> str:
    """A topic prefix unique to this test session, e.g. ``t3f9a0c12b4d1.``."""
    return f"t{_SESSION_HEX}."


# --- PostgreSQL ---------------------------------------------------------------------------------


def pg_admin_url() -> str:
    """Admin connection URL (TONGBAN_TEST_PG_ADMIN_URL) of a role that may create databases."""
    return os.environ.get("TONGBAN_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL


def _plain_url(url: str, database: str | None = None) -> str:
    """The URL as asyncpg accepts it (driver suffix removed), optionally for another database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _database_name(hint: str) -> str:
    """``tb_<hint>_<hex>``: lower-case, safe as an unquoted identifier, within 63 bytes."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", hint.lower()).strip("_")[:32] or "db"
    return f"{_DB_NAME_PREFIX}{cleaned}_{secrets.token_hex(5)}"


async def create_database(name_hint: str) -> str:
    """Create a fresh database ``tb_<hint>_<hex>`` and return its ``postgresql+asyncpg://`` URL."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = _database_name(name_hint)
    conn = await asyncpg.connect(_plain_url(pg_admin_url()), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(pg_admin_url()).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop a database made by create_database, closing its open connections first."""
    import asyncpg
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if not re.fullmatch(r"tb_[a-z0-9_]+", name):
        raise ValueError(f"refusing to drop {name!r}: not a database made by create_database")
    conn = await asyncpg.connect(_plain_url(pg_admin_url()), timeout=10)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code, even when a loop already runs in this thread."""
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner, name="tongban-testing-sync")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


def create_database_sync(name_hint: str) -> str:
    """create_database() for sync fixtures."""
    return _run_sync(create_database(name_hint))


def drop_database_sync(url: str) -> None:
    """drop_database() for sync fixtures."""
    _run_sync(drop_database(url))


# --- app processes ------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_dir() -> Path:
    """Per-session directory for app logs, so a failing run leaves its evidence behind."""
    return var_dir() / "test-logs" / _SESSION_HEX


_live: set[AppProcess] = set()


class AppProcess:
    """One app started with ``uvicorn --factory`` in its own process group, its output in a log file."""

    def __init__(
        self,
        module_factory: str,
        env: Mapping[str, str],
        port: int,
        name: str,
        log_path: Path | None = None,
    ) -> None:
        self.module_factory = module_factory
        self.env = dict(env)
        self.port = port
        self.name = name
        self.log_path = log_path or _log_dir() / f"{name}.log"
        self.base_url = f"http://127.0.0.1:{port}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while started."""
        return self._proc.pid if self._proc is not None else None

    def command(self) -> list[str]:
        """The uvicorn command line."""
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.module_factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-proxy-headers",  # as the images run it: the gateway, not uvicorn, reads X-Forwarded-*
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "5",
        ]

    def start(self) -> AppProcess:
        """Start the process; the environment is this process's plus the given variables."""
        if self._proc is not None:
            raise RuntimeError(f"{self.name} already started")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argument list
            self.command(),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _live.add(self)
        return self

    def is_running(self) -> bool:
        """True while the process has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the app's log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _not_ready(self, path: str, timeout: float, last: str) -> Exception:
        if not self.is_running():
            code = self._proc.returncode if self._proc is not None else None
            return RuntimeError(f"{self.name} exited with {code} before {path} was ready:\n{self.log_tail()}")
        return TimeoutError(
            f"{self.name}: {self.base_url}{path} not ready after {timeout:.0f} s ({last}):\n{self.log_tail()}"
        )

    def wait_ready(self, path: str = "/readyz", timeout: float = 60.0) -> None:
        """Poll ``path`` until it answers 200; raise with the log tail if it dies or times out."""
        import httpx

        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline and self.is_running():
                try:
                    response = client.get(path)
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                time.sleep(0.25)
        raise self._not_ready(path, timeout, last)

    async def wait_ready_async(self, path: str = "/readyz", within: float = 60.0) -> None:
        """wait_ready() without blocking the event loop (``within`` seconds)."""
        import httpx

        deadline = time.monotonic() + within
        last = "no answer"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline and self.is_running():
                try:
                    response = await client.get(path)
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                await asyncio.sleep(0.25)
        raise self._not_ready(path, within, last)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; return the exit code. Idempotent."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        _live.discard(self)
        return proc.returncode

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # The app runs in its own session, so its group id is its pid and children go too.
            os.killpg(self._proc.pid, sig)


def start_app(
    module_factory: str, env: Mapping[str, str], port: int, name: str, log_path: Path | None = None
) -> AppProcess:
    """Start ``uvicorn --factory module_factory`` on 127.0.0.1:port and return it (not yet ready)."""
    return AppProcess(module_factory, env, port, name, log_path).start()


class Mesh:
    """Several app processes started together and all stopped on exit."""

    def __init__(self) -> None:
        self.apps: dict[str, AppProcess] = {}

    def add(
        self, name: str, module_factory: str, env: Mapping[str, str], port: int | None = None
    ) -> AppProcess:
        """Start one more app (on a free port unless given)."""
        if name in self.apps:
            raise ValueError(f"an app named {name!r} is already in the mesh")
        app = start_app(module_factory, env, port if port is not None else free_port(), name)
        self.apps[name] = app
        return app

    def __getitem__(self, name: str) -> AppProcess:
        return self.apps[name]

    def __iter__(self) -> Iterator[AppProcess]:
        return iter(self.apps.values())

    def wait_ready(self, path: str = "/readyz", timeout: float = 90.0) -> None:
        """Wait until every app answers ``path`` with 200 (one shared deadline)."""
        deadline = time.monotonic() + timeout
        for app in self.apps.values():
            app.wait_ready(path, max(1.0, deadline - time.monotonic()))

    async def wait_ready_async(self, path: str = "/readyz", within: float = 90.0) -> None:
        """wait_ready() without blocking the event loop; apps are polled concurrently."""
        await asyncio.gather(*(app.wait_ready_async(path, within) for app in self.apps.values()))

    def stop(self) -> None:
        """Stop every app, the last started first; SIGTERM all at once so shutdowns overlap."""
        apps = list(reversed(self.apps.values()))
        for app in apps:
            if app.is_running():
                app._signal(signal.SIGTERM)
        for app in apps:
            app.stop()

    def __enter__(self) -> Mesh:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@atexit.register
def _stop_leftovers() -> None:
    """Stop apps a crashed or interrupted session did not stop, so none outlives the run."""
    for app in list(_live):
        app.stop(timeout=5.0)


# --- the mesh's components ------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One process of the mesh: its app factory, default port, env prefix and database name."""

    name: str
    factory: str
    port: int
    prefix: str
    database: str | None


COMPONENTS: tuple[Component, ...] = (
    Component("identity", "identity_svc.main:create_app", 8003, "IDENTITY_", "identity"),
    Component("catalogue", "catalogue_svc.main:create_app", 8001, "CATALOGUE_", "catalogue"),
    Component("case", "case_svc.main:create_app", 8002, "CASE_", "case"),
    Component("eseal", "eseal_svc.main:create_app", 8004, "ESEAL_", "eseal"),
    Component("exchange", "data_exchange_svc.main:create_app", 8005, "EXCHANGE_", "exchange"),
    Component("sandbox", "data_exchange_svc.sandbox:create_app", 8006, "SANDBOX_", None),
    Component("gateway", "tongban_gateway.main:create_app", 8000, "GATEWAY_", None),
)


def mesh_env(
    ports: Mapping[str, int],
    *,
    env: str = "dev",
    database_urls: Mapping[str, str] | None = None,
    topic_prefix: str = "",
    bootstrap: str | None = None,
) -> dict[str, dict[str, str]]:
    """The environment of every component so that they find each other on the given ports."""
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    shared = {
        # Each app reads X-Forwarded-* itself from trusted proxies only; uvicorn must not believe them.
        "UVICORN_PROXY_HEADERS": "false",
        "TONGBAN_ENV": env,
        "TONGBAN_KAFKA_BOOTSTRAP": bootstrap or kafka_bootstrap(),
        "TONGBAN_TOPIC_PREFIX": topic_prefix,
        "TONGBAN_IDENTITY_URL": url["identity"],
        "TONGBAN_PUBLIC_URL": url["gateway"],
        "CASE_CATALOGUE_URL": url["catalogue"],
        "EXCHANGE_CASE_URL": url["case"],
        "EXCHANGE_SANDBOX_URL": url["sandbox"],
        "SANDBOX_HUB_JWKS_URL": url["exchange"] + "/.well-known/jwks.json",
        "GATEWAY_UPSTREAM_CATALOGUE": url["catalogue"],
        "GATEWAY_UPSTREAM_CASE": url["case"],
        "GATEWAY_UPSTREAM_IDENTITY": url["identity"],
        "GATEWAY_UPSTREAM_ESEAL": url["eseal"],
        "GATEWAY_UPSTREAM_EXCHANGE": url["exchange"],
    }
    out: dict[str, dict[str, str]] = {}
    for comp in COMPONENTS:
        e = dict(shared)
        e[f"{comp.prefix}PORT"] = str(ports[comp.name])
        if database_urls and comp.database and comp.database in database_urls:
            e[f"{comp.prefix}DATABASE_URL"] = database_urls[comp.database]
        out[comp.name] = e
    return out
