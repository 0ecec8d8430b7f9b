#!/usr/bin/env python3
"""Run a single-node Apache Kafka broker (KRaft, combined mode) on loopback for local runs and tests."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
POM = HERE / "kafka" / "pom.xml"
LOCAL_BOOTSTRAP = "127.0.0.1:39092"
CONTROLLER = "127.0.0.1:39093"
READY_TIMEOUT_S = float(os.environ.get("TONGBAN_KAFKA_READY_TIMEOUT") or 90)
STOP_GRACE_S = 20.0


def log(message: str) -> None:
    """Print a progress line the way the Makefile shows it."""
    print(f"[kafka] {message}", flush=True)


def kafka_version() -> str:
    """Read the pinned Kafka version from the pom, the one place it is written."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)  # noqa: S314 - our own file
    if node is None or not (node.text or "").strip():
        raise SystemExit(f"kafka.version missing in {POM}")
    return (node.text or "").strip()


def cache_root() -> Path:
    """Jar cache outside the clone so a fresh clone or `make clean` does not download again."""
    return Path(os.environ.get("TONGBAN_CACHE") or Path.home() / ".cache" / "tongban")


def var_dir() -> Path:
    """Broker state (data, pid, logs) lives under TONGBAN_VAR, by default <repo>/var."""
    return Path(os.environ.get("TONGBAN_VAR") or REPO / "var") / "kafka"


def bootstrap() -> str:
    """The bootstrap address clients should use."""
    return os.environ.get("TONGBAN_KAFKA_BOOTSTRAP") or LOCAL_BOOTSTRAP


def is_external() -> bool:
    """True when TONGBAN_KAFKA_BOOTSTRAP names a cluster we must not manage."""
    return bootstrap() != LOCAL_BOOTSTRAP


# --- jars ---------------------------------------------------------------------------------------


def pom_digest() -> str:
    """Hash of the pom, so a changed dependency list re-resolves the cached jars."""
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def libs_dir() -> Path:
    """Resolve the broker's jars with Maven once per pom and return the directory holding them."""
    version = kafka_version()
    home = cache_root() / f"kafka-{version}"
    libs = home / "libs"
    stamp = home / "pom.sha256"
    digest = pom_digest()
    if libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")) and _read(stamp) == digest:
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SystemExit("[kafka] Maven (mvn) is needed to resolve the Kafka jars: apt-get install -y maven")
    home.mkdir(parents=True, exist_ok=True)
    log(f"resolving Kafka {version} jars with Maven into {libs}")
    # Resolve into a scratch directory and swap it in, so an interrupted download never looks complete.
    scratch = Path(tempfile.mkdtemp(prefix="libs.", dir=home))
    cmd = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={scratch}",
        "-DincludeScope=runtime",
    ]
    # Maven's output is kept out of our stdout (it carries terminal escapes) and shown only on failure.
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed args
    if result.returncode != 0 or not any(scratch.glob("kafka_2.13-*.jar")):
        shutil.rmtree(scratch, ignore_errors=True)
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"[kafka] Maven could not resolve the Kafka jars (exit {result.returncode})")
    if libs.exists():
        shutil.rmtree(libs)
    scratch.rename(libs)
    stamp.write_text(digest)
    return libs


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


# --- configuration ------------------------------------------------------------------------------


def server_properties(data: Path) -> str:
    """A loopback combined broker+controller with replication factors of one."""
    host, port = LOCAL_BOOTSTRAP.split(":")
    return f"""\
# Written by deploy/local/kafka.py; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{CONTROLLER}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{CONTROLLER}
advertised.listeners=PLAINTEXT://{host}:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
metadata.log.dir={data}
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=5
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Tests use short session timeouts so an outage does not wait for a long rebalance.
group.min.session.timeout.ms=1000
# Two shared cores: keep the thread pools and the cleaner buffer small.
num.network.threads=2
num.io.threads=2
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
log.retention.hours=24
log.segment.bytes=67108864
"""


LOG4J2 = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by deploy/local/kafka.py: WARN and above to the console (redirected to kafka.log). -->
<Configuration status="WARN">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="stdout"/></Root>
    <!-- Keep the start and shutdown lines so the log shows the broker's lifecycle. -->
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
    <Logger name="kafka.Kafka" level="INFO"/>
  </Loggers>
</Configuration>
"""


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


# --- process ------------------------------------------------------------------------------------


class Paths:
    """Where the broker keeps its state."""

    def __init__(self) -> None:
        self.root = var_dir()
        self.data = self.root / "data"
        self.props = self.root / "server.properties"
        self.log4j = self.root / "log4j2.xml"
        self.pid = self.root / "kafka.pid"
        self.log = self.root / "kafka.log"
        self.lock = self.root / ".lock"


def java_cmd(libs: Path, paths: Paths, main: str, *args: str) -> list[str]:
    """A java command line with the cached jars on the class path."""
    java = shutil.which("java")
    if java is None:
        raise SystemExit("[kafka] Java 17+ is needed: apt-get install -y openjdk-17-jre-headless")
    return [
        java,
        "-Xms512m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={paths.log4j}",
        f"-Dkafka.logs.dir={paths.root}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def running_pid(paths: Paths) -> int | None:
    """The broker's pid if our pid file names a live kafka.Kafka process (guards against pid reuse)."""
    text = _read(paths.pid)
    if not text or not text.isdigit():
        return None
    pid = int(text)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"kafka.Kafka" in cmdline else None


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


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- readiness ----------------------------------------------------------------------------------


async def _probe(servers: str) -> int:
    """One metadata round trip with a real client; returns the number of brokers seen."""
    from aiokafka.admin import AIOKafkaAdminClient

    # A refused connection while the broker boots is expected; do not print aiokafka's error lines.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=5000)
    try:
        await asyncio.wait_for(admin.start(), 10)
        cluster = await asyncio.wait_for(admin.describe_cluster(), 10)
        return len(cluster.get("brokers", []))
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def probe(servers: str) -> bool:
    """True when the cluster answers a metadata request and lists at least one broker."""
    try:
        return asyncio.run(_probe(servers)) > 0
    except Exception:  # any failure means "not ready yet"
        return False


def wait_ready(servers: str, timeout: float, pid: int | None, paths: Paths | None) -> bool:
    """Poll until the broker answers, the process dies, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(servers):
            return True
        if pid is not None and not is_alive(pid):
            log("the broker process exited during start")
            return False
        time.sleep(1.0)
    return False


# --- commands -----------------------------------------------------------------------------------


def start(paths: Paths) -> int:
    """Start the broker unless it runs already; return once it answers metadata requests."""
    if is_external():
        log(f"TONGBAN_KAFKA_BOOTSTRAP={bootstrap()} is external; not starting a local broker")
        return check_ready(paths)
    with locked(paths):
        pid = running_pid(paths)
        if pid is not None:
            log(f"already running (pid {pid}) on {LOCAL_BOOTSTRAP}")
            return check_ready(paths, pid)
        if probe(LOCAL_BOOTSTRAP):
            # Another checkout's broker (or one started by hand) already serves the same port.
            log(f"a broker not started from {paths.root} already answers on {LOCAL_BOOTSTRAP}; using it")
            return 0
        libs = libs_dir()
        paths.data.mkdir(parents=True, exist_ok=True)
        paths.props.write_text(server_properties(paths.data))
        paths.log4j.write_text(LOG4J2)
        if not (paths.data / "meta.properties").exists():
            cid = new_cluster_id()
            log(f"formatting storage in {paths.data} (cluster id {cid})")
            fmt = java_cmd(
                libs, paths, "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(paths.props)
            )
            result = subprocess.run(fmt, capture_output=True, text=True, check=False)  # noqa: S603
            if result.returncode != 0:
                log("formatting storage failed:\n" + result.stdout + result.stderr)
                return 1
        log(f"starting Kafka {kafka_version()} on {LOCAL_BOOTSTRAP} (log: {paths.log})")
        with paths.log.open("ab") as out:
            out.write(f"==== kafka.py start {time.strftime('%Y-%m-%d %H:%M:%S')} ====\n".encode())
            out.flush()
            proc = subprocess.Popen(  # noqa: S603 - fixed argument list
                java_cmd(libs, paths, "kafka.Kafka", str(paths.props)),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        paths.pid.write_text(str(proc.pid))
        # The broker outlives this script; stop Popen from reaping or warning about it.
        proc.returncode = 0
        if wait_ready(LOCAL_BOOTSTRAP, READY_TIMEOUT_S, proc.pid, paths):
            log(f"ready on {LOCAL_BOOTSTRAP} (pid {proc.pid})")
            return 0
        log(f"the broker did not become ready; last lines of {paths.log}:\n{tail(paths.log)}")
        # Do not leave a half-started JVM holding the ports for the next attempt.
        if is_alive(proc.pid):
            os.kill(proc.pid, signal.SIGKILL)
        paths.pid.unlink(missing_ok=True)
        return 1


def check_ready(paths: Paths, pid: int | None = None) -> int:
    """Exit status 0 when the configured bootstrap answers within the readiness timeout."""
    if wait_ready(bootstrap(), READY_TIMEOUT_S, pid, paths):
        log(f"ready on {bootstrap()}")
        return 0
    log(f"{bootstrap()} did not answer within {READY_TIMEOUT_S:.0f} s")
    if not is_external():
        log(f"last lines of {paths.log}:\n{tail(paths.log)}")
    return 1


def stop(paths: Paths) -> int:
    """SIGTERM the broker by pid, SIGKILL it if it is still alive after the grace period."""
    if is_external():
        log("external broker; nothing to stop")
        return 0
    with locked(paths):
        pid = running_pid(paths)
        if pid is None:
            log("not running")
            paths.pid.unlink(missing_ok=True)
            return 0
        log(f"stopping pid {pid}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and is_alive(pid):
            time.sleep(0.2)
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
    """Print whether the broker runs and answers; exit 0 only when it answers."""
    pid = None if is_external() else running_pid(paths)
    answers = probe(bootstrap())
    where = "external" if is_external() else (f"pid {pid}" if pid else "not started here")
    log(f"{bootstrap()}: {'ready' if answers else 'not answering'} ({where})")
    return 0 if answers else 3


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["start", "stop", "status", "ensure", "libs"])
    args = parser.parse_args(argv)
    paths = Paths()
    if args.command in ("start", "ensure"):
        return start(paths)
    if args.command == "stop":
        return stop(paths)
    if args.command == "libs":
        print(libs_dir())
        return 0
    return status(paths)


if __name__ == "__main__":
    sys.exit(main())
