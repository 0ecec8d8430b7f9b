#!/usr/bin/env python3
"""Run a single-node Apache Kafka broker (KRaft, combined mode) on loopback for local runs and tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

import localproc

HERE = Path(__file__).resolve().parent
POM = HERE / "kafka" / "pom.xml"
# Below Linux's ephemeral range (32768-60999): no client socket or free_port() can hold these ports
# while the broker is stopped for an outage test, so a restart always binds.
LOCAL_BOOTSTRAP = "127.0.0.1:19092"
CONTROLLER = "127.0.0.1:19093"
READY_TIMEOUT_S = float(os.environ.get("TONGBAN_KAFKA_READY_TIMEOUT") or 90)
STOP_GRACE_S = 20.0


def kafka_version() -> str:
    """Read the pinned Kafka version from the pom, the one place it is written."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)  # noqa: S314 - our own file
    if node is None or not (node.text or "").strip():
        raise SystemExit(f"kafka.version missing in {POM}")
    return (node.text or "").strip()


KAFKA: localproc.Daemon = localproc.Daemon(
    tag="kafka",
    noun="broker",
    env_var="TONGBAN_KAFKA_BOOTSTRAP",
    local_address=LOCAL_BOOTSTRAP,
    probe=lambda: probe(KAFKA.address()),
    marker=b"kafka.Kafka",
    # A metadata round trip costs a client start-up; once a second is often enough for a JVM boot.
    ready=localproc.Wait(READY_TIMEOUT_S, every_s=1.0),
    stop_grace=localproc.Wait(STOP_GRACE_S, every_s=0.2),
)
log = KAFKA.log


# --- jars ---------------------------------------------------------------------------------------


def pom_digest() -> str:
    """Hash of the pom, so a changed dependency list re-resolves the cached jars."""
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def has_jars(folder: Path) -> bool:
    """True when a folder holds the broker's main jar (the sign that Maven copied the set)."""
    return any(folder.glob("kafka_2.13-*.jar"))


def maven_copy(mvn: str, into: Path) -> localproc.Command:
    """Maven copying the pom's runtime dependencies (the broker's jars) into a folder."""
    return localproc.Command(
        [
            mvn,
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={into}",
            "-DincludeScope=runtime",
        ]
    )


def libs_dir() -> Path:
    """Resolve the broker's jars with Maven once per pom and return the directory holding them."""
    version = kafka_version()
    home = localproc.cache_root() / f"kafka-{version}"
    libs = home / "libs"
    stamp = home / "pom.sha256"
    digest = pom_digest()
    if libs.is_dir() and has_jars(libs) and localproc.read_text(stamp) == digest:
        return libs
    mvn = KAFKA.require("mvn", "Maven (mvn) is needed to resolve the Kafka jars: apt-get install -y maven")
    log(f"resolving Kafka {version} jars with Maven into {libs}")
    scratch = KAFKA.build(
        home, "libs.", partial(maven_copy, mvn), has_jars, "Maven could not resolve the Kafka jars"
    )
    if libs.exists():
        shutil.rmtree(libs)
    scratch.rename(libs)
    stamp.write_text(digest)
    return libs


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


class Paths(localproc.StatePaths):
    """Where the broker keeps its state (pid, log and lock as localproc names them)."""

    def __init__(self) -> None:
        super().__init__("kafka")
        self.props = self.root / "server.properties"
        self.log4j = self.root / "log4j2.xml"


def java_cmd(libs: Path, paths: Paths, main: str, *args: str) -> list[str]:
    """A java command line with the cached jars on the class path."""
    java = KAFKA.require("java", "Java 17+ is needed: apt-get install -y openjdk-17-jre-headless")
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


# --- commands -----------------------------------------------------------------------------------


def launch(paths: Paths) -> localproc.Command | int:
    """Resolve the jars, write the configuration and format storage once; the broker's command line."""
    libs = libs_dir()
    paths.data.mkdir(parents=True, exist_ok=True)
    paths.props.write_text(server_properties(paths.data))
    paths.log4j.write_text(LOG4J2)
    if not (paths.data / "meta.properties").exists():
        cid = new_cluster_id()
        log(f"formatting storage in {paths.data} (cluster id {cid})")
        fmt = java_cmd(libs, paths, "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(paths.props))
        result = subprocess.run(fmt, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            log("formatting storage failed:\n" + result.stdout + result.stderr)
            return 1
    log(f"starting Kafka {kafka_version()} on {LOCAL_BOOTSTRAP} (log: {paths.log})")
    return localproc.Command(java_cmd(libs, paths, "kafka.Kafka", str(paths.props)))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    return KAFKA.main(argv, __doc__, Paths, launch, ("start", "stop", "status", "ensure", "libs"), libs_dir)


if __name__ == "__main__":
    sys.exit(main())
