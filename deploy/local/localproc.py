"""What kafka.py and s3.py share: state and cache folders, a cached build, and running one server process."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent.parent


def cache_root() -> Path:
    """Jars and binaries are cached outside the clone, so a fresh clone or `make clean` fetches nothing."""
    return Path(os.environ.get("TONGBAN_CACHE") or Path.home() / ".cache" / "tongban")


class StatePaths:
    """Where a managed process keeps its state: under TONGBAN_VAR (by default <repo>/var), one folder each."""

    def __init__(self, name: str) -> None:
        self.root = Path(os.environ.get("TONGBAN_VAR") or REPO / "var") / name
        self.data = self.root / "data"  # the server's data; it survives a stop and start
        self.pid = self.root / f"{name}.pid"
        self.log = self.root / f"{name}.log"
        # Serialises start and stop between concurrent callers.
        self.lock = self.root / ".lock"


P = TypeVar("P", bound=StatePaths)


def read_text(path: Path) -> str | None:
    """A small file's stripped text, or None when it cannot be read."""
    try:
        return path.read_text().strip()
    except OSError:
        return None


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass(frozen=True)
class Command:
    """A command line to run and, when it differs from ours, its environment."""

    cmd: list[str]
    env: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Wait:
    """How long to wait for something and how often to look."""

    limit_s: float
    every_s: float


@dataclass(frozen=True)
class Daemon:
    """One kind of local server process: how it is named, recognised, probed, started and stopped."""

    tag: str  # the script's name without .py; prefixes every progress line
    noun: str  # "broker" or "server" in messages
    env_var: str  # the variable that names another server instead of ours
    local_address: str  # where the process we start listens
    probe: Callable[[], bool]  # one real request to address(); True when it succeeds
    marker: bytes  # a part of its /proc/<pid>/cmdline, so a reused pid is not mistaken for it
    ready: Wait  # for the address to answer
    stop_grace: Wait  # for the process to exit after SIGTERM, before SIGKILL
    # Setup to do once the address answers; returns what to add to the ready line. A server that
    # answers on our port but was not started here (another checkout's) is used as it is, unless
    # there is such setup to do there too.
    on_ready: Callable[[], str] | None = None
    unanswered: str = "did not answer"  # how a failed readiness wait is worded
    not_running: str = "not running"  # what stop says when our pid file names no live process
    tail_lines: int = 40  # how much of the log a failure shows

    def log(self, message: str) -> None:
        """Print a progress line the way the Makefile shows it."""
        print(f"[{self.tag}] {message}", flush=True)

    def address(self) -> str:
        """Where clients connect: env_var's value, else our local address."""
        return os.environ.get(self.env_var) or self.local_address

    def is_external(self) -> bool:
        """True when address() names a server we must not manage (a trailing slash still means ours)."""
        return self.address().rstrip("/") != self.local_address

    def _ready_line(self) -> str:
        """Run the setup for a server that answers and return what to add to the ready line."""
        return self.on_ready() if self.on_ready is not None else ""

    def require(self, tool: str, need: str) -> str:
        """The path of a command this script needs, or exit saying how to install it."""
        path = shutil.which(tool)
        if path is None:
            raise SystemExit(f"[{self.tag}] {need}")
        return path

    def build(
        self,
        home: Path,
        prefix: str,
        command: Callable[[Path], Command],
        done: Callable[[Path], bool],
        failure: str,
    ) -> Path:
        """Run a build writing into a fresh scratch folder under home; return the folder once done() holds."""
        home.mkdir(parents=True, exist_ok=True)
        # The caller swaps the result in afterwards, so an interrupted build never looks complete.
        scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=home))
        how = command(scratch)
        # The build output stays out of our stdout (it may carry terminal escapes); shown only on failure.
        result = subprocess.run(how.cmd, capture_output=True, text=True, env=how.env, check=False)  # noqa: S603
        if result.returncode != 0 or not done(scratch):
            shutil.rmtree(scratch, ignore_errors=True)
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"[{self.tag}] {failure} (exit {result.returncode})")
        return scratch

    def running_pid(self, paths: StatePaths) -> int | None:
        """The pid if our pid file names a live process of this kind (guards against pid reuse)."""
        text = read_text(paths.pid)
        if not text or not text.isdigit():
            return None
        pid = int(text)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if self.marker in cmdline and is_alive(pid) else None

    @contextlib.contextmanager
    def locked(self, paths: StatePaths) -> Iterator[None]:
        """Serialise start/stop between concurrent callers (several test sessions may race)."""
        paths.root.mkdir(parents=True, exist_ok=True)
        with paths.lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def tail(self, paths: StatePaths) -> str:
        """The last lines of the process's log."""
        try:
            return "\n".join(paths.log.read_text(errors="replace").splitlines()[-self.tail_lines :])
        except OSError:
            return "(no log)"

    def spawn(self, paths: StatePaths, cmd: list[str], env: Mapping[str, str] | None = None) -> int:
        """Start the process in its own session, output appended to its log, and record its pid."""
        with paths.log.open("ab") as out:
            out.write(f"==== {self.tag}.py start {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
            out.flush()
            proc = subprocess.Popen(  # noqa: S603 - the caller's fixed argument list
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        paths.pid.write_text(str(proc.pid))
        # The process outlives this script; stop Popen from reaping or warning about it.
        proc.returncode = 0
        return proc.pid

    def abandon(self, paths: StatePaths, pid: int) -> int:
        """Report a start that never became ready, kill what was started and return exit status 1."""
        self.log(f"the {self.noun} did not become ready; last lines of {paths.log}:\n{self.tail(paths)}")
        # Do not leave a half-started process holding the ports for the next attempt.
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)
        paths.pid.unlink(missing_ok=True)
        return 1

    def wait_ready(self, pid: int | None) -> bool:
        """Poll until the address answers, the process dies, or the readiness timeout passes."""
        deadline = time.monotonic() + self.ready.limit_s
        while time.monotonic() < deadline:
            if self.probe():
                return True
            if pid is not None and not is_alive(pid):
                self.log(f"the {self.noun} process exited during start")
                return False
            time.sleep(self.ready.every_s)
        return False

    def start(self, paths: P, launch: Callable[[P], Command | int]) -> int:
        """Start the process unless it runs already; return once it answers (launch prepares its command)."""
        if self.is_external():
            self.log(f"{self.env_var}={self.address()} is external; not starting a local {self.noun}")
            return self.check_ready(paths)
        with self.locked(paths):
            pid = self.running_pid(paths)
            if pid is not None:
                self.log(f"already running (pid {pid}) on {self.local_address}")
                return self.check_ready(paths, pid)
            if self.probe():
                # Another checkout's process (or one started by hand) already serves the same port.
                where = f"{paths.root} already answers on {self.local_address}"
                self.log(f"a {self.noun} not started from {where}; using it")
                return self.check_ready(paths) if self.on_ready is not None else 0
            how = launch(paths)
            if isinstance(how, int):
                return how
            pid = self.spawn(paths, how.cmd, how.env)
            if self.wait_ready(pid):
                self.log(f"ready on {self.local_address} (pid {pid}){self._ready_line()}")
                return 0
            return self.abandon(paths, pid)

    def check_ready(self, paths: StatePaths, pid: int | None = None) -> int:
        """Exit status 0 when the address answers within the readiness timeout (after on_ready runs)."""
        if self.wait_ready(pid):
            self.log(f"ready on {self.address()}{self._ready_line()}")
            return 0
        self.log(f"{self.address()} {self.unanswered} within {self.ready.limit_s:.0f} s")
        if not self.is_external():
            self.log(f"last lines of {paths.log}:\n{self.tail(paths)}")
        return 1

    def stop(self, paths: StatePaths) -> int:
        """SIGTERM the process by pid, SIGKILL it if it is still alive after the grace period."""
        if self.is_external():
            self.log(f"external {self.noun}; nothing to stop")
            return 0
        with self.locked(paths):
            pid = self.running_pid(paths)
            if pid is None:
                self.log(self.not_running)
                paths.pid.unlink(missing_ok=True)
                return 0
            self.log(f"stopping pid {pid}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + self.stop_grace.limit_s
            while time.monotonic() < deadline and is_alive(pid):
                time.sleep(self.stop_grace.every_s)
            if is_alive(pid):
                self.log(f"still alive after {self.stop_grace.limit_s:.0f} s; sending SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                while is_alive(pid):
                    time.sleep(0.1)
            paths.pid.unlink(missing_ok=True)
            self.log("stopped")
            return 0

    def status(self, paths: StatePaths) -> int:
        """Print whether the process runs and answers; exit 0 only when it answers, 3 when not."""
        external = self.is_external()
        pid = None if external else self.running_pid(paths)
        answers = self.probe()
        where = "external" if external else (f"pid {pid}" if pid else "not started here")
        self.log(f"{self.address()}: {'ready' if answers else 'not answering'} ({where})")
        return 0 if answers else 3

    def main(
        self,
        argv: list[str] | None,
        description: str | None,
        make_paths: Callable[[], P],
        launch: Callable[[P], Command | int],
        choices: tuple[str, ...],
        extra: Callable[[], object],
    ) -> int:
        """Run one command: start/ensure, stop, status, or the script's own one, which prints extra()."""
        # choices also fixes the order the usage line lists them in; the one not shared is the script's.
        (own,) = [c for c in choices if c not in ("start", "ensure", "stop", "status")]
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("command", choices=list(choices))
        args = parser.parse_args(argv)
        paths = make_paths()
        if args.command in ("start", "ensure"):
            return self.start(paths, launch)
        if args.command == "stop":
            return self.stop(paths)
        if args.command == own:
            print(extra())
            return 0
        return self.status(paths)
