#!/usr/bin/env bash
# Renders deploy/install.yaml, for users without Helm: the chart with its
# default values in namespace identity-system, CRDs and the namespace included.
#   hack/manifests/render-install.sh deploy/install.yaml
# make manifests fails when the committed file differs from this rendering.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:?usage: render-install.sh OUT.yaml}"
HELM="${HELM:-$(hack/install-helm.sh | tail -n1)}"
{
  cat <<'HEADER'
# identity-center-operator, rendered from charts/identity-center-operator with
# its default values by hack/manifests/render-install.sh; do not edit.
#   kubectl apply --server-side -f deploy/install.yaml
# Then grant namespaces their accounts (examples/grant.yaml) and give the
# operator AWS credentials (docs/install.md). With Helm, prefer the chart.
---
apiVersion: v1
kind: Namespace
metadata:
  name: identity-system
HEADER
  "$HELM" template identity-center-operator charts/identity-center-operator --namespace identity-system \
    --include-crds --skip-tests --kube-version "${KUBERNETES_VERSION:-1.36.0}"
} >"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
