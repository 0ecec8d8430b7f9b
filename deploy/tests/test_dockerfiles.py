"""The Dockerfiles: generated from the one template, and what that template promises."""

from __future__ import annotations

import re

import pytest
from deploy_chart import REPO, load_script

generate = load_script("deploy/docker/generate.py")
COMPONENTS = generate.COMPONENTS


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_committed_dockerfile_equals_the_generated_one(component) -> None:
    path = generate.dockerfile_path(component)
    assert path.read_text(encoding="utf-8") == generate.render(component), (
        f"{path.relative_to(REPO)} is stale: run .venv/bin/python deploy/docker/generate.py"
    )


def test_generator_check_mode_reports_a_stale_file(tmp_path, monkeypatch, capsys) -> None:
    component = COMPONENTS[0]
    stale = tmp_path / "Dockerfile"
    stale.write_text("FROM scratch\n", encoding="utf-8")
    monkeypatch.setattr(
        generate,
        "dockerfile_path",
        lambda c: stale if c is component else generate.REPO / c.svc_dir / "Dockerfile",
    )
    monkeypatch.setattr(generate, "REPO", tmp_path)
    assert generate.main(["--check"]) == 1
    assert "Dockerfile" in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "FROM scratch\n"  # --check never writes


def test_an_unknown_placeholder_is_refused() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        generate.render(COMPONENTS[0], "FROM @BASE@\n")


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_dockerfile_builds_a_locked_non_root_image_without_healthcheck(component) -> None:
    text = generate.render(component)
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in instructions
    assert [i for i in instructions if i.startswith("FROM")] == [
        "FROM ${PYTHON_IMAGE} AS build",
        "FROM ${PYTHON_IMAGE} AS runtime",
    ]
    assert "RUN pip install uv==0.13.8" in instructions
    assert f"uv sync --frozen --no-dev --no-install-workspace --package {component.project}" in text
    assert f"uv sync --frozen --no-dev --package {component.project}" in text
    assert not any(i.startswith("HEALTHCHECK") for i in instructions)
    runtime = instructions[instructions.index("FROM ${PYTHON_IMAGE} AS runtime") :]
    assert "USER 10001:10001" in runtime
    assert runtime[-1] == (
        f'CMD ["uvicorn", "--factory", "{component.package}.main:create_app", "--host", "0.0.0.0", '
        f'"--port", "{component.port}", "--loop", "uvloop", "--http", "httptools", "--no-proxy-headers", "--no-access-log"]'
    )
    assert f"WORKDIR /app/{component.svc_dir}" in runtime
    assert f"EXPOSE {component.port}" in runtime
    # The hook Jobs run these two scripts from every image.
    assert "COPY deploy/docker/migrate.py deploy/docker/create_topics.py deploy/" in instructions


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_generator_table_matches_the_workspace(component) -> None:
    folder = REPO / component.svc_dir
    pyproject = (folder / "pyproject.toml").read_text(encoding="utf-8")
    assert f'name = "{component.project}"' in pyproject
    assert (folder / "src" / component.package / "__init__.py").is_file()
    if component.name != "gateway":
        # The migration Job runs Alembic from /app/<service folder>.
        assert (folder / "alembic.ini").is_file()
        assert (folder / "src" / component.package / "migrations" / "env.py").is_file()


def _dockerignore_allows(path: str, patterns: list[str]) -> bool:
    """Whether the allow-list .dockerignore lets a path into the build context (last match wins)."""
    allowed = True
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern.lstrip("!")
        regex = "^" + re.escape(body).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*") + "(/.*)?$"
        if re.match(regex, path):
            allowed = negate
    return allowed


def test_dockerignore_lets_in_every_copied_source_and_keeps_out_the_rest() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = set()
    for component in COMPONENTS:
        for line in generate.render(component).splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                sources.update(line.split()[1:-1])
    assert "uv.lock" in sources
    for source in sorted(sources):
        assert _dockerignore_allows(source, patterns), f".dockerignore keeps out {source}"
    for kept_out in (
        ".venv/bin/python",
        ".git/HEAD",
        "var/catalogue.db",
        "case-svc/tests/unit/test_x.py",
        "kit/src/tongban_kit/__pycache__/app.cpython-311.pyc",
        "deploy/local/kafka.py",
    ):
        assert not _dockerignore_allows(kept_out, patterns), f".dockerignore lets in {kept_out}"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_the_image_command_names_an_app_factory(component) -> None:
    import importlib

    module = importlib.import_module(f"{component.package}.main")
    assert callable(module.create_app)
