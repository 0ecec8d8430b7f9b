#!/usr/bin/env python3
"""Run an S3-compatible server (Versity S3 Gateway, POSIX backend) on loopback for local runs and tests."""

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
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# The gateway is built from the Go module proxy once per version (Apache-2.0, a single static binary).
VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION = "v1.8.0"
HOST = "127.0.0.1"
# Below the Linux ephemeral range (32768-60999), so an outgoing connection never holds it.
PORT = 29000
LOCAL_ENDPOINT = f"http://{HOST}:{PORT}"
# Root keys of the local server only (it listens on loopback and holds throw-away data).
LOCAL_ACCESS_KEY = "tongban-dev"
LOCAL_SECRET_KEY = "tongban-dev-secret"
REGION = "us-east-1"
READY_TIMEOUT_S = float(os.environ.get("TONGBAN_S3_READY_TIMEOUT") or 30)
STOP_GRACE_S = 10.0


def log(message: str) -> None:
    """Print a progress line the way the Makefile shows it."""
    print(f"[s3] {message}", flush=True)


def cache_root() -> Path:
    """Binary cache outside the clone so a fresh clone or `make clean` does not build again."""
    return Path(os.environ.get("TONGBAN_CACHE") or Path.home() / ".cache" / "tongban")


def endpoint() -> str:
    """The endpoint clients should use."""
    return os.environ.get("TONGBAN_S3_ENDPOINT") or LOCAL_ENDPOINT


def is_external() -> bool:
    """True when TONGBAN_S3_ENDPOINT names a server we must not manage."""
    return endpoint().rstrip("/") != LOCAL_ENDPOINT


def credentials() -> tuple[str, str]:
    """Access and secret key for the endpoint (the local server's unless overridden)."""
    return (
        os.environ.get("TONGBAN_S3_ACCESS_KEY") or LOCAL_ACCESS_KEY,
        os.environ.get("TONGBAN_S3_SECRET_KEY") or LOCAL_SECRET_KEY,
    )


def dev_bucket() -> str:
    """The bucket `ensure` creates for local runs (tests make their own)."""
    return os.environ.get("TONGBAN_S3_BUCKET") or "tongban-dev"


# --- binary -------------------------------------------------------------------------------------


def gateway_binary() -> Path:
    """Build the gateway with `go install` once per version and return the cached binary."""
    home = cache_root() / f"versitygw-{VERSITYGW_VERSION}"
    binary = home / "versitygw"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go")
    if go is None:
        raise SystemExit("[s3] Go is needed to build the S3 gateway: apt-get install -y golang-go")
    home.mkdir(parents=True, exist_ok=True)
    log(f"building versitygw {VERSITYGW_VERSION} with go install into {home} (about a minute, once)")
    # Build into a scratch directory and move the binary in, so an interrupted build never looks done.
    scratch = Path(tempfile.mkdtemp(prefix="bin.", dir=home))
    env = {**os.environ, "GOBIN": str(scratch), "GOFLAGS": "-mod=mod"}
    cmd = [go, "install", f"{VERSITYGW_MODULE}@{VERSITYGW_VERSION}"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    built = scratch / "versitygw"
    if result.returncode != 0 or not built.is_file():
        shutil.rmtree(scratch, ignore_errors=True)
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"[s3] go install of versitygw failed (exit {result.returncode})")
    built.replace(binary)
    shutil.rmtree(scratch, ignore_errors=True)
    return binary


# --- process ------------------------------------------------------------------------------------


class Paths:
    """Where the server keeps its state."""

    def __init__(self) -> None:
        self.root = Path(os.environ.get("TONGBAN_VAR") or REPO / "var") / "s3"
        self.data = self.root / "data"
        # Object metadata (ETag, checksums) in a side directory instead of extended attributes, so
        # any filesystem under var/ works (tmpfs and some overlays lack user xattrs).
        self.meta = self.root / "meta"
        self.pid = self.root / "s3.pid"
        self.log = self.root / "s3.log"
        self.lock = self.root / ".lock"


def server_cmd(binary: Path, paths: Paths) -> list[str]:
    """The gateway's command line: loopback only, quiet, keep-alive, a health path, POSIX storage."""
    return [
        str(binary),
        "--port",
        f"{HOST}:{PORT}",
        "--region",
        REGION,
        "--health",
        "/health",
        "--keep-alive",
        "--quiet",
        "posix",
        "--sidecar",
        str(paths.meta),
        str(paths.data),
    ]


def running_pid(paths: Paths) -> int | None:
    """The server's pid if our pid file names a live versitygw process (guards against pid reuse)."""
    try:
        text = paths.pid.read_text().strip()
        cmdline = Path(f"/proc/{int(text)}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return int(text) if b"versitygw" in cmdline and is_alive(int(text)) else None


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def locked(paths: Paths) -> Iterator[None]:
    """Serialise start/stop between concurrent callers (several test sessions may race)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with paths.lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- readiness ----------------------------------------------------------------------------------


def client() -> object:
    """A synchronous S3 client for the endpoint (botocore comes with case-svc's aiobotocore)."""
    import botocore.session
    from botocore.config import Config

    access, secret = credentials()
    config = Config(
        s3={"addressing_style": "path"},
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 1},
        request_checksum_calculation="when_required",
    )
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint(),
        region_name=REGION,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=config,
    )


def probe() -> bool:
    """True when the endpoint answers a signed ListBuckets (a real S3 round trip, not a port probe)."""
    try:
        client().list_buckets()  # type: ignore[attr-defined]
    except Exception:  # any failure means "not ready yet"
        return False
    return True


def wait_ready(timeout: float, pid: int | None) -> bool:
    """Poll until the server answers, the process dies, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        if pid is not None and not is_alive(pid):
            log("the server process exited during start")
            return False
        time.sleep(0.1)
    return False


def create_dev_bucket() -> None:
    """Make the local-run bucket exist (already owning it is fine)."""
    from botocore.exceptions import ClientError

    try:
        client().create_bucket(Bucket=dev_bucket())  # type: ignore[attr-defined]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            raise


# --- commands -----------------------------------------------------------------------------------


def start(paths: Paths) -> int:
    """Start the server unless it runs already; return once it answers a signed request."""
    if is_external():
        log(f"TONGBAN_S3_ENDPOINT={endpoint()} is external; not starting a local server")
        return check_ready(paths)
    with locked(paths):
        pid = running_pid(paths)
        if pid is not None:
            log(f"already running (pid {pid}) on {LOCAL_ENDPOINT}")
            return check_ready(paths, pid)
        if probe():
            log(f"a server not started from {paths.root} already answers on {LOCAL_ENDPOINT}; using it")
            return check_ready(paths)
        binary = gateway_binary()
        paths.data.mkdir(parents=True, exist_ok=True)
        paths.meta.mkdir(parents=True, exist_ok=True)
        log(f"starting versitygw {VERSITYGW_VERSION} on {LOCAL_ENDPOINT} (log: {paths.log})")
        access, secret = credentials()
        env = {**os.environ, "ROOT_ACCESS_KEY": access, "ROOT_SECRET_KEY": secret}
        with paths.log.open("ab") as out:
            out.write(f"==== s3.py start {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
            out.flush()
            proc = subprocess.Popen(  # noqa: S603 - fixed argument list
                server_cmd(binary, paths),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                env=env,
            )
        paths.pid.write_text(str(proc.pid))
        # The server outlives this script; stop Popen from reaping or warning about it.
        proc.returncode = 0
        if wait_ready(READY_TIMEOUT_S, proc.pid):
            create_dev_bucket()
            log(f"ready on {LOCAL_ENDPOINT} (pid {proc.pid}), bucket {dev_bucket()}")
            return 0
        log(f"the server did not become ready; last lines of {paths.log}:\n{tail(paths.log)}")
        if is_alive(proc.pid):
            os.kill(proc.pid, signal.SIGKILL)
        paths.pid.unlink(missing_ok=True)
        return 1


def check_ready(paths: Paths, pid: int | None = None) -> int:
    """Exit status 0 when the endpoint answers within the readiness timeout."""
    if wait_ready(READY_TIMEOUT_S, pid):
        create_dev_bucket()
        log(f"ready on {endpoint()}, bucket {dev_bucket()}")
        return 0
    log(f"{endpoint()} did not answer a signed request within {READY_TIMEOUT_S:.0f} s")
    if not is_external():
        log(f"last lines of {paths.log}:\n{tail(paths.log)}")
    return 1


def stop(paths: Paths) -> int:
    """SIGTERM the server by pid, SIGKILL it if it is still alive after the grace period."""
    if is_external():
        log("external server; nothing to stop")
        return 0
    with locked(paths):
        pid = running_pid(paths)
        if pid is None:
            log("not started by this script; nothing to stop")
            paths.pid.unlink(missing_ok=True)
            return 0
        log(f"stopping pid {pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and is_alive(pid):
            time.sleep(0.1)
        if is_alive(pid):
            log(f"still alive after {STOP_GRACE_S:.0f} s; sending SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while is_alive(pid):
                time.sleep(0.1)
        paths.pid.unlink(missing_ok=True)
        log("stopped")
        return 0


def status(paths: Paths) -> int:
    """Print whether the server runs and answers; exit 0 only when it answers."""
    pid = None if is_external() else running_pid(paths)
    answers = probe()
    where = "external" if is_external() else (f"pid {pid}" if pid else "not started here")
    log(f"{endpoint()}: {'ready' if answers else 'not answering'} ({where})")
    return 0 if answers else 3


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["start", "ensure", "stop", "status", "bin"])
    args = parser.parse_args(argv)
    paths = Paths()
    if args.command in ("start", "ensure"):
        return start(paths)
    if args.command == "stop":
        return stop(paths)
    if args.command == "bin":
        print(gateway_binary())
        return 0
    return status(paths)


if __name__ == "__main__":
    sys.exit(main())
