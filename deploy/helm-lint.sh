#!/usr/bin/env bash
# Lint, render and validate the Helm chart offline, then run the tests over the rendered manifests.
#   deploy/helm-lint.sh                 everything below; exits non-zero on the first failure
#   deploy/helm-lint.sh --install-only  only make sure helm is built; prints its path
# helm is compiled from the Go module proxy (go install) once per version and cached outside the
# clone in ${TONGBAN_CACHE:-~/.cache/tongban}/helm-<version>/, so fresh clones reuse it.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# Kubernetes versions whose JSON schemas (shipped by kubernetes-validate) the manifests must satisfy:
# the oldest minor the chart supports well and the newest the package ships.
KUBE_VERSIONS="${KUBE_VERSIONS:-1.30.0 1.37.0}"
KUBE_VERSION="${KUBE_VERSIONS##* }"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$repo/deploy/helm/tongban"
venv_bin="$repo/.venv/bin"
cache="${TONGBAN_CACHE:-$HOME/.cache/tongban}"
helm_dir="$cache/helm-$HELM_VERSION"
helm="$helm_dir/helm"

install_helm() {
  if [[ -x "$helm" ]] && "$helm" version --short >/dev/null 2>&1; then
    return
  fi
  command -v go >/dev/null || {
    echo "helm-lint: helm $HELM_VERSION is not cached and Go is missing (apt-get install golang-go)" >&2
    exit 1
  }
  echo "helm-lint: building helm $HELM_VERSION with go install (takes minutes, once)" >&2
  mkdir -p "$helm_dir"
  # -mod=mod: resolve helm's own go.mod from the proxy, whatever the caller's Go settings say.
  GOBIN="$helm_dir" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
}

install_helm
if [[ "${1:-}" == "--install-only" ]]; then
  echo "$helm"
  exit 0
fi
export HELM="$helm" KUBE_VERSION
cd "$repo"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

render() {  # render <name> [helm args...]: lint --strict and template one set of values
  local name="$1"
  shift
  echo "helm-lint: lint and render with $name values"
  "$helm" lint --strict "$chart" --kube-version "$KUBE_VERSION" "$@"
  "$helm" template tongban "$chart" --namespace tongban --kube-version "$KUBE_VERSION" "$@" >"$out/$name.yaml"
}

render default
render production -f "$chart/values-production.example.yaml"
# Secrets given inline instead of existing Secrets: renders the chart's own Secrets and the hook Secret.
render inline-secrets -f "$repo/deploy/tests/values-inline-secrets.yaml"

for version in $KUBE_VERSIONS; do
  echo "helm-lint: validating against the Kubernetes $version schemas (strict)"
  for manifest in "$out"/*.yaml; do
    "$venv_bin/kubernetes-validate" --strict --quiet --kubernetes-version "$version" "$manifest"
  done
done

echo "helm-lint: tests over the rendered manifests"
"$venv_bin/python" -m pytest "$repo/deploy/tests" -q -m "not integration"
