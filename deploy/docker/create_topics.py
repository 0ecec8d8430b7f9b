"""Create the mesh's Kafka topics with the configured partitions, replication and configs.

The Helm chart runs it as a pre-install/pre-upgrade hook. Topic names come from
``tongban_contracts.topics``; connection settings from the same ``TONGBAN_KAFKA_*`` variables the
services read; the sizing from ``TONGBAN_TOPIC_SPEC``, a JSON object::

    {"partitions": 6, "replicationFactor": 3, "config": {"min.insync.replicas": "2"},
     "topics": {"tongban.identity.audit.v1": {"partitions": 3, "config": {"retention.ms": "..."}}},
     "updateConfig": true}

Existing topics keep their partition count (adding partitions would move keys to other partitions
and break the per-aggregate order consumers rely on); a smaller count than configured is reported.
With ``updateConfig`` their configs are set to the desired ones, so retention follows the values.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

RETRIES = 30


@dataclass(frozen=True)
class TopicPlan:
    """What one topic should look like."""

    name: str
    partitions: int
    replication: int
    config: dict[str, str] = field(default_factory=dict)


def plan(spec: dict[str, Any], known: dict[str, dict[str, str]], prefix: str = "") -> list[TopicPlan]:
    """Desired topics: contract configs over the spec's defaults, the spec's per-topic entries on top."""
    overrides: dict[str, Any] = spec.get("topics") or {}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        raise ValueError(f"TONGBAN_TOPIC_SPEC names topics the contracts do not: {', '.join(unknown)}")
    default_partitions = int(spec.get("partitions", 3))
    replication = int(spec.get("replicationFactor", 1))
    if default_partitions < 1 or replication < 1:
        raise ValueError("partitions and replicationFactor must be at least 1")
    plans = []
    for name, contract_config in known.items():
        own = overrides.get(name) or {}
        config = {
            **{k: str(v) for k, v in (spec.get("config") or {}).items()},
            **contract_config,
            **{k: str(v) for k, v in (own.get("config") or {}).items()},
        }
        partitions = int(own.get("partitions", default_partitions))
        if partitions < 1:
            raise ValueError(f"{name}: partitions must be at least 1")
        plans.append(TopicPlan(prefix + name, partitions, replication, config))
    return plans


def client_options(env: dict[str, str]) -> dict[str, Any]:
    """aiokafka connection options from the services' ``TONGBAN_KAFKA_*`` variables."""
    bootstrap = env.get("TONGBAN_KAFKA_BOOTSTRAP", "")
    if not bootstrap:
        raise ValueError("TONGBAN_KAFKA_BOOTSTRAP is not set")
    protocol = env.get("TONGBAN_KAFKA_SECURITY_PROTOCOL") or "PLAINTEXT"
    opts: dict[str, Any] = {"bootstrap_servers": bootstrap, "security_protocol": protocol}
    mechanism = env.get("TONGBAN_KAFKA_SASL_MECHANISM")
    if mechanism:
        opts.update(
            sasl_mechanism=mechanism,
            sasl_plain_username=env.get("TONGBAN_KAFKA_SASL_USERNAME"),
            sasl_plain_password=env.get("TONGBAN_KAFKA_SASL_PASSWORD"),
        )
    if protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        # The system trust store; SSL_CERT_FILE points it at a private CA when the chart mounts one.
        opts["ssl_context"] = create_ssl_context()
    return opts


def _errors(response: Any, attribute: str) -> list[tuple[str, int, str]]:
    """(name, code, message) of every failed entry of a create/alter response."""
    failed = []
    for entry in getattr(response, attribute):
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else ""
        if attribute == "resources":  # AlterConfigs entries are (code, message, type, name)
            code, message, name = entry[0], entry[1] or "", entry[3]
        if code:
            failed.append((name, code, message))
    return failed


async def apply(plans: list[TopicPlan], options: dict[str, Any], update_config: bool) -> list[str]:
    """Create missing topics, align configs of existing ones; returns warnings."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(**options, request_timeout_ms=30000)
    await admin.start()
    warnings: list[str] = []
    try:
        existing = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics()}
        missing = [p for p in plans if p.name not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(p.name, p.partitions, p.replication, topic_configs=p.config) for p in missing]
            )
            # 36 = TOPIC_ALREADY_EXISTS: another run won the race, which is fine.
            failed = [e for e in _errors(response, "topic_errors") if e[1] != 36]
            if failed:
                raise RuntimeError(f"creating topics failed: {failed}")
            for p in missing:
                print(f"created {p.name} ({p.partitions} partitions, replication {p.replication})")
        for p in plans:
            if p.name not in existing:
                continue
            if existing[p.name] < p.partitions:
                warnings.append(
                    f"{p.name} has {existing[p.name]} partitions, fewer than the {p.partitions} configured;"
                    " add partitions by hand only after reading deploy/README.md (key order)"
                )
            if update_config:
                response = (
                    await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, p.name, p.config)])
                )[0]
                failed = _errors(response, "resources")
                if failed:
                    raise RuntimeError(f"altering {p.name} failed: {failed}")
                print(f"kept {p.name}, configs set to {p.config}")
            else:
                print(f"kept {p.name}")
    finally:
        await admin.close()
    return warnings


async def run(env: dict[str, str]) -> int:
    """Plan from the environment and apply, retrying while the cluster is unreachable."""
    from aiokafka.errors import KafkaConnectionError
    from tongban_contracts.topics import ALL_TOPICS

    spec = json.loads(env.get("TONGBAN_TOPIC_SPEC") or "{}")
    plans = plan(spec, ALL_TOPICS, env.get("TONGBAN_TOPIC_PREFIX", ""))
    options = client_options(env)
    update_config = bool(spec.get("updateConfig", True))
    for attempt in range(1, RETRIES + 1):
        try:
            warnings = await apply(plans, options, update_config)
        except (KafkaConnectionError, OSError, TimeoutError) as exc:
            print(f"kafka not reachable (attempt {attempt}/{RETRIES}): {exc}", file=sys.stderr)
            await asyncio.sleep(min(2 * attempt, 10))
            continue
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        return 0
    return 1


def main() -> int:
    """Entry point of the hook Job."""
    try:
        return asyncio.run(run(dict(os.environ)))
    except ValueError as exc:
        print(f"create_topics: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
