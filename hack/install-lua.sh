#!/usr/bin/env bash
# Installs a Lua 5.1 interpreter (Debian package lua5.1), the Lua that Argo CD's
# gopher-lua implements, for charts/identity-center-operator/argocd/run_tests.py.
# Idempotent: does nothing when lua5.1 is already on PATH.
set -euo pipefail

if command -v lua5.1 >/dev/null 2>&1; then
  echo "lua5.1 already installed: $(command -v lua5.1)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "lua5.1 not found and apt-get is not available; install Lua 5.1 by hand" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when lua5.1 is not known yet.
if ! apt-cache show lua5.1 >/dev/null 2>&1; then
  $sudo apt-get update -qq
fi
$sudo apt-get install -y -qq --no-install-recommends lua5.1 >/dev/null
echo "installed $(lua5.1 -v 2>&1)"
