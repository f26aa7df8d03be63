#!/usr/bin/env bash
# Builds Helm from its Go module and caches the binary outside the checkout:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin/helm-<version>
# Idempotent: does nothing when that binary exists. Prints its path last, so
#   HELM=$(hack/install-helm.sh | tail -n1)
# works. Needs Go and the Go module proxy. v3.21.4 is the newest approved Helm 3
# (v3.22.0 is served but not approved); the chart needs nothing newer.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
BIN_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin"
HELM_BIN="${BIN_DIR}/helm-${HELM_VERSION}"

if [ -x "$HELM_BIN" ]; then
  echo "$HELM_BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "go not found; Helm is built from source" >&2; exit 1; }
mkdir -p "$BIN_DIR"

# Work outside any go.mod (the repo has wrapper modules under tests/), and
# build into a scratch GOBIN, then move into place, so an interrupted build
# never leaves a half-written binary where the idempotency check looks.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS="-trimpath" GO111MODULE=on

# Without these -X flags a source build reports a bare minor version and assumes
# Kubernetes v1.20 for `helm template`/`helm lint` (.Capabilities.KubeVersion),
# which fails the chart's kubeVersion constraint. Helm's Makefile derives the
# Kubernetes version from the client-go it links: v0.N.x -> 1.N.
go mod download "helm.sh/helm/v3@${HELM_VERSION}"
modfile="$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$modfile")"
k8s_minor="$(echo "$client_go" | cut -d. -f2)"
case "$k8s_minor" in
  ''|*[!0-9]*) echo "could not read the client-go version from $modfile" >&2; exit 1 ;;
esac

ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1"
ldflags+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${k8s_minor}"
ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
ldflags+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${k8s_minor}"

echo "building helm ${HELM_VERSION} (Kubernetes 1.${k8s_minor} capabilities); this takes a few minutes" >&2
GOBIN="$work/bin" CGO_ENABLED=0 \
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
mv "$work/bin/helm" "$HELM_BIN.tmp.$$"
mv "$HELM_BIN.tmp.$$" "$HELM_BIN"
"$HELM_BIN" version --short >&2
echo "$HELM_BIN"
