"""deploy/kubernetes: the kustomizations hold together, and the manifests agree with the settings, the image
(deploy/Dockerfile), the URLs, the Celery queues and the metrics catalogue.

The base is read with PyYAML; the overlays are rendered with `kubectl kustomize` where kubectl exists (it is not
installable from the registries this project uses, so its absence skips those cases, CI included).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.urls import resolve

from tests.deploy import catalogue
from tests.deploy.manifests import (
    BASE_DIR,
    KUBE_DIR,
    OVERLAYS,
    base_documents,
    by_kind,
    component_documents,
    containers,
    kubectl,
    kustomization,
    load_documents,
    pod_spec,
    referenced_paths,
    render_overlay,
)
from tests.settings_variables import (
    READ_OUTSIDE_SETTINGS,
    variables_in_env_example,
    variables_read_by_settings,
    variables_required_in_production,
)

ROOT = catalogue.ROOT
# Connection strings carry passwords; the rest of these are keys, secrets or tokens.
SECRET_VARIABLES = re.compile(r"(SECRET|SECRET_KEY|_KEYS|_TOKEN)$|^(DATABASE_URL|REDIS_URL|CELERY_BROKER_URL)$")
# What an operator puts in secrets.env: enough for the production settings and `check --deploy`.
FILLED_SECRETS = {
    "DJANGO_SECRET_KEY": "k8s-test-" + "Zq7Wm2Xv9Lp4Rt6Yb1Nc3Hd5Jf8Gs0Ka" * 2,
    "LEDGERBRIDGE_CREDENTIAL_KEYS": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
    "DATABASE_URL": "postgres://ledgerbridge:pw@db.internal:5432/ledgerbridge",
    "REDIS_URL": "redis://:pw@redis.internal:6379/0",
    "CELERY_BROKER_URL": "redis://:pw@redis.internal:6379/1",
    "EXACT_CLIENT_SECRET": "exact-secret",
    "EXACT_WEBHOOK_SECRET": "exact-webhook-secret",
    "LEDGERBRIDGE_METRICS_TOKEN": "metrics-token",
}


# ---------------------------------------------------------------------------------------------------- the image


def _dockerfile() -> dict[str, Any]:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    return {
        "expose": int(re.search(r"^EXPOSE\s+(\d+)", text, re.MULTILINE)[1]),  # type: ignore[index]
        "cmd": json.loads(re.search(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)[1]),  # type: ignore[index]
        "uid": int(re.search(r"useradd\b[^\n]*--uid\s+(\d+)", text)[1]),  # type: ignore[index]
        "workdir": re.search(r"^WORKDIR\s+(\S+)", text, re.MULTILINE)[1],  # type: ignore[index]
    }


# ---------------------------------------------------------------------------------------------------- the sources


@pytest.fixture(scope="module", params=["base", *OVERLAYS])
def documents(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The base with the monitoring component (read with PyYAML), or an overlay rendered by kubectl."""
    if request.param == "base":
        return base_documents() + component_documents(KUBE_DIR / "monitoring")
    if kubectl() is None:
        pytest.skip("kubectl is not installed: the overlays are checked through their files only")
    return render_overlay(request.param, tmp_path_factory.mktemp(request.param), FILLED_SECRETS)


def _config(documents: list[dict[str, Any]]) -> dict[str, str]:
    return by_kind(documents, "ConfigMap")["ledgerbridge-config"]["data"]


def _secret(documents: list[dict[str, Any]]) -> dict[str, str]:
    secret = by_kind(documents, "Secret")["ledgerbridge-secrets"]
    assert "stringData" not in secret, "use data: kustomize's merge with secrets.env drops stringData keys"
    return {key: base64.b64decode(value or "").decode() for key, value in secret["data"].items()}


def _workloads(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {**by_kind(documents, "Deployment"), **by_kind(documents, "Job")}


def _container_variables(documents: list[dict[str, Any]]) -> set[str]:
    return {
        variable["name"]
        for workload in _workloads(documents).values()
        for container in containers(workload)
        for variable in container.get("env", [])
    }


# ---------------------------------------------------------------------------------------------------- variables


def test_every_variable_they_set_is_read_by_the_settings(documents: list[dict[str, Any]]) -> None:
    set_here = set(_config(documents)) | set(_secret(documents)) | _container_variables(documents)
    unknown = set_here - set(variables_read_by_settings()) - READ_OUTSIDE_SETTINGS
    assert unknown == set(), f"the manifests set variables no setting reads: {sorted(unknown)}"


def test_configmap_and_secret_name_every_variable_of_env_example(documents: list[dict[str, Any]]) -> None:
    config, secret = set(_config(documents)), set(_secret(documents))
    assert config & secret == set(), "a variable in both the ConfigMap and the Secret"
    assert config | secret == variables_in_env_example()
    assert {name for name in config if SECRET_VARIABLES.search(name)} == set(), "secrets in the ConfigMap"
    assert {name for name in secret if not SECRET_VARIABLES.search(name)} == set(), "plain settings in the Secret"


def test_every_variable_production_requires_is_set(documents: list[dict[str, Any]]) -> None:
    required = variables_required_in_production()
    assert {"DJANGO_SECRET_KEY", "LEDGERBRIDGE_CREDENTIAL_KEYS"} <= required  # what production.py refuses without
    assert required <= set(_config(documents)) | set(_secret(documents))
    for workload in _workloads(documents).values():
        for container in containers(workload):
            sources = [source for ref in container["envFrom"] for source in ref.values()]
            assert {"name": "ledgerbridge-config"} in sources and {"name": "ledgerbridge-secrets"} in sources


def _settings_env(variables: dict[str, str]) -> dict[str, str]:
    ours = ("DJANGO", "DATABASE", "REDIS", "CELERY", "LEDGERBRIDGE", "EXACT", "API_", "LOG_", "WHITENOISE")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(ours)}, **variables}


def test_the_template_refuses_to_start_and_starts_once_the_secrets_are_filled_in() -> None:
    """The base's ConfigMap and Secret, as the pods get them, loaded by the production settings."""
    documents = base_documents()
    template = {**_config(documents), **_secret(documents)}
    check = [sys.executable, "manage.py", "check", "--deploy"]

    refused = subprocess.run(check, cwd=ROOT, env=_settings_env(template), capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "DJANGO_SECRET_KEY" in refused.stderr

    filled = {**template, **FILLED_SECRETS}
    started = subprocess.run(check, cwd=ROOT, env=_settings_env(filled), capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    # HSTS preload is a choice each installation makes for its own domain; nothing else may be flagged.
    assert set(re.findall(r"\((\w+\.\w+)\)", started.stdout + started.stderr)) <= {"security.W021"}

    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'db': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, 'cache': s.CACHES['default']"
        "['BACKEND'], 'ssl': s.SECURE_SSL_REDIRECT, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_settings_env(filled), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": "django.db.backends.postgresql",
        "broker": FILLED_SECRETS["CELERY_BROKER_URL"],
        "cache": "django.core.cache.backends.redis.RedisCache",
        "ssl": True,
        "debug": False,
        "hosts": ["localhost", "ledgerbridge.example.com"],
    }


# ---------------------------------------------------------------------------------------------------- workloads


def test_workloads_run_the_image_as_its_dockerfile_builds_it(documents: list[dict[str, Any]]) -> None:
    image = _dockerfile()
    workloads = _workloads(documents)
    images = {container["image"] for workload in workloads.values() for container in containers(workload)}
    assert len(images) == 1, f"one image for web, workers, beat and migrate: {images}"

    web = containers(workloads["ledgerbridge-web"])[0]
    assert "command" not in web and "args" not in web  # the image's CMD
    assert image["cmd"] == ["gunicorn", "gateway.wsgi:application", "-c", "deploy/gunicorn.conf.py"]
    # The bind address lives in the gunicorn config (LEDGERBRIDGE_BIND, unset in the manifests).
    assert f'"LEDGERBRIDGE_BIND", "0.0.0.0:{image["expose"]}"' in (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    assert "LEDGERBRIDGE_BIND" not in {env["name"] for env in web.get("env", [])}
    assert {"name": "http", "containerPort": image["expose"]} in web["ports"]
    assert (ROOT / "gateway" / "wsgi.py").is_file()

    for name, workload in workloads.items():
        assert pod_spec(workload)["securityContext"]["runAsUser"] == image["uid"], name
        for container in containers(workload):
            command = container.get("command", [])
            if name.startswith(("ledgerbridge-worker-", "ledgerbridge-beat")):
                assert command[:3] == ["celery", "-A", "gateway"], name
            assert not command or command[0] in {"celery", "python"}, name
    assert (ROOT / "gateway" / "celery.py").is_file()
    migrate = containers(workloads["ledgerbridge-migrate"])[0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert (ROOT / "manage.py").is_file() and image["workdir"] == "/app"


def test_web_probes_point_at_the_health_urls(documents: list[dict[str, Any]]) -> None:
    web = containers(by_kind(documents, "Deployment")["ledgerbridge-web"])[0]
    allowed_hosts = _config(documents)["DJANGO_ALLOWED_HOSTS"].split(",")
    for probe, url_name in (("readinessProbe", "readyz"), ("livenessProbe", "healthz")):
        get = web[probe]["httpGet"]
        assert resolve(get["path"]).url_name == url_name
        assert get["port"] == "http"
        # Django answers only the hosts it knows; the kubelet would send the pod's IP.
        host = next(header["value"] for header in get["httpHeaders"] if header["name"] == "Host")
        assert host in allowed_hosts
    assert resolve("/readyz").func.view_class is not resolve("/healthz").func.view_class


def test_web_has_a_service_and_an_autoscaler(documents: list[dict[str, Any]]) -> None:
    web = by_kind(documents, "Deployment")["ledgerbridge-web"]
    service = by_kind(documents, "Service")["ledgerbridge-web"]
    assert service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
    hpa = by_kind(documents, "HorizontalPodAutoscaler")["ledgerbridge-web"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ledgerbridge-web"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert containers(web)[0]["resources"]["requests"]["cpu"]  # CPU utilisation needs a request


def test_one_worker_deployment_per_queue(documents: list[dict[str, Any]]) -> None:
    workers = {name: doc for name, doc in by_kind(documents, "Deployment").items() if "worker" in name}
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert set(workers) == {f"ledgerbridge-worker-{queue}" for queue in queues}
    time_limit = int(_config(documents)["CELERY_TASK_TIME_LIMIT"])
    for name, worker in workers.items():
        queue = name.removeprefix("ledgerbridge-worker-")
        command = containers(worker)[0]["command"]
        assert command[command.index("-Q") + 1] == queue, name
        assert "-B" not in command and "--beat" not in command, name
        assert worker["spec"]["selector"]["matchLabels"]["queue"] == queue  # scaled and selected on its own
        assert pod_spec(worker)["terminationGracePeriodSeconds"] > time_limit, name


def test_exactly_one_beat_that_never_overlaps(documents: list[dict[str, Any]]) -> None:
    beats = [doc for doc in _workloads(documents).values() if "beat" in containers(doc)[0].get("command", [])]
    assert [beat["metadata"]["name"] for beat in beats] == ["ledgerbridge-beat"]
    assert beats[0]["spec"]["replicas"] == 1
    assert beats[0]["spec"]["strategy"] == {"type": "Recreate"}
    assert by_kind(documents, "HorizontalPodAutoscaler").keys() == {"ledgerbridge-web"}


def test_a_read_only_root_filesystem_leaves_tmp_writable(documents: list[dict[str, Any]]) -> None:
    assert _config(documents)["LEDGERBRIDGE_VAR_DIR"].startswith("/tmp/")
    for name, workload in _workloads(documents).items():
        volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
        for container in containers(workload):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name
            command = container.get("command", [])
            if "--schedule" in command:
                assert command[command.index("--schedule") + 1].startswith("/tmp/")


def test_metrics_are_scraped_where_the_catalogue_says_with_the_token(documents: list[dict[str, Any]]) -> None:
    exporters = catalogue.read_raw()["exporters"]
    service_monitor = by_kind(documents, "ServiceMonitor")["ledgerbridge-web"]
    pod_monitor = by_kind(documents, "PodMonitor")["ledgerbridge-workers"]
    web = containers(by_kind(documents, "Deployment")["ledgerbridge-web"])[0]
    service = by_kind(documents, "Service")["ledgerbridge-web"]

    [endpoint] = service_monitor["spec"]["endpoints"]
    service_port = next(port for port in service["spec"]["ports"] if port["name"] == endpoint["port"])
    container_port = next(port for port in web["ports"] if port["name"] == service_port["targetPort"])
    assert (container_port["containerPort"], endpoint["path"]) == (exporters["web"]["port"], exporters["web"]["path"])
    [pod_endpoint] = pod_monitor["spec"]["podMetricsEndpoints"]
    for name, worker in by_kind(documents, "Deployment").items():
        if name.startswith("ledgerbridge-worker-"):
            ports = {port["name"]: port["containerPort"] for port in containers(worker)[0]["ports"]}
            assert ports[pod_endpoint["port"]] == exporters["worker"]["port"]
            assert pod_monitor["spec"]["selector"]["matchLabels"].items() <= worker["metadata"]["labels"].items()
            annotations = worker["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/port"] == str(exporters["worker"]["port"])
    assert pod_endpoint["path"] == exporters["worker"]["path"]
    for scrape in (endpoint, pod_endpoint):
        assert scrape["authorization"] == {
            "type": "Bearer",
            "credentials": {"name": "ledgerbridge-secrets", "key": "LEDGERBRIDGE_METRICS_TOKEN"},
        }
    assert "LEDGERBRIDGE_METRICS_TOKEN" in _secret(documents)
    web_annotations = by_kind(documents, "Deployment")["ledgerbridge-web"]["spec"]["template"]["metadata"]
    assert web_annotations["annotations"]["prometheus.io/port"] == str(exporters["web"]["port"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_secret_missing_from_secrets_env_keeps_its_failing_placeholder(overlay: str, tmp_path: Path) -> None:
    """A partial secrets.env must never leave DATABASE_URL or REDIS_URL unset (the settings would fall back to
    SQLite and a filesystem broker per pod, which look healthy)."""
    if kubectl() is None:
        pytest.skip("kubectl is not installed")
    documents = render_overlay(overlay, tmp_path, {"DJANGO_SECRET_KEY": FILLED_SECRETS["DJANGO_SECRET_KEY"]})
    secret = _secret(documents)
    assert secret["DJANGO_SECRET_KEY"] == FILLED_SECRETS["DJANGO_SECRET_KEY"]
    assert set(secret) == set(_secret(base_documents()))
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        assert "CHANGE-ME@" in secret[name] and ".invalid:" in secret[name], name


# ---------------------------------------------------------------------------------------------------- the files


def test_kustomizations_reference_files_that_exist_and_nothing_is_left_out() -> None:
    directories = [BASE_DIR, KUBE_DIR / "monitoring", *(KUBE_DIR / "overlays" / overlay for overlay in OVERLAYS)]
    for directory in directories:
        for path in referenced_paths(directory):
            # secrets.env is the operator's own file; its committed example stands for it.
            present = path.with_name("secrets.env.example") if path.name == "secrets.env" else path
            assert present.exists(), f"{directory.name}/kustomization.yaml names a missing {path}"
        listed = {path.name for path in referenced_paths(directory)}
        on_disk = {path.name for path in directory.glob("*.yaml")} - {"kustomization.yaml"}
        assert on_disk <= listed, f"{directory}: manifests the kustomization does not use: {on_disk - listed}"
    for overlay in OVERLAYS:
        spec = kustomization(KUBE_DIR / "overlays" / overlay)
        assert "../../base" in spec["resources"] and spec["namespace"].startswith("ledgerbridge")


def test_overlay_patches_change_only_known_objects_and_variables() -> None:
    base = {(doc["kind"], doc["metadata"]["name"]) for doc in base_documents()}
    read = set(variables_read_by_settings())
    for overlay in OVERLAYS:
        directory = KUBE_DIR / "overlays" / overlay
        for patch in kustomization(directory)["patches"]:
            for doc in load_documents(directory / patch["path"]):
                assert (doc["kind"], doc["metadata"]["name"]) in base, f"{overlay}/{patch['path']}: no such object"
                assert set(doc.get("data", {})) <= read, f"{overlay}/{patch['path']}: unknown variables"
                assert doc["metadata"]["name"] != "ledgerbridge-beat", "beat stays one replica, Recreate"


def test_secrets_env_example_names_every_secret_and_the_real_file_is_ignored() -> None:
    secret_keys = set(_secret(base_documents()))
    for overlay in OVERLAYS:
        example = (KUBE_DIR / "overlays" / overlay / "secrets.env.example").read_text()
        assert set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)) == secret_keys
        real = f"deploy/kubernetes/overlays/{overlay}/secrets.env"
        ignored = subprocess.run(["git", "check-ignore", "-q", real], cwd=ROOT, timeout=30)
        assert ignored.returncode == 0, f"{real} is not git-ignored"


def test_the_prometheus_rule_is_a_copy_of_the_alert_rules() -> None:
    assert catalogue.PROMETHEUS_RULE_PATH.read_text() == catalogue.render_prometheus_rule(), (
        "run .venv/bin/python -m tests.deploy.catalogue --write"
    )
    [rule] = load_documents(catalogue.PROMETHEUS_RULE_PATH)
    assert rule["spec"]["groups"] == yaml.safe_load(catalogue.ALERTS_PATH.read_text())["groups"]


def test_the_checks_see_a_broken_manifest(tmp_path: Path) -> None:
    """The checks above fail on what they guard against (here: a beat that can overlap, an unknown variable)."""
    documents = base_documents() + component_documents(KUBE_DIR / "monitoring")
    beat = by_kind(documents, "Deployment")["ledgerbridge-beat"]
    beat["spec"]["strategy"] = {"type": "RollingUpdate"}
    with pytest.raises(AssertionError):
        test_exactly_one_beat_that_never_overlaps(documents)
    _config(documents)["LEDGERBRIDGE_NO_SUCH_SETTING"] = "1"
    with pytest.raises(AssertionError, match="LEDGERBRIDGE_NO_SUCH_SETTING"):
        test_every_variable_they_set_is_read_by_the_settings(documents)
