"""The Kubernetes manifests and the compose stack, read as YAML: they parse, they fit
together (selectors, ports, probes, mounts), and they set only settings relance has."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from relance.scenario_file import load_config_file
from relance.sender.template_files import TemplateFiles
from relance.settings import KAFKA_PREFIX, Settings, setting_variables

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
EXAMPLE_SECRET = "secret.example.yaml"
STACK = {
    "kafka",
    "schema-registry",
    "worker",
    "sender",
    "gateway",
    "prometheus",
    "grafana",
    "mailpit",
}

Doc = dict[str, Any]


def documents(path: Path) -> list[Doc]:
    with path.open(encoding="utf-8") as file:
        return [doc for doc in yaml.safe_load_all(file) if doc is not None]


@cache
def kustomization() -> Doc:
    (doc,) = documents(K8S / "kustomization.yaml")
    return doc


@cache
def resources() -> list[Doc]:
    return [doc for name in kustomization()["resources"] for doc in documents(K8S / name)]


def kind(name: str) -> list[Doc]:
    return [doc for doc in resources() if doc["kind"] == name]


def named(kind_name: str, name: str) -> Doc:
    (doc,) = [doc for doc in kind(kind_name) if doc["metadata"]["name"] == name]
    return doc


def workloads() -> list[Doc]:
    return kind("StatefulSet") + kind("Deployment")


def containers(workload: Doc) -> list[Doc]:
    return list(workload["spec"]["template"]["spec"]["containers"])


def pod_labels(workload: Doc) -> dict[str, str]:
    return dict(workload["spec"]["template"]["metadata"]["labels"])


@cache
def example_secret() -> Doc:
    (doc,) = documents(K8S / EXAMPLE_SECRET)
    return doc


@cache
def setting_names() -> frozenset[str]:
    return setting_variables()


def not_settings(names: set[str]) -> set[str]:
    """Those of ``names`` that set nothing (the RELANCE_KAFKA_* family sets librdkafka's)."""
    return {name for name in names - setting_names() if not name.startswith(KAFKA_PREFIX)}


def dockerfile_uid() -> int:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    users = [i["value"] for i in parser.structure if i["instruction"] == "USER"]
    return int(users[-1].split(":")[0])


def env_of(container: Doc) -> dict[str, str | None]:
    """Names and values a container gets: envFrom first, its own env over them."""
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env |= named("ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            assert source["secretRef"]["name"] == example_secret()["metadata"]["name"]
            env |= dict.fromkeys(example_secret()["stringData"])
    for var in container.get("env", []):
        env[var["name"]] = var.get("value")
    return env


def web_port(container: Doc) -> int:
    """The port the process listens on: its setting's value, else the setting's default."""
    field = {"worker": "web_port", "sender": "sender_web_port", "gateway": "gateway_web_port"}[
        container["args"][0]
    ]
    value = env_of(container).get(f"RELANCE_{field.upper()}")
    return int(value) if value is not None else int(Settings.model_fields[field].default)


def container_port(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


def test_every_manifest_parses_and_names_no_namespace() -> None:
    paths = sorted(K8S.glob("*.y*ml"))
    assert paths
    for path in paths:
        for doc in documents(path):
            assert "namespace" not in doc.get("metadata", {}), path.name


def test_the_kustomization_lists_every_manifest_but_the_example_secrets() -> None:
    present = {p.name for p in K8S.glob("*.y*ml")} - {
        "kustomization.yaml",
        EXAMPLE_SECRET,
        "secret-kafka.example.yaml",
    }
    listed = kustomization()["resources"]
    assert sorted(listed) == sorted(present)
    assert not kind("Secret")


def test_the_kinds_a_deployment_needs_are_all_there() -> None:
    kinds = {doc["kind"] for doc in resources()}
    assert {
        "StatefulSet",
        "Deployment",
        "ConfigMap",
        "Service",
        "ServiceMonitor",
        "PodDisruptionBudget",
    } <= kinds
    assert named("StatefulSet", "relance-worker") and named("Deployment", "relance-sender")


def test_each_workload_probes_health_and_readiness_on_the_port_its_process_uses() -> None:
    for workload in workloads():
        for container in containers(workload):
            port = web_port(container)
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                get = container[probe]["httpGet"]
                assert get["path"] == path, (workload["metadata"]["name"], probe)
                assert container_port(container, get["port"]) == port


def test_each_workload_requests_resources_and_caps_its_memory() -> None:
    for workload in workloads():
        for container in containers(workload):
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys()
            assert "memory" in resources["limits"]


def test_each_pod_runs_as_the_image_user_and_never_as_root() -> None:
    for workload in workloads():
        security = workload["spec"]["template"]["spec"]["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == dockerfile_uid()


def test_each_pod_runs_the_released_image_and_stops_gracefully() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    image = f"ghcr.io/relance/relance:{version['project']['version']}"
    for workload in workloads():
        spec = workload["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] >= 60
        assert spec["enableServiceLinks"] is False
        for container in containers(workload):
            assert container["image"] == image
            assert container["imagePullPolicy"] == "IfNotPresent"


def test_services_and_budgets_select_the_pods_of_one_workload() -> None:
    for workload in workloads():
        assert workload["spec"]["selector"]["matchLabels"].items() <= pod_labels(workload).items()
    selectors = [(s, s["spec"]["selector"]) for s in kind("Service")]
    selectors += [(b, b["spec"]["selector"]["matchLabels"]) for b in kind("PodDisruptionBudget")]
    for doc, selector in selectors:
        matching = [w for w in workloads() if selector.items() <= pod_labels(w).items()]
        assert len(matching) == 1, doc["metadata"]["name"]
        assert matching[0]["metadata"]["name"] == doc["metadata"]["name"]


def test_each_service_exposes_the_web_port_as_http() -> None:
    for svc in kind("Service"):
        (workload,) = [w for w in workloads() if w["metadata"]["name"] == svc["metadata"]["name"]]
        (container,) = containers(workload)
        (port,) = [p for p in svc["spec"]["ports"] if p["name"] == "http"]
        assert port["port"] == web_port(container)
        assert container_port(container, port["targetPort"]) == web_port(container)


def test_the_service_monitor_scrapes_both_services_on_http_metrics() -> None:
    (monitor,) = kind("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selector = monitor["spec"]["selector"]
    selected = set()
    for service in kind("Service"):
        labels = service["metadata"]["labels"]
        if selector.get("matchLabels", {}).items() <= labels.items() and all(
            labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", [])
        ):
            selected.add(service["metadata"]["name"])
    assert selected == {"relance-worker", "relance-sender", "relance-gateway"}
    assert {"port": "http", "path": "/metrics"}.items() <= monitor["spec"]["endpoints"][0].items()


def test_the_budgets_keep_one_pod_without_blocking_a_drain() -> None:
    assert named("PodDisruptionBudget", "relance-worker")["spec"]["maxUnavailable"] == 1
    sender = named("PodDisruptionBudget", "relance-sender")["spec"]["minAvailable"]
    assert sender == 1
    assert named("Deployment", "relance-sender")["spec"]["replicas"] > sender
    gateway = named("PodDisruptionBudget", "relance-gateway")["spec"]["minAvailable"]
    assert named("Deployment", "relance-gateway")["spec"]["replicas"] > gateway


def test_the_worker_is_a_stateful_set_for_its_stable_id() -> None:
    worker = named("StatefulSet", "relance-worker")
    spec = worker["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert named("Service", spec["serviceName"])["spec"]["clusterIP"] == "None"
    (container,) = containers(worker)
    (instance,) = [v for v in container["env"] if v["name"] == "RELANCE_INSTANCE_ID"]
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_no_workload_has_a_data_volume_as_nothing_is_kept_on_disk() -> None:
    """States and the ledger are rebuilt from their changelog topics; faust keeps no files.
    The only volumes are the scenario file and the cluster's secrets, read-only, and the
    worker's note of the partitions it holds, in a small emptyDir (RELANCE_STATE_DIR)."""
    assert "volumeClaimTemplates" not in named("StatefulSet", "relance-worker")["spec"]
    for workload in workloads():
        name = workload["metadata"]["name"]
        volumes = workload["spec"]["template"]["spec"].get("volumes", [])
        scratch = {v["name"] for v in volumes if "emptyDir" in v}
        assert all("configMap" in v or "secret" in v for v in volumes if v["name"] not in scratch)
        assert scratch == ({"state"} if name == "relance-worker" else set()), name
        for container in containers(workload):
            mounts = [m for m in container.get("volumeMounts", []) if m["name"] not in scratch]
            assert all(m.get("readOnly") for m in mounts), name
    worker = containers(named("StatefulSet", "relance-worker"))[0]
    (state,) = [m for m in worker["volumeMounts"] if m["name"] == "state"]
    assert {"name": "RELANCE_STATE_DIR", "value": state["mountPath"]} in worker["env"]
    assert containers(named("Deployment", "relance-sender"))[0]["args"] == ["sender"]


def test_compose_gives_relance_no_data_volume() -> None:
    """Only read-only files from the repository (the scenario file) are mounted."""
    assert "volumes" not in compose()
    for name, svc in relance_services().items():
        volumes = [str(volume) for volume in svc.get("volumes", [])]
        assert len(binds(svc)) == len(volumes), name
        assert all(volume.endswith(":ro") for volume in volumes), name


def test_secrets_are_referenced_and_only_the_example_holds_placeholders() -> None:
    for workload in workloads():
        for container in containers(workload):
            refs = [s["secretRef"] for s in container["envFrom"] if "secretRef" in s]
            assert refs == [{"name": "relance-secrets", "optional": False}]
    keys = set(example_secret()["stringData"])
    assert {"RELANCE_SMTP_USERNAME", "RELANCE_SMTP_PASSWORD", "SCHEMA_REGISTRY_URL"} <= keys


def test_every_variable_the_manifests_set_is_a_setting() -> None:
    names = set(example_secret()["stringData"])
    for workload in workloads():
        for container in containers(workload):
            names |= set(env_of(container))
    for config_map in kind("ConfigMap"):
        if config_map["metadata"]["name"] == "relance-env":
            names |= set(config_map["data"])
    assert not_settings(names) == set()


def test_the_files_a_secured_cluster_needs_are_an_optional_read_only_secret() -> None:
    (files,) = documents(K8S / "secret-kafka.example.yaml")
    assert files["metadata"]["name"] == "relance-kafka-files"
    for workload in workloads():
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        assert volumes["kafka-secrets"]["secret"] == {
            "secretName": "relance-kafka-files",
            "optional": True,
        }
        (container,) = containers(workload)
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "kafka-secrets"]
        assert mount == {
            "name": "kafka-secrets",
            "mountPath": "/var/run/secrets/relance",
            "readOnly": True,
        }
    # The paths the commented-out SASL settings give are the files the example holds.
    text = (K8S / "configmap-env.yaml").read_text(encoding="utf-8")
    for key in files["stringData"]:
        assert f"/var/run/secrets/relance/{key}" in text


@pytest.mark.parametrize(
    ("kind_name", "name"),
    [
        ("StatefulSet", "relance-worker"),
        ("Deployment", "relance-sender"),
        ("Deployment", "relance-gateway"),
    ],
)
def test_the_scenarios_config_map_is_a_valid_configuration_where_both_read_it(
    tmp_path: Path, kind_name: str, name: str
) -> None:
    """The sender reads the scenario file too: it checks the templates the file names."""
    workload = named(kind_name, name)
    (container,) = containers(workload)
    where = PurePosixPath(str(env_of(container)["RELANCE_SCENARIOS"]))
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(where.parent)]
    config_map = volumes[mount["name"]]["configMap"]["name"]
    text = named("ConfigMap", config_map)["data"][where.name]
    (tmp_path / where.name).write_text(text, encoding="utf-8")
    assert load_config_file(tmp_path / where.name, TemplateFiles()).scenarios


@cache
def compose() -> Doc:
    (doc,) = documents(DEPLOY / "compose.yaml")
    return doc


def service(name: str) -> Doc:
    return dict(compose()["services"][name])


def environment(svc: Doc) -> dict[str, str]:
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def binds(svc: Doc) -> dict[str, str]:
    """Bind mounts of a service: target -> source, relative to deploy/."""
    found = {}
    for volume in svc.get("volumes", []):
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume["target"]
        else:
            source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            found[target] = source
    return found


def relance_services() -> dict[str, Doc]:
    return {
        name: svc
        for name, svc in compose()["services"].items()
        if "build" in svc or str(svc.get("image", "")).startswith("ghcr.io/relance/")
    }


def published(name: str) -> set[int]:
    return {int(str(port).rsplit(":", 1)[-1]) for port in service(name).get("ports", [])}


def test_compose_runs_the_whole_stack_on_pinned_images() -> None:
    services = compose()["services"]
    assert set(services) >= STACK
    for name, svc in services.items():
        image = str(svc.get("image", ""))
        assert ":" in image and not image.endswith(":latest"), name


def test_compose_runs_kafka_alone_in_kraft_mode_reachable_as_kafka_9092() -> None:
    env = environment(service("kafka"))
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert service("kafka")["image"].startswith("apache/kafka:")


def test_compose_builds_worker_and_sender_from_the_repository_dockerfile() -> None:
    for name in ("worker", "sender"):
        svc = service(name)
        build = svc["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT
        assert (context / build.get("dockerfile", "Dockerfile")).is_file()
        assert svc["command"] == [name]
        env = environment(svc)
        assert env["RELANCE_BROKER"] == "kafka://kafka:9092"
        assert urlsplit(env["SCHEMA_REGISTRY_URL"]).hostname == "schema-registry"
        assert env["RELANCE_SMTP_HOST"] == "mailpit"
        assert int(env["RELANCE_SMTP_PORT"]) in published("mailpit")


def test_every_variable_compose_gives_relance_is_a_setting() -> None:
    assert set(relance_services()) >= {"worker", "sender"}
    for name, svc in relance_services().items():
        assert not_settings(set(environment(svc))) == set(), name


def test_every_file_compose_mounts_is_in_the_repository() -> None:
    for name, svc in compose()["services"].items():
        for source in binds(svc).values():
            assert (DEPLOY / source).exists(), f"{name}: {source}"


@pytest.mark.parametrize("name", ["worker", "sender", "gateway"])
def test_the_scenario_file_compose_mounts_is_a_valid_configuration(name: str) -> None:
    svc = service(name)
    source = binds(svc)[environment(svc)["RELANCE_SCENARIOS"]]
    assert load_config_file(DEPLOY / source, TemplateFiles()).scenarios


def test_every_healthy_dependency_has_a_health_check() -> None:
    for name, svc in compose()["services"].items():
        depends = svc.get("depends_on", {})
        for dependency, how in depends.items() if isinstance(depends, dict) else []:
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in service(dependency) or dependency in relance_services(), (
                    f"{name} waits for {dependency}"
                )


def test_prometheus_scrapes_worker_and_sender_on_their_web_ports() -> None:
    mounts = binds(service("prometheus"))
    config = documents(DEPLOY / mounts["/etc/prometheus/prometheus.yml"].removeprefix("./"))[0]
    for rule_file in config.get("rule_files", []):
        assert rule_file in mounts
    settings = {"worker": "web_port", "sender": "sender_web_port", "gateway": "gateway_web_port"}
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for name, field in settings.items():
        value = environment(service(name)).get(
            f"RELANCE_{field.upper()}", Settings.model_fields[field].default
        )
        assert f"{name}:{value}" in targets


@pytest.mark.parametrize("folder", ["datasources", "dashboards"])
def test_grafana_gets_its_provisioning_from_the_repository(folder: str) -> None:
    mounts = binds(service("grafana"))
    source = mounts[f"/etc/grafana/provisioning/{folder}"]
    assert (DEPLOY / source).resolve() == DEPLOY / "grafana" / "provisioning" / folder


def test_grafana_reads_prometheus_by_the_uid_the_dashboard_uses() -> None:
    (doc,) = documents(DEPLOY / "grafana/provisioning/datasources/prometheus.yaml")
    (source,) = doc["datasources"]
    assert source["uid"] == "prometheus" and source["type"] == "prometheus"
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus" and url.port in published("prometheus")


def test_grafana_loads_the_dashboard_from_where_compose_mounts_it() -> None:
    (doc,) = documents(DEPLOY / "grafana/provisioning/dashboards/relance.yaml")
    (provider,) = doc["providers"]
    mounts = binds(service("grafana"))
    (target,) = [t for t, s in mounts.items() if s.endswith("grafana/relance.json")]
    assert provider["type"] == "file"
    assert str(PurePosixPath(target).parent) == provider["options"]["path"]


def test_the_gateway_is_on_the_internet_by_its_links_and_webhooks_alone() -> None:
    """The Ingress routes the link paths (relance.gateway.links) and the ESP webhooks'
    (relance.gateway.webhooks) to the gateway's Service, never /metrics, /healthz or
    /readyz; the links' host is RELANCE_GATEWAY_URL's."""
    from relance.gateway.links import ROUTES
    from relance.gateway.webhooks import PATHS

    (ingress,) = kind("Ingress")
    (rule,) = ingress["spec"]["rules"]
    paths = rule["http"]["paths"]
    assert sorted(p["path"] for p in paths) == sorted(
        [f"/{route}/" for route in ROUTES] + ["/webhooks/"]
    )
    assert all(path.startswith("/webhooks/") for path in PATHS.values())
    assert {p["backend"]["service"]["name"] for p in paths} == {"relance-gateway"}
    url = named("ConfigMap", "relance-env")["data"]["RELANCE_GATEWAY_URL"]
    assert urlsplit(url).hostname == rule["host"] and urlsplit(url).scheme == "https"
    assert "RELANCE_LINK_KEYS" in example_secret()["stringData"]
