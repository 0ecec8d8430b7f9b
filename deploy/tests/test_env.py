"""The chart's environment of each component names exactly what its Settings class reads.

The Settings classes are read at test time, so a variable a service adds later shows up here: a
required one (no default, or a secret its Settings refuses at the dev default) must be wired in the
chart, and the chart must not set anything the service does not read.
"""

from __future__ import annotations

import base64
import importlib
from typing import Any

import pytest
from deploy_chart import COMPONENTS, by_component, load_script
from pydantic import AliasChoices, AliasPath
from pydantic_settings import BaseSettings, SettingsConfigDict
from tongban_kit.settings import ServiceSettings

generate = load_script("deploy/docker/generate.py")
TABLE = {c.name: c for c in generate.COMPONENTS}

# Read by the process rather than by Settings: the OpenTelemetry exporter and OpenSSL's trust store.
PROCESS_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "SSL_CERT_FILE"}
# Settings fields that have a default but must be set by a deployment: an address, a secret or the mode.
MUST_SET = {
    "env", "kafka_bootstrap", "kafka_security_protocol", "identity_url", "public_url", "subject_hash_key",
    "field_key", "field_cipher", "log_level", "migrate_on_start", "topic_prefix", "client_secret", "port",
}  # fmt: skip


def settings_class(component: str) -> type[BaseSettings]:
    """The component's Settings; until the gateway has its own, the kit base with its prefix."""
    module_name = f"{TABLE[component].package}.config"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if component != "gateway" or exc.name != module_name:
            raise
        config = SettingsConfigDict(
            env_prefix=TABLE[component].env_prefix, extra="ignore", populate_by_name=True
        )
        return type("GatewaySettings", (ServiceSettings,), {"model_config": config})
    settings: type[BaseSettings] = module.Settings
    return settings


def variables_of(cls: type[BaseSettings]) -> dict[str, set[str]]:
    """Field name -> the environment variables that set it (env_prefix + NAME, or the validation alias)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, set[str]] = {}
    for field, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            choices = {c for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            choices = {alias}
        elif isinstance(alias, AliasPath):
            choices = {str(alias.path[0])}
        else:
            choices = {info.alias or f"{prefix}{field}"}
        names[field] = {c.upper() for c in choices}
    return names


# Fields only the dev/test mesh uses (the sandbox provider systems are never deployed by the chart).
DEV_ONLY = {"sandbox_url"}


def unsafe_default(value: object) -> bool:
    """A default that cannot work in a pod: a loopback peer, or a path in the read-only image (var/)."""
    text = str(value)
    return any(marker in text for marker in ("127.0.0.1", "localhost", "::1")) or text.startswith("var/")


def required_fields(cls: type[BaseSettings], component: str) -> set[str]:
    """Fields a deployment must set: no default, a mesh-wide one, the database, or an unsafe default."""
    fields = {f for f, info in cls.model_fields.items() if info.is_required()}
    fields |= MUST_SET & set(cls.model_fields)
    fields |= {
        f
        for f, info in cls.model_fields.items()
        if f not in DEV_ONLY
        and not info.is_required()
        and unsafe_default(info.get_default(call_default_factory=True))
    }
    if component == "gateway":
        fields.discard(
            "database_url"
        )  # the gateway keeps nothing (DESIGN.md); the kit base still has the field
    else:
        fields.add("database_url")
    return fields


def chart_env(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    """Name -> env entry (or ConfigMap value) of the component's container, envFrom resolved."""
    deployment = by_component(docs, "Deployment")[component]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    configmaps = {c["metadata"]["name"]: c for c in docs if c["kind"] == "ConfigMap"}
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for entry in container.get("env", []):
        assert entry["name"] not in env, f"{component}: {entry['name']} is set twice"
        env[entry["name"]] = entry
    return env


def resolved_env(docs: list[dict[str, Any]], component: str) -> dict[str, str]:
    """The component's environment with ConfigMap and Secret references replaced by their values."""
    secrets = {s["metadata"]["name"]: s.get("stringData", {}) for s in docs if s["kind"] == "Secret"}
    for s in docs:
        if s["kind"] == "Secret":
            secrets[s["metadata"]["name"]].update(
                {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
            )
    values = {}
    for name, entry in chart_env(docs, component).items():
        if isinstance(entry, str):
            values[name] = entry
        elif "value" in entry:
            values[name] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            values[name] = secrets[ref["name"]][ref["key"]]
    return values


@pytest.mark.parametrize("component", COMPONENTS)
def test_chart_sets_only_variables_the_settings_read(
    component, default_docs, production_docs, inline_docs
) -> None:
    cls = settings_class(component)
    known = set().union(*variables_of(cls).values()) | PROCESS_VARIABLES
    for docs in (default_docs, production_docs, inline_docs):
        unknown = set(chart_env(docs, component)) - known
        assert not unknown, (
            f"{component}: the chart sets {sorted(unknown)}, which {cls.__module__}.Settings does not read"
        )


@pytest.mark.parametrize("component", COMPONENTS)
def test_chart_sets_every_variable_a_deployment_needs(
    component, default_docs, production_docs, inline_docs
) -> None:
    cls = settings_class(component)
    variables = variables_of(cls)
    for docs in (default_docs, production_docs, inline_docs):
        env = set(chart_env(docs, component))
        missing = sorted(
            "/".join(sorted(variables[f])) for f in required_fields(cls, component) if not variables[f] & env
        )
        assert not missing, f"{component}: the chart does not set {missing}"


def test_process_variables_are_set_only_when_configured(default_docs, production_docs) -> None:
    for component in COMPONENTS:
        assert not PROCESS_VARIABLES & set(chart_env(default_docs, component))
        assert set(chart_env(production_docs, component)) >= PROCESS_VARIABLES


@pytest.mark.parametrize("component", COMPONENTS)
def test_settings_start_in_production_from_the_rendered_environment(
    component, inline_docs, monkeypatch
) -> None:
    """With every secret given, the Settings accept the chart's environment as it would reach the pod."""
    cls = settings_class(component)
    _isolate(monkeypatch, cls)
    env = resolved_env(inline_docs, component)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings: Any = cls()
    assert settings.env == "production"
    assert (settings.kafka_sasl_mechanism, settings.kafka_sasl_username) == ("SCRAM-SHA-256", "tongban")
    assert settings.kafka_sasl_password == "prod-kafka-password-44d1"
    assert settings.port == TABLE[component].port
    assert settings.client_secret == f"prod-{component}-client-secret-91b2"
    assert settings.should_migrate is False
    assert settings.public_url == "https://tongban.example.gov.cn"
    assert settings.identity_url == "http://tongban-identity:8003"
    assert base64.urlsafe_b64decode(settings.field_key + "=") and len(settings.field_key) == 43
    if component != "gateway":
        assert settings.database_url.startswith(f"postgresql+asyncpg://{component}:")


@pytest.mark.parametrize("component", [c for c in COMPONENTS if c != "gateway"])
def test_settings_start_in_dev_from_the_rendered_environment(component, default_docs, monkeypatch) -> None:
    cls = settings_class(component)
    _isolate(monkeypatch, cls)
    for name, value in resolved_env(default_docs, component).items():
        monkeypatch.setenv(name, value)
    settings: Any = cls()
    assert settings.env == "dev"
    assert settings.should_migrate is True
    assert settings.database_url == f"sqlite+aiosqlite:////tmp/{component}.db"


def test_settings_refuse_the_chart_environment_when_a_secret_is_the_dev_one(inline_docs, monkeypatch) -> None:
    """The check above can fail: the same environment with the dev subject-hash key is refused."""
    cls = settings_class("case")
    _isolate(monkeypatch, cls)
    for name, value in resolved_env(inline_docs, "case").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TONGBAN_SUBJECT_HASH_KEY", "dev-subject-hash-key-not-for-production")
    with pytest.raises(ValueError, match="TONGBAN_SUBJECT_HASH_KEY"):
        cls()


def test_loopback_and_image_paths_count_as_unsafe_defaults() -> None:
    assert unsafe_default("http://127.0.0.1:8001")
    assert unsafe_default("var/blobs/case")
    assert unsafe_default(["127.0.0.1", "::1"])
    assert not unsafe_default("filesystem")
    assert "catalogue_url" in required_fields(settings_class("case"), "case")


def test_links_point_at_the_release_services(inline_docs) -> None:
    case = resolved_env(inline_docs, "case")
    exchange = resolved_env(inline_docs, "exchange")
    assert case["CASE_CATALOGUE_URL"] == "http://tongban-catalogue:8001"
    assert exchange["EXCHANGE_CASE_URL"] == "http://tongban-case:8002"


def test_variables_are_derived_from_prefix_and_aliases() -> None:
    variables = variables_of(settings_class("case"))
    assert variables["database_url"] == {"CASE_DATABASE_URL"}
    assert variables["kafka_bootstrap"] == {"TONGBAN_KAFKA_BOOTSTRAP"}


def _isolate(monkeypatch: pytest.MonkeyPatch, cls: type[BaseSettings]) -> None:
    """Drop every variable of the Settings from this process so only the chart's reach them."""
    import os

    names = set().union(*variables_of(cls).values())
    for name in list(os.environ):
        if name.upper() in names:
            monkeypatch.delenv(name)
