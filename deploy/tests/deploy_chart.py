"""Helpers of the deploy tests: render the chart with helm, pick objects, load the deploy scripts."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "tongban"
PRODUCTION_EXAMPLE = CHART / "values-production.example.yaml"
INLINE_VALUES = Path(__file__).resolve().parent / "values-inline-secrets.yaml"
KUBE_VERSION = os.environ.get("KUBE_VERSION", "1.37.0")
COMPONENTS = ("gateway", "catalogue", "case", "identity", "eseal", "exchange")


class RenderError(Exception):
    """helm template refused the values; the message is helm's."""


@functools.cache
def helm() -> str:
    """The helm binary: $HELM, else the one deploy/helm-lint.sh builds and caches (building it if needed)."""
    given = os.environ.get("HELM")
    if given:
        return given
    result = subprocess.run(
        [str(REPO / "deploy" / "helm-lint.sh"), "--install-only"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cannot get helm:\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


@functools.cache
def _render(files: tuple[str, ...], sets: tuple[str, ...]) -> str:
    cmd = [
        helm(),
        "template",
        "tongban",
        str(CHART),
        "--namespace",
        "tongban",
        "--kube-version",
        KUBE_VERSION,
    ]
    for f in files:
        cmd += ["-f", f]
    for s in sets:
        cmd += ["--set-string" if s.startswith("string:") else "--set", s.removeprefix("string:")]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RenderError(result.stderr)
    return result.stdout


def render_text(*files: Path, sets: tuple[str, ...] = ()) -> str:
    """The rendered manifests as text (RenderError when helm refuses)."""
    return _render(tuple(str(f) for f in files), sets)


def render(*files: Path, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The rendered objects."""
    return [doc for doc in yaml.safe_load_all(render_text(*files, sets=sets)) if doc]


def render_error(*files: Path, sets: tuple[str, ...] = ()) -> str:
    """helm's message when it must refuse the values; fails the test when it renders."""
    try:
        render_text(*files, sets=sets)
    except RenderError as exc:
        return str(exc)
    pytest.fail(f"helm rendered values it should refuse: {files} {sets}")


def render_inline(*, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Production with every secret inline (values-inline-secrets.yaml), plus --set overrides."""
    return render(INLINE_VALUES, sets=sets)


def render_inline_error(**overrides: str) -> str:
    """helm's refusal of the inline production values with some values changed (--set-string)."""
    return render_error(INLINE_VALUES, sets=tuple(f"string:{k}={v}" for k, v in overrides.items()))


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Objects of one kind."""
    return [d for d in docs if d["kind"] == kind]


def by_component(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind keyed by their app.kubernetes.io/component label (objects without one left out)."""
    return {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in of_kind(docs, kind)
        if "app.kubernetes.io/component" in d["metadata"]["labels"]
    }


def pod_specs(docs: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object name, pod spec) of every Deployment and Job."""
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            yield f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]


def load_script(relative: str) -> ModuleType:
    """Import one of the repo's deploy scripts by path."""
    path = REPO / relative
    name = "deploy_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
