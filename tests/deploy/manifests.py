"""Reading deploy/kubernetes: the kustomizations, their manifests, and (with kubectl) the rendered overlays."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.catalogue import ROOT

KUBE_DIR = ROOT / "deploy" / "kubernetes"
BASE_DIR = KUBE_DIR / "base"
OVERLAYS = ["production", "staging"]
WORKLOAD_KINDS = {"Deployment", "Job"}


def load_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> dict[str, Any]:
    return yaml.safe_load((directory / "kustomization.yaml").read_text())


def referenced_paths(directory: Path) -> list[Path]:
    """Every file or folder a kustomization names: resources, components, patches, generator inputs."""
    spec = kustomization(directory)
    names = [*spec.get("resources", []), *spec.get("components", [])]
    names += [patch["path"] for patch in spec.get("patches", []) if "path" in patch]
    for generator in [*spec.get("configMapGenerator", []), *spec.get("secretGenerator", [])]:
        names += [*generator.get("envs", []), *generator.get("files", [])]
    return [(directory / name).resolve() for name in names]


def base_documents() -> list[dict[str, Any]]:
    """The base's manifests, in the order its kustomization lists them (what `kustomize build base` starts from)."""
    return [doc for path in referenced_paths(BASE_DIR) for doc in load_documents(path)]


def component_documents(directory: Path) -> list[dict[str, Any]]:
    return [doc for path in referenced_paths(directory) if path.is_file() for doc in load_documents(path)]


def kubectl() -> str | None:
    return shutil.which("kubectl")


def render_overlay(overlay: str, scratch: Path, secrets: dict[str, str]) -> list[dict[str, Any]]:
    """`kubectl kustomize` of an overlay, on a copy whose secrets.env holds `secrets`."""
    copy = scratch / "kubernetes"
    shutil.copytree(KUBE_DIR, copy)
    (copy / "overlays" / overlay / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    result = subprocess.run(
        [str(kubectl()), "kustomize", str(copy / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return pod_spec(workload)["containers"]
