"""No secret is ever rendered from a default outside global.env=dev; missing ones stop the install."""

from __future__ import annotations

import base64

import pytest
from deploy_chart import (
    COMPONENTS,
    INLINE_VALUES,
    PRODUCTION_EXAMPLE,
    by_component,
    of_kind,
    pod_specs,
    render_error,
    render_inline,
    render_inline_error,
    render_text,
)
from tongban_kit.settings import DEV_CLIENT_SECRET, DEV_FIELD_KEY, DEV_SUBJECT_HASH_KEY

DEV_VALUES = (DEV_CLIENT_SECRET, DEV_FIELD_KEY, DEV_SUBJECT_HASH_KEY)


def secret_data(secret: dict) -> dict[str, str]:
    data = dict(secret.get("stringData") or {})
    data.update({k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()})
    return data


def test_production_example_renders_no_secret_and_references_the_existing_ones(production_docs) -> None:
    assert of_kind(production_docs, "Secret") == []
    wanted = {"tongban-shared", "tongban-kafka-ca"} | {f"tongban-{c}" for c in COMPONENTS}
    used = set()
    for _, spec in pod_specs(production_docs):
        for c in spec["containers"]:
            used |= {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", []) if "valueFrom" in e}
        used |= {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
    assert used == wanted


@pytest.mark.parametrize("values_file", [PRODUCTION_EXAMPLE, INLINE_VALUES])
def test_no_dev_default_appears_anywhere_in_production(values_file) -> None:
    text = render_text(values_file)
    for value in (*DEV_VALUES, "sqlite"):
        assert value not in text


def test_inline_production_secrets_hold_exactly_the_given_values(inline_docs) -> None:
    secrets = {s["metadata"]["name"]: secret_data(s) for s in of_kind(inline_docs, "Secret")}
    assert secrets["tongban-shared"] == {
        "TONGBAN_SUBJECT_HASH_KEY": "prod-subject-hash-key-7f3a9c",
        "TONGBAN_FIELD_KEY": "cHJvZC1maWVsZC1rZXktMzItYnl0ZXMtcmFuZG9tISE",
        "TONGBAN_KAFKA_SASL_PASSWORD": "prod-kafka-password-44d1",
    }
    assert secrets["tongban-case"] == {
        "CASE_CLIENT_SECRET": "prod-case-client-secret-91b2",
        "CASE_DATABASE_URL": "postgresql+asyncpg://case:pw-case@pg.db:5432/case",
    }
    assert secrets["tongban-gateway"] == {"GATEWAY_CLIENT_SECRET": "prod-gateway-client-secret-91b2"}


def test_dev_renders_the_kits_dev_defaults(default_docs) -> None:
    secrets = {s["metadata"]["name"]: secret_data(s) for s in of_kind(default_docs, "Secret")}
    assert secrets["tongban-shared"] == {
        "TONGBAN_SUBJECT_HASH_KEY": DEV_SUBJECT_HASH_KEY,
        "TONGBAN_FIELD_KEY": DEV_FIELD_KEY,
    }
    assert secrets["tongban-identity"]["IDENTITY_CLIENT_SECRET"] == DEV_CLIENT_SECRET
    assert secrets["tongban-identity"]["IDENTITY_DATABASE_URL"] == "sqlite+aiosqlite:////tmp/identity.db"


def test_eseal_key_encryption_key_is_a_secret_of_its_own(default_docs, inline_docs) -> None:
    from eseal_svc.config import DEV_KEK

    dev = {s["metadata"]["name"]: secret_data(s) for s in of_kind(default_docs, "Secret")}
    assert dev["tongban-eseal"]["ESEAL_KEK"] == DEV_KEK
    prod = {s["metadata"]["name"]: secret_data(s) for s in of_kind(inline_docs, "Secret")}
    assert prod["tongban-eseal"]["ESEAL_KEK"] == "cHJvZC1rZWstMTZieXRlcw=="
    message = render_inline_error(**{"eseal.kek": ""})
    assert "eseal.kek is empty" in message and "ESEAL_KEK" in message


def test_production_without_secrets_fails_and_says_how_to_fix_it() -> None:
    message = render_error(
        sets=("global.env=production", "global.publicUrl=https://x.example", "kafka.bootstrap=k:9092")
    )
    assert "secrets.subjectHashKey is empty" in message
    assert "secrets.existingSecret" in message


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_missing_client_secret_names_its_component(component) -> None:
    message = render_inline_error(**{f"{component}.clientSecret": ""})
    assert f"{component}.clientSecret is empty" in message
    assert f"{component}.existingSecret" in message


@pytest.mark.parametrize("component", [c for c in COMPONENTS if c != "gateway"])
def test_a_missing_database_url_names_its_component(component) -> None:
    message = render_inline_error(**{f"{component}.databaseUrl": ""})
    assert f"{component}.databaseUrl is empty" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("secrets.subjectHashKey", DEV_SUBJECT_HASH_KEY),
        ("secrets.fieldKey", DEV_FIELD_KEY),
        ("identity.clientSecret", DEV_CLIENT_SECRET),
        ("eseal.kek", "dG9uZ2Jhbi1kZXYta2VrIQ=="),
    ],
)
def test_a_dev_default_given_outside_dev_is_refused(key, value) -> None:
    message = render_inline_error(**{key: value})
    assert f"{key} is the public dev default" in message


def test_sqlite_is_refused_outside_dev() -> None:
    message = render_inline_error(**{"case.databaseUrl": "sqlite+aiosqlite:////tmp/c.db"})
    assert "case.databaseUrl is SQLite" in message


def test_production_needs_kafka_and_public_url() -> None:
    assert "kafka.bootstrap is empty" in render_inline_error(**{"kafka.bootstrap": ""})
    assert "global.publicUrl is empty" in render_inline_error(**{"global.publicUrl": ""})


def test_sasl_needs_a_password_and_a_username(inline_docs) -> None:
    assert "secrets.kafkaSaslPassword" in render_inline_error(**{"secrets.kafkaSaslPassword": ""})
    assert "kafka.saslUsername is empty" in render_inline_error(**{"kafka.saslUsername": ""})
    shared = {s["metadata"]["name"]: secret_data(s) for s in of_kind(inline_docs, "Secret")}["tongban-shared"]
    assert shared["TONGBAN_KAFKA_SASL_PASSWORD"] == "prod-kafka-password-44d1"


def test_an_existing_secret_replaces_the_rendered_one() -> None:
    docs = render_inline(sets=("eseal.existingSecret=vault-eseal", "eseal.clientSecret="))
    assert "tongban-eseal" not in {s["metadata"]["name"] for s in of_kind(docs, "Secret")}
    env = by_component(docs, "Deployment")["eseal"]["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    assert refs["ESEAL_CLIENT_SECRET"] == refs["ESEAL_DATABASE_URL"] == "vault-eseal"


def test_extra_secret_env_needs_values_unless_an_existing_secret_holds_them() -> None:
    message = render_inline_error(**{"identity.extraSecretEnv.IDENTITY_KEY_ENCRYPTION_KEY": ""})
    assert "identity.extraSecretEnv.IDENTITY_KEY_ENCRYPTION_KEY is empty" in message
    docs = render_inline(
        sets=("identity.existingSecret=idp", "identity.extraSecretEnv.IDENTITY_KEY_ENCRYPTION_KEY=")
    )
    env = by_component(docs, "Deployment")["identity"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "IDENTITY_KEY_ENCRYPTION_KEY",
        "valueFrom": {"secretKeyRef": {"name": "idp", "key": "IDENTITY_KEY_ENCRYPTION_KEY"}},
    } in env


def test_values_outside_the_schema_are_refused() -> None:
    assert "allowFrom" in render_error(sets=("case.allowFrom[0]=sandbox",))
    assert "env" in render_error(sets=("global.env=prod",))
    assert "unknownKey" in render_error(sets=("catalogue.unknownKey=1",))
