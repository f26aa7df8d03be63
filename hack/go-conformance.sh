#!/usr/bin/env bash
# Runs the Go conformance suite (tests/conformance/go: aws-sdk-go-v2's ssoadmin
# client against the sso-admin-emulator binary). EMULATOR_BIN names the
# binary; without it, the debug build under CARGO_TARGET_DIR (or target/).
# Go's build and module caches stay where Go keeps them; where Go has none
# (no home directory) they go under
# ${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator: never in the
# checkout. Idempotent: go.sum is committed, -mod=mod only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v go >/dev/null 2>&1 || { echo "go not found; the Go conformance suite needs Go" >&2; exit 1; }
export EMULATOR_BIN=${EMULATOR_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/sso-admin-emulator}
[ -x "$EMULATOR_BIN" ] || { echo "$EMULATOR_BIN is missing: cargo build -p sso-admin-emulator" >&2; exit 1; }

fallback_cache() {
  echo "${XDG_CACHE_HOME:-${HOME:?set XDG_CACHE_HOME or HOME for the Go caches}/.cache}/identity-center-operator/$1"
}
if [ "$(go env GOCACHE)" = off ]; then
  GOCACHE=$(fallback_cache go-build)
  export GOCACHE
fi
if [ -z "$(go env GOMODCACHE)" ]; then
  GOMODCACHE=$(fallback_cache go-mod)
  export GOMODCACHE
fi

cd tests/conformance/go
# -count=1: the suite talks to a process, so a cached pass proves nothing.
GOFLAGS=-mod=mod go test -count=1 ./...
