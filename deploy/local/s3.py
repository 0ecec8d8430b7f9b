#!/usr/bin/env python3
"""Run an S3-compatible server (Versity S3 Gateway, POSIX backend) on loopback for local runs and tests."""

from __future__ import annotations

import os
import shutil
import sys
from functools import partial
from pathlib import Path

import localproc

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


S3 = localproc.Daemon(
    tag="s3",
    noun="server",
    env_var="TONGBAN_S3_ENDPOINT",
    local_address=LOCAL_ENDPOINT,
    probe=lambda: probe(),
    marker=b"versitygw",
    # The gateway answers about 30 ms after exec, so a short poll keeps `ensure` fast.
    ready=localproc.Wait(READY_TIMEOUT_S, every_s=0.1),
    stop_grace=localproc.Wait(STOP_GRACE_S, every_s=0.1),
    # Creates the dev bucket, also on a gateway another checkout started.
    on_ready=lambda: bucket_ready(),
    unanswered="did not answer a signed request",
    not_running="not started by this script; nothing to stop",
    tail_lines=30,
)
log = S3.log


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


def has_binary(folder: Path) -> bool:
    """True when a folder holds the gateway's binary."""
    return (folder / "versitygw").is_file()


def go_install(go: str, into: Path) -> localproc.Command:
    """`go install` of the pinned gateway version, writing the binary into a folder."""
    env = {**os.environ, "GOBIN": str(into), "GOFLAGS": "-mod=mod"}
    return localproc.Command([go, "install", f"{VERSITYGW_MODULE}@{VERSITYGW_VERSION}"], env)


def gateway_binary() -> Path:
    """Build the gateway with `go install` once per version and return the cached binary."""
    home = localproc.cache_root() / f"versitygw-{VERSITYGW_VERSION}"
    binary = home / "versitygw"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    go = S3.require("go", "Go is needed to build the S3 gateway: apt-get install -y golang-go")
    log(f"building versitygw {VERSITYGW_VERSION} with go install into {home} (about a minute, once)")
    scratch = S3.build(home, "bin.", partial(go_install, go), has_binary, "go install of versitygw failed")
    built = scratch / "versitygw"
    built.replace(binary)
    shutil.rmtree(scratch, ignore_errors=True)
    return binary


# --- process ------------------------------------------------------------------------------------


class Paths(localproc.StatePaths):
    """Where the server keeps its state (pid, log and lock as localproc names them)."""

    def __init__(self) -> None:
        super().__init__("s3")
        # Object metadata (ETag, checksums) in a side directory instead of extended attributes, so
        # any filesystem under var/ works (tmpfs and some overlays lack user xattrs).
        self.meta = self.root / "meta"


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
        endpoint_url=S3.address(),
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


def bucket_ready() -> str:
    """Create the local-run bucket once the endpoint answers; name it for the ready line."""
    create_dev_bucket()
    return f", bucket {dev_bucket()}"


def launch(paths: Paths) -> localproc.Command:
    """Build the gateway once and make its directories; its command line with the root keys set."""
    binary = gateway_binary()
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.meta.mkdir(parents=True, exist_ok=True)
    log(f"starting versitygw {VERSITYGW_VERSION} on {LOCAL_ENDPOINT} (log: {paths.log})")
    access, secret = credentials()
    env = {**os.environ, "ROOT_ACCESS_KEY": access, "ROOT_SECRET_KEY": secret}
    return localproc.Command(server_cmd(binary, paths), env)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return S3.main(argv, __doc__, Paths, launch, ("start", "ensure", "stop", "status", "bin"), gateway_binary)


if __name__ == "__main__":
    sys.exit(main())
