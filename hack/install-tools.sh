#!/usr/bin/env bash
# Installs or builds everything `make test` needs beyond Rust and Go, once:
# kube-apiserver, etcd (and kubectl if missing) and Helm from their Go
# modules into ~/.cache/identity-center-operator/bin; Lua 5.1 from Debian;
# the Python packages of the conformance tests from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/build-controlplane.sh >/dev/null
hack/install-helm.sh >/dev/null
hack/install-lua.sh >/dev/null

if ! python3 -c 'import boto3, botocore, moto, flask, flask_cors, pytest, yaml' 2>/dev/null; then
  python3 -m pip install --quiet boto3 'moto[server]' pytest pyyaml
fi
command -v moto_server >/dev/null || { echo "moto_server is not on PATH after installing moto[server]" >&2; exit 1; }
echo "tools ready in ${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin"
