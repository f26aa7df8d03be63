#!/usr/bin/env bash
# Installs the manifest checkers of `make manifests`, once, outside the checkout:
#   kubeconform and kube-score from their Go modules, monitoring-check (our
#   strict decoder over prometheus-operator's Go types, hack/manifests/monitoring)
#   into ${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin, and the
#   kubernetes-validate wheel (Kubernetes' own JSON schemas, strict variants)
#   into the tests' virtual environment, with one version's schemas copied out
#   for kubeconform (hack/manifests/kubernetes_schemas.py).
# Idempotent: each binary is keyed by its version (monitoring-check by a hash
# of its source), so a cached one is reused. Needs Go and the module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."

KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
KUBE_SCORE_VERSION="${KUBE_SCORE_VERSION:-v1.20.0}"
KUBERNETES_VALIDATE_VERSION="${KUBERNETES_VALIDATE_VERSION:-1.37.0}"
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator"
BIN_DIR="$TOOLS/bin"
mkdir -p "$BIN_DIR"

# go install of one module's command into a scratch GOBIN, then moved into
# place: an interrupted build never leaves a half-written binary behind.
build() {
  local package="$1" version="$2" binary="$3" target="$4"
  [ -x "$target" ] && return 0
  local work
  work="$(mktemp -d)"
  echo "building $binary from $package@$version" >&2
  (cd "$work" && GOBIN="$work/bin" CGO_ENABLED=0 GOFLAGS="-trimpath" go install -ldflags "-s -w" "$package@$version")
  mv "$work/bin/$binary" "$target.tmp.$$" && mv "$target.tmp.$$" "$target"
  rm -rf "$work"
}

build github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" kubeconform "$BIN_DIR/kubeconform-$KUBECONFORM_VERSION"
build github.com/zegl/kube-score/cmd/kube-score "$KUBE_SCORE_VERSION" kube-score "$BIN_DIR/kube-score-$KUBE_SCORE_VERSION"

source_hash="$(cat hack/manifests/monitoring/go.mod hack/manifests/monitoring/go.sum hack/manifests/monitoring/*.go | sha256sum | cut -c1-12)"
monitoring="$BIN_DIR/monitoring-check-$source_hash"
if [ ! -x "$monitoring" ]; then
  echo "building monitoring-check (prometheus-operator's Go types)" >&2
  (cd hack/manifests/monitoring && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$monitoring.tmp.$$" .)
  mv "$monitoring.tmp.$$" "$monitoring"
fi

venv="$(hack/install-python.sh | tail -n1)"
if ! "$venv/bin/python" -c "import kubernetes_validate" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.36.0}"
schemas="$TOOLS/kubernetes-json-schema-$KUBERNETES_VALIDATE_VERSION"
if [ ! -f "$schemas/v$KUBERNETES_VERSION-local-strict/_definitions.json" ]; then
  "$venv/bin/python" hack/manifests/kubernetes_schemas.py "$KUBERNETES_VERSION" "$schemas.tmp.$$" >/dev/null
  mkdir -p "$schemas"
  rm -rf "$schemas/v$KUBERNETES_VERSION-local-strict"
  mv "$schemas.tmp.$$/v$KUBERNETES_VERSION-local-strict" "$schemas/" && rm -rf "$schemas.tmp.$$"
fi

echo "KUBECONFORM=$BIN_DIR/kubeconform-$KUBECONFORM_VERSION"
echo "KUBE_SCORE=$BIN_DIR/kube-score-$KUBE_SCORE_VERSION"
echo "MONITORING_CHECK=$monitoring"
echo "KUBERNETES_SCHEMAS=$schemas"
