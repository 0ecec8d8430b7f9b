"""Every rendered workload is probed, bounded, non-root, read-only and spread; only the gateway is exposed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from deploy_chart import COMPONENTS, by_component, load_script, of_kind, pod_specs

generate = load_script("deploy/docker/generate.py")
create_topics = load_script("deploy/docker/create_topics.py")
TABLE = {c.name: c for c in generate.COMPONENTS}
SERVICES = [c for c in COMPONENTS if c != "gateway"]
THREE_YEARS_MS = 3 * 365 * 24 * 3600 * 1000


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def test_every_component_has_its_objects(any_docs) -> None:
    for kind in (
        "Deployment",
        "Service",
        "ServiceAccount",
        "ConfigMap",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ):
        assert set(by_component(any_docs, kind)) >= set(COMPONENTS), kind


def test_sandbox_is_never_deployed(any_docs) -> None:
    text = json.dumps(any_docs)
    assert "sandbox" not in text.lower()
    assert "8006" not in text


def test_deployment_containers_have_both_probes_on_the_http_port(any_docs) -> None:
    for name, spec in pod_specs(of_kind(any_docs, "Deployment")):
        for c in containers(spec):
            port = {p["name"]: p["containerPort"] for p in c["ports"]}["http"]
            assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
            assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
            assert port == TABLE[c["name"]].port, name


def test_every_container_has_requests_and_limits(any_docs) -> None:
    for name, spec in pod_specs(any_docs):
        for c in containers(spec):
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][bound]), f"{name} {bound}"


def test_every_container_runs_non_root_on_a_read_only_root(any_docs) -> None:
    for name, spec in pod_specs(any_docs):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in containers(spec):
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc.get("privileged", False) is False, name
            # The only writable place is /tmp, an emptyDir.
            tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]], name


def test_images_follow_the_service_folders_and_are_pinned(production_docs) -> None:
    for component, deployment in by_component(production_docs, "Deployment").items():
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == f"registry.example.gov.cn/tongban/{TABLE[component].svc_dir}:0.1.0"


def test_pods_spread_over_zones_and_nodes(any_docs) -> None:
    for component, deployment in by_component(any_docs, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        constraints = spec["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in constraints} == {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }
        for c in constraints:
            assert c["labelSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"], (
                component
            )


def test_autoscalers_and_disruption_budgets_target_their_component(production_docs) -> None:
    deployments = by_component(production_docs, "Deployment")
    hpas = by_component(production_docs, "HorizontalPodAutoscaler")
    assert set(hpas) == set(COMPONENTS)
    for component, hpa in hpas.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployments[component]["metadata"]["name"]
        assert hpa["spec"]["minReplicas"] >= 2
        # With an autoscaler the Deployment must not fight it over replicas.
        assert "replicas" not in deployments[component]["spec"]
    for component, pdb in by_component(production_docs, "PodDisruptionBudget").items():
        assert (
            pdb["spec"]["selector"]["matchLabels"]
            == deployments[component]["spec"]["selector"]["matchLabels"]
        )


def test_dev_sqlite_components_run_one_replica_without_autoscaler(default_docs) -> None:
    deployments = by_component(default_docs, "Deployment")
    for component in SERVICES:
        assert deployments[component]["spec"]["replicas"] == 1, component
    assert set(by_component(default_docs, "HorizontalPodAutoscaler")) == {"gateway"}


def test_only_the_gateway_is_exposed(production_docs) -> None:
    assert all(s["spec"]["type"] == "ClusterIP" for s in of_kind(production_docs, "Service"))
    (ingress,) = of_kind(production_docs, "Ingress")
    backends = {
        p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]
    }
    assert backends == {by_component(production_docs, "Service")["gateway"]["metadata"]["name"]}


def _ingress_callers(policy: dict[str, Any]) -> set[str]:
    callers = set()
    for rule in policy["spec"].get("ingress", []):
        for peer in rule.get("from", []):
            labels = peer.get("podSelector", {}).get("matchLabels", {})
            if "app.kubernetes.io/component" in labels:
                callers.add(labels["app.kubernetes.io/component"])
    return callers


def test_network_policies_follow_the_call_graph(production_docs) -> None:
    policies = by_component(production_docs, "NetworkPolicy")
    expected = {
        "catalogue": {"gateway", "case"},
        "case": {"gateway", "exchange"},
        "identity": {"gateway", "catalogue", "case", "eseal", "exchange"},
        "eseal": {"gateway"},
        "exchange": {"gateway"},
    }
    for component, callers in expected.items():
        assert _ingress_callers(policies[component]) == callers, component
        for rule in policies[component]["spec"]["ingress"]:
            assert rule.get("from"), f"{component} must not accept traffic from anywhere"
    # The gateway takes traffic from the ingress controller's namespace only (production example).
    gateway_rules = policies["gateway"]["spec"]["ingress"]
    assert all("namespaceSelector" in peer for rule in gateway_rules for peer in rule["from"])
    # Each caller may also send to its callees (egress is denied otherwise).
    egress = {
        c: {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            for rule in p["spec"]["egress"]
            for peer in rule.get("to", [])
            if "podSelector" in peer
        }
        for c, p in policies.items()
    }
    assert egress["gateway"] == set(SERVICES)
    assert egress["case"] == {"catalogue", "identity"}
    assert egress["exchange"] == {"case", "identity"}
    assert egress["identity"] == set()


def test_base_policy_denies_ingress_and_limits_egress_to_dns_kafka_postgresql(production_docs) -> None:
    (base,) = [
        p for p in of_kind(production_docs, "NetworkPolicy") if p["metadata"]["name"].endswith("-base")
    ]
    assert "ingress" not in base["spec"] and base["spec"]["policyTypes"] == ["Ingress", "Egress"]
    ports = [sorted(p["port"] for p in rule["ports"]) for rule in base["spec"]["egress"]]
    assert ports[:3] == [[53, 53], [9093], [5432]]
    assert base["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/24"}}]


def test_default_policies_leave_the_gateway_open_to_any_source(default_docs) -> None:
    gateway = by_component(default_docs, "NetworkPolicy")["gateway"]
    assert gateway["spec"]["ingress"] == [{"ports": [{"port": "http", "protocol": "TCP"}]}]


HOOK = "pre-install,pre-upgrade"


def test_each_service_database_is_migrated_by_a_hook_job(production_docs) -> None:
    jobs = {
        j["metadata"]["labels"]["app.kubernetes.io/component"]: j for j in of_kind(production_docs, "Job")
    }
    assert set(jobs) == {f"{c}-migrate" for c in SERVICES} | {"kafka-topics"}
    for component in SERVICES:
        job = jobs[f"{component}-migrate"]
        assert job["metadata"]["annotations"]["helm.sh/hook"] == HOOK
        container = job["spec"]["template"]["spec"]["containers"][0]
        entry = TABLE[component]
        assert container["command"] == [
            "python",
            "/app/deploy/migrate.py",
            f"/app/{entry.svc_dir}",
            f"{entry.env_prefix}DATABASE_URL",
        ]
        (env,) = container["env"]
        assert env["name"] == f"{entry.env_prefix}DATABASE_URL"
        assert env["valueFrom"]["secretKeyRef"]["name"] == f"tongban-{component}"
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_services_do_not_migrate_on_start_when_a_job_does(production_docs, default_docs) -> None:
    for component, cm in by_component(production_docs, "ConfigMap").items():
        assert cm["data"]["TONGBAN_MIGRATE_ON_START"] == "false", component
    dev = by_component(default_docs, "ConfigMap")
    assert all(dev[c]["data"]["TONGBAN_MIGRATE_ON_START"] == "true" for c in SERVICES)
    assert dev["gateway"]["data"]["TONGBAN_MIGRATE_ON_START"] == "false"  # no database
    assert not [j for j in of_kind(default_docs, "Job") if "migrate" in j["metadata"]["name"]]


def test_topic_job_creates_every_contract_topic_with_three_years_of_audit(production_docs) -> None:
    from tongban_contracts.topics import ALL_TOPICS

    (job,) = [j for j in of_kind(production_docs, "Job") if j["metadata"]["name"].endswith("-kafka-topics")]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == HOOK
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "/app/deploy/create_topics.py"]
    env = {e["name"]: e for e in container["env"]}
    assert env["TONGBAN_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "tongban-shared"
    assert env["SSL_CERT_FILE"]["value"] == "/etc/tongban/kafka-ca/ca.crt"
    spec = json.loads(env["TONGBAN_TOPIC_SPEC"]["value"])
    plans = {p.name: p for p in create_topics.plan(spec, ALL_TOPICS)}
    assert set(plans) == set(ALL_TOPICS)
    assert all(p.partitions == 12 and p.replication == 3 for p in plans.values())
    assert plans["tongban.catalogue.item.v1"].config["cleanup.policy"] == "compact"
    for name in ("tongban.identity.audit.v1", "tongban.exchange.audit.v1", "tongban.case.lifecycle.v1"):
        assert int(plans[name].config["retention.ms"]) >= THREE_YEARS_MS, name


def test_hooks_bring_their_own_secret_only_for_inline_values(inline_docs, production_docs) -> None:
    def hook_secrets(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [s for s in of_kind(docs, "Secret") if "helm.sh/hook" in s["metadata"].get("annotations", {})]

    assert hook_secrets(production_docs) == []
    (secret,) = hook_secrets(inline_docs)
    assert set(secret["stringData"]) == {f"{TABLE[c].env_prefix}DATABASE_URL" for c in SERVICES} | {
        "TONGBAN_KAFKA_SASL_PASSWORD"
    }
    assert "hook-succeeded" in secret["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    migrate = [j for j in of_kind(inline_docs, "Job") if j["metadata"]["name"].endswith("-migrate")]
    for job in migrate:
        ref = job["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_pods_restart_when_their_configuration_changes(component) -> None:
    from deploy_chart import render

    def checksum(*sets: str) -> dict[str, str]:
        deployment = by_component(render(sets=sets), "Deployment")[component]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        return {k: v for k, v in annotations.items() if k.startswith("checksum/")}

    base = checksum()
    assert checksum("global.logLevel=DEBUG")["checksum/config"] != base["checksum/config"]
    assert (
        checksum(f"{component}.clientSecret=another-dev-secret")["checksum/secret"] != base["checksum/secret"]
    )


def test_case_materials_live_on_the_claimed_volume(production_docs) -> None:
    case = by_component(production_docs, "Deployment")["case"]["spec"]["template"]["spec"]
    blob_dir = by_component(production_docs, "ConfigMap")["case"]["data"]["CASE_BLOB_DIR"]
    (mount,) = [m for m in case["containers"][0]["volumeMounts"] if m["mountPath"] == blob_dir]
    volume = {v["name"]: v for v in case["volumes"]}[mount["name"]]
    assert volume["persistentVolumeClaim"] == {"claimName": "tongban-case-blobs"}


def test_case_without_a_blob_claim_is_refused_outside_dev() -> None:
    from deploy_chart import render_inline_error

    message = render_inline_error(**{"case.blobStorage.existingClaim": ""})
    assert "case.blobStorage.existingClaim is empty" in message


def test_case_materials_can_live_in_an_s3_bucket_instead() -> None:
    from deploy_chart import render_inline

    docs = render_inline(
        sets=(
            "case.blobStorage.type=s3",
            "case.blobStorage.s3.bucket=tongban-materials",
            "case.blobStorage.s3.endpointUrl=https://oss.example.gov.cn",
            "case.blobStorage.existingClaim=",
        )
    )
    data = by_component(docs, "ConfigMap")["case"]["data"]
    assert data["CASE_BLOB_STORE"] == "s3" and data["CASE_S3_BUCKET"] == "tongban-materials"
    assert data["CASE_S3_ENDPOINT_URL"] == "https://oss.example.gov.cn" and "CASE_BLOB_DIR" not in data
    case = by_component(docs, "Deployment")["case"]["spec"]["template"]["spec"]
    assert "blobs" not in {v["name"] for v in case["volumes"]}  # no claim needed, none mounted


def test_case_on_s3_without_a_bucket_is_refused() -> None:
    from deploy_chart import render_inline_error

    message = render_inline_error(**{"case.blobStorage.type": "s3"})
    assert "case.blobStorage.s3.bucket is empty" in message


def test_gateway_forwards_to_this_releases_services(production_docs) -> None:
    data = by_component(production_docs, "ConfigMap")["gateway"]["data"]
    for component in SERVICES:
        name = "CASE" if component == "case" else component.upper()
        assert data[f"GATEWAY_UPSTREAM_{name}"] == f"http://tongban-{component}:{TABLE[component].port}"


def test_dev_runs_no_hook_jobs(default_docs) -> None:
    # The services migrate their SQLite files and create their topics themselves in dev.
    assert of_kind(default_docs, "Job") == []
