"""The two scripts the hook Jobs run: migrate.py (Alembic to head) and create_topics.py (Kafka topics)."""

from __future__ import annotations

import asyncio
import sqlite3
import ssl
import subprocess
import sys

import pytest
from deploy_chart import REPO, load_script

create_topics = load_script("deploy/docker/create_topics.py")
generate = load_script("deploy/docker/generate.py")
SERVICES = [c for c in generate.COMPONENTS if c.name != "gateway"]
MIGRATE = REPO / "deploy" / "docker" / "migrate.py"


def run_migrate(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MIGRATE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("component", SERVICES, ids=lambda c: c.name)
def test_migrate_brings_each_service_database_to_head(component, tmp_path) -> None:
    db = tmp_path / f"{component.name}.db"
    variable = f"{component.env_prefix}DATABASE_URL"
    # The Job's command line, with the repo standing in for /app; run elsewhere, as the image's workdir differs.
    result = run_migrate(
        str(REPO / component.svc_dir),
        variable,
        env={"PATH": "/usr/bin:/bin", variable: f"sqlite+aiosqlite:///{db}"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert revision
    assert {"outbox", "inbox", "idempotency_keys"} <= tables
    # A second run (the next upgrade) is a no-op.
    again = run_migrate(
        str(REPO / component.svc_dir),
        variable,
        env={"PATH": "/usr/bin:/bin", variable: f"sqlite+aiosqlite:///{db}"},
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr


def test_migrate_without_the_url_variable_fails_clearly(tmp_path) -> None:
    result = run_migrate(
        str(REPO / "case-svc"), "CASE_DATABASE_URL", env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "CASE_DATABASE_URL is not set" in result.stderr


def test_migrate_outside_a_service_folder_fails_clearly(tmp_path) -> None:
    result = run_migrate(
        str(tmp_path),
        "X_DATABASE_URL",
        env={"PATH": "/usr/bin:/bin", "X_DATABASE_URL": "sqlite://"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "no alembic.ini" in result.stderr


KNOWN = {"t.compact.v1": {"cleanup.policy": "compact"}, "t.audit.v1": {}}


def test_plan_layers_spec_defaults_contract_configs_and_per_topic_overrides() -> None:
    spec = {
        "partitions": 6,
        "replicationFactor": 3,
        "config": {"min.insync.replicas": 2, "cleanup.policy": "delete"},
        "topics": {"t.audit.v1": {"partitions": 2, "config": {"retention.ms": "94694400000"}}},
    }
    plans = {p.name: p for p in create_topics.plan(spec, KNOWN, prefix="pre.")}
    assert set(plans) == {"pre.t.compact.v1", "pre.t.audit.v1"}
    compact, audit = plans["pre.t.compact.v1"], plans["pre.t.audit.v1"]
    # The contract's compaction wins over a global cleanup policy.
    assert compact.config == {"min.insync.replicas": "2", "cleanup.policy": "compact"}
    assert (compact.partitions, compact.replication) == (6, 3)
    assert audit.partitions == 2
    assert audit.config["retention.ms"] == "94694400000"


def test_plan_refuses_unknown_topics_and_bad_counts() -> None:
    with pytest.raises(ValueError, match=r"t\.typo\.v1"):
        create_topics.plan({"topics": {"t.typo.v1": {}}}, KNOWN)
    with pytest.raises(ValueError, match="at least 1"):
        create_topics.plan({"partitions": 0}, KNOWN)
    with pytest.raises(ValueError, match=r"t\.audit\.v1"):
        create_topics.plan({"topics": {"t.audit.v1": {"partitions": 0}}}, KNOWN)


def test_client_options_follow_the_services_variables() -> None:
    with pytest.raises(ValueError, match="TONGBAN_KAFKA_BOOTSTRAP"):
        create_topics.client_options({})
    plain = create_topics.client_options({"TONGBAN_KAFKA_BOOTSTRAP": "k:9092"})
    assert plain == {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"}
    sasl = create_topics.client_options(
        {
            "TONGBAN_KAFKA_BOOTSTRAP": "k:9093",
            "TONGBAN_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "TONGBAN_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "TONGBAN_KAFKA_SASL_USERNAME": "tb",
            "TONGBAN_KAFKA_SASL_PASSWORD": "pw",
        }
    )
    assert sasl["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (sasl["sasl_plain_username"], sasl["sasl_plain_password"]) == ("tb", "pw")
    assert isinstance(sasl["ssl_context"], ssl.SSLContext)


def test_main_reports_a_bad_spec_with_exit_code_2(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TONGBAN_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("TONGBAN_TOPIC_SPEC", '{"topics": {"tongban.nope.v1": {}}}')
    assert create_topics.main() == 2
    assert "tongban.nope.v1" in capsys.readouterr().err


@pytest.mark.integration
def test_create_topics_against_the_real_broker() -> None:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from tongban_contracts.topics import ALL_TOPICS
    from tongban_kit.testing import ensure_broker, run_topic_prefix

    bootstrap = ensure_broker()
    prefix = f"{run_topic_prefix()}deploy."
    env = {
        "TONGBAN_KAFKA_BOOTSTRAP": bootstrap,
        "TONGBAN_TOPIC_PREFIX": prefix,
        "TONGBAN_TOPIC_SPEC": '{"partitions": 2, "replicationFactor": 1, '
        '"topics": {"tongban.identity.audit.v1": {"config": {"retention.ms": "94694400000"}}}}',
    }

    async def scenario() -> None:
        assert await create_topics.run(env) == 0
        assert await create_topics.run(env) == 0  # the next upgrade finds them and keeps them
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            names = [prefix + n for n in ALL_TOPICS]
            described = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
            assert described == dict.fromkeys(names, 2)
            (response,) = await admin.describe_configs(
                [
                    ConfigResource(ConfigResourceType.TOPIC, prefix + "tongban.catalogue.item.v1", None),
                    ConfigResource(ConfigResourceType.TOPIC, prefix + "tongban.identity.audit.v1", None),
                ]
            )
            configs = {res[3]: {c[0]: c[1] for c in res[4]} for res in response.resources}
            assert configs[prefix + "tongban.catalogue.item.v1"]["cleanup.policy"] == "compact"
            assert configs[prefix + "tongban.identity.audit.v1"]["retention.ms"] == "94694400000"
        finally:
            await admin.delete_topics([prefix + n for n in ALL_TOPICS])
            await admin.close()

    asyncio.run(scenario())
