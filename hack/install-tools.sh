#!/usr/bin/env bash
# Installs or builds everything `make test` needs beyond Rust and Go, once:
# kube-apiserver, etcd (and kubectl if missing), Helm, promtool, kubeconform and
# kube-score from their Go modules into ~/.cache/identity-center-operator/bin; Lua 5.1 from Debian;
# the Python packages of the tests from PyPI, in a virtual environment there.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/build-controlplane.sh >/dev/null
hack/install-helm.sh >/dev/null
hack/install-promtool.sh >/dev/null
hack/install-lua.sh >/dev/null
hack/install-manifest-tools.sh >/dev/null

hack/install-python.sh >/dev/null
echo "tools ready in ${XDG_CACHE_HOME:-$HOME/.cache}/identity-center-operator/bin"
