#!/usr/bin/env bash
# Builds promtool (the Prometheus rule checker and rule unit-test runner) from
# its Go module and caches it outside the checkout:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin/promtool-<version>
# Idempotent: does nothing when that binary exists. Prints its path last, so
#   PROMTOOL=$(hack/install-promtool.sh | tail -n1)
# works. Needs Go and the Go module proxy; the first build takes a few minutes.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
BIN_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin"
PROMTOOL_BIN="${BIN_DIR}/promtool-${PROMETHEUS_VERSION}"

if [ -x "$PROMTOOL_BIN" ]; then
  echo "$PROMTOOL_BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "go not found; promtool is built from source" >&2; exit 1; }
mkdir -p "$BIN_DIR"

# Outside any go.mod, into a scratch GOBIN, then moved into place: an
# interrupted build never leaves a half-written binary where the check looks.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "building promtool from github.com/prometheus/prometheus ${PROMETHEUS_VERSION}; this takes a few minutes" >&2
GOBIN="$work/bin" CGO_ENABLED=0 GOFLAGS="-trimpath" GO111MODULE=on \
  go install -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}"
mv "$work/bin/promtool" "$PROMTOOL_BIN.tmp.$$"
mv "$PROMTOOL_BIN.tmp.$$" "$PROMTOOL_BIN"
echo "$PROMTOOL_BIN"
