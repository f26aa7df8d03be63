#!/usr/bin/env bash
# The manifests as users' pipelines check them (make manifests, part of make test):
#   - kubeconform -strict over the chart rendered with every ci/*-values.yaml
#     (CRDs included) and over examples/, against Kubernetes' own schemas
#     (the kubernetes-validate wheel) and ours, converted from crds/;
#   - monitoring-check: the ServiceMonitor and PrometheusRule decoded
#     strictly into prometheus-operator's Go types;
#   - kube-score over each rendering, with the ignored tests listed and
#     justified in hack/manifests/kube-score-ignored.txt;
#   - deploy/install.yaml is the chart's default rendering, current.
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.36.0}"
eval "$(hack/install-manifest-tools.sh | grep '^[A-Z_]*=')"
HELM="${HELM:-$(hack/install-helm.sh | tail -n1)}"
PYTHON="${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/venv/bin/python"
chart=charts/identity-center-operator
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd hack/manifests/monitoring && go test ./... >/dev/null) || { echo "monitoring-check own tests failed" >&2; exit 1; }
"$PYTHON" hack/manifests/crd_schemas.py "$work/crd-schemas" crds/*.yaml >/dev/null
kubeconform() {
  "$KUBECONFORM" -strict -summary -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$KUBERNETES_SCHEMAS/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$work/crd-schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    -skip ServiceMonitor,PrometheusRule "$@"
}
# kube-score's ignored tests: the first word of each line that is not a comment.
ignored="$( { grep -v '^[[:space:]]*\(#\|$\)' hack/manifests/kube-score-ignored.txt || true; } | awk '{print $1}' | paste -sd, -)"

for values in "$chart"/ci/*-values.yaml; do
  name="$(basename "$values" -values.yaml)"
  rendered="$work/$name.yaml"
  "$HELM" template identity-center-operator "$chart" --namespace identity-system --include-crds \
    --kube-version "$KUBERNETES_VERSION" -f "$values" >"$rendered"
  echo "== $name: kubeconform"
  kubeconform "$rendered"
  echo "== $name: kube-score"
  "$HELM" template identity-center-operator "$chart" --namespace identity-system \
    --kube-version "$KUBERNETES_VERSION" -f "$values" >"$work/$name-objects.yaml"
  "$KUBE_SCORE" score --output-format ci --ignore-test "$ignored" --ignore-container-cpu-limit \
    --kubernetes-version "v${KUBERNETES_VERSION%.*}" "$work/$name-objects.yaml" | grep -v '^\[OK\]' || true
  "$KUBE_SCORE" score --output-format ci --ignore-test "$ignored" --ignore-container-cpu-limit \
    --kubernetes-version "v${KUBERNETES_VERSION%.*}" "$work/$name-objects.yaml" >/dev/null
done

echo "== every-option: prometheus-operator's Go types"
"$MONITORING_CHECK" -expect ServiceMonitor,PrometheusRule "$work/every-option.yaml"

echo "== examples/: kubeconform"
kubeconform examples/

echo "== deploy/install.yaml is current"
HELM="$HELM" hack/manifests/render-install.sh "$work/install.yaml"
if ! diff -q deploy/install.yaml "$work/install.yaml" >/dev/null; then
  diff -u deploy/install.yaml "$work/install.yaml" | head -40
  echo "deploy/install.yaml is stale: run hack/manifests/render-install.sh deploy/install.yaml" >&2
  exit 1
fi
kubeconform deploy/install.yaml
echo "manifests: all checks passed"
