"""Write every component's Dockerfile from the one template (``--check`` reports stale files instead)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

DOCKER_DIR = Path(__file__).resolve().parent
REPO = DOCKER_DIR.parent.parent
TEMPLATE = DOCKER_DIR / "Dockerfile.template"


@dataclass(frozen=True)
class Component:
    """One deployable process: its folder, uv project, Python package, port and settings prefix."""

    name: str
    svc_dir: str
    project: str
    package: str
    port: int
    env_prefix: str


# The same table as DESIGN.md's mesh; the chart's values and the tests read it from here.
COMPONENTS: tuple[Component, ...] = (
    Component("gateway", "gateway", "tongban-gateway", "tongban_gateway", 8000, "GATEWAY_"),
    Component("catalogue", "catalogue-svc", "catalogue-svc", "catalogue_svc", 8001, "CATALOGUE_"),
    Component("case", "case-svc", "case-svc", "case_svc", 8002, "CASE_"),
    Component("identity", "identity-svc", "identity-svc", "identity_svc", 8003, "IDENTITY_"),
    Component("eseal", "eseal-svc", "eseal-svc", "eseal_svc", 8004, "ESEAL_"),
    Component("exchange", "data-exchange-svc", "data-exchange-svc", "data_exchange_svc", 8005, "EXCHANGE_"),
)


def render(component: Component, template: str | None = None) -> str:
    """The Dockerfile text of one component."""
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    for placeholder, value in {
        "@SVC_DIR@": component.svc_dir,
        "@PROJECT@": component.project,
        "@PACKAGE@": component.package,
        "@PORT@": str(component.port),
    }.items():
        text = text.replace(placeholder, value)
    if "@" in "".join(line for line in text.splitlines() if not line.startswith("#")):
        raise ValueError("the Dockerfile template has a placeholder this generator does not know")
    return text


def dockerfile_path(component: Component) -> Path:
    """Where a component's generated Dockerfile lives."""
    return REPO / component.svc_dir / "Dockerfile"


def main(argv: list[str] | None = None) -> int:
    """Generate (or with ``--check`` compare) every Dockerfile; exit 1 when one is stale."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report Dockerfiles that differ")
    args = parser.parse_args(argv)
    stale = []
    for component in COMPONENTS:
        path = dockerfile_path(component)
        wanted = render(component)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == wanted:
            continue
        if args.check:
            stale.append(str(path.relative_to(REPO)))
        else:
            path.write_text(wanted, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print("stale Dockerfiles (run deploy/docker/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
